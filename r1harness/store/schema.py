"""Table definitions: the one place that says what every table holds.

Bulk, append-only tables live as Parquet shards (`SHARD_TABLES`); small mutable tables live in the DuckDB
catalog (`CATALOG_DDL`). Every id is a content hash (see `ids.py`); lineage columns point from each row to
the rows it came from: sft_samples -> rollouts -> prompts, rewards -> rollouts, everything -> runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    required: bool = False  # required columns may not be missing or null on append
    doc: str = ""


@dataclass(frozen=True)
class ShardTable:
    name: str
    id_column: str
    columns: tuple[Column, ...]
    doc: str = ""

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=not c.required) for c in self.columns])

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _c(name: str, type_: pa.DataType, required: bool = False, doc: str = "") -> Column:
    return Column(name, type_, required, doc)


S, I32, I64, F64 = pa.string(), pa.int32(), pa.int64(), pa.float64()

PROMPTS = ShardTable(
    "prompts",
    "prompt_id",
    (
        _c("prompt_id", S, True, "hash(dataset, problem)"),
        _c("dataset", S, True, "dataset name, e.g. aime24"),
        _c("split", S, doc="train | test | ..."),
        _c("domain", S, doc="math | code | science | general"),
        _c("problem", S, True, "the problem statement as shown to the model"),
        _c("answer", S, doc="normalised gold answer (math); null for code"),
        _c("tests", S, doc="JSON list of tests for code problems"),
        _c("verifier", S, doc="default verifier name, e.g. math or code"),
        _c("metadata", S, doc="JSON object of the source row's other fields"),
        _c("source", S, doc="file path or hub id@revision the row came from"),
        _c("source_index", I64, doc="0-based row number in the source"),
        _c("run_id", S, doc="the ingest run"),
        _c("created_at", TS),
    ),
    "one row per problem; ingested by `r1h ingest`",
)

ROLLOUTS = ShardTable(
    "rollouts",
    "rollout_id",
    (
        _c("rollout_id", S, True, "hash(prompt, model, template, sampling, seed, index[, run, step])"),
        _c("prompt_id", S, True, "-> prompts"),
        _c("run_id", S, doc="-> runs: the generate / grpo / eval run"),
        _c("model", S, True, "model name or path"),
        _c("template", S, doc="chat/prompt template name@version"),
        _c("sampling", S, doc="JSON of sampling parameters"),
        _c("seed", I64),
        _c("sample_index", I32, doc="index of this sample among the k for its prompt"),
        _c("stage", S, doc="generate | grpo | eval | import"),
        _c("step", I64, doc="training step (GRPO), null otherwise"),
        _c("prompt_text", S, doc="the rendered prompt the model saw"),
        _c("completion", S, True, "the generated text"),
        _c("prompt_tokens", I32),
        _c("completion_tokens", I32),
        _c("finish_reason", S, doc="stop | length | error"),
        _c("backend", S, doc="transformers | vllm | openai | fake | trl"),
        _c("backend_version", S),
        _c("reward", F64, doc="total reward (GRPO), null otherwise"),
        _c("advantage", F64, doc="group-relative advantage (GRPO), null otherwise"),
        _c("created_at", TS),
    ),
    "one row per sampled completion",
)

REWARDS = ShardTable(
    "rewards",
    "reward_id",
    (
        _c("reward_id", S, True, "hash(rollout, verifier, verifier_version)"),
        _c("rollout_id", S, True, "-> rollouts"),
        _c("run_id", S, doc="-> runs"),
        _c("verifier", S, True, "math | format | language | readability.* | code | ..."),
        _c("verifier_version", S, True),
        _c("status", S, True, "correct | wrong | unparseable | timeout | error"),
        _c("score", F64, doc="null when status is timeout/error: never scored as wrong"),
        _c("extracted", S, doc="the answer the verifier extracted"),
        _c("reason", S),
        _c("details", S, doc="JSON with measured values (e.g. the readability metric)"),
        _c("created_at", TS),
    ),
    "one row per (rollout, verifier, version)",
)

SFT_SAMPLES = ShardTable(
    "sft_samples",
    "sample_id",
    (
        _c("sample_id", S, True, "hash(set, version, source row)"),
        _c("set_name", S, True),
        _c("set_version", I32, True),
        _c("rollout_id", S, doc="-> rollouts (null for general data not generated here)"),
        _c("prompt_id", S, doc="-> prompts"),
        _c("domain", S),
        _c("messages", S, True, "JSON list of {role, content}, as SFTTrainer reads it"),
        _c("source", S),
        _c("metadata", S),
        _c("created_at", TS),
    ),
    "members of versioned SFT sets",
)

TRAIN_METRICS = ShardTable(
    "train_metrics",
    "metric_id",
    (
        _c("metric_id", S, True, "hash(run, step, name)"),
        _c("run_id", S, True, "-> runs"),
        _c("step", I64, True),
        _c("name", S, True, "loss, kl, reward/accuracy/mean, completion_length, ..."),
        _c("value", F64),
        _c("created_at", TS),
    ),
    "per-step training metrics in long form",
)

SHARD_TABLES: dict[str, ShardTable] = {
    t.name: t for t in (PROMPTS, ROLLOUTS, REWARDS, SFT_SAMPLES, TRAIN_METRICS)
}

# Small mutable tables in the DuckDB catalog. Created by migration 0001.
CATALOG_DDL: dict[str, str] = {
    "migrations": """
        CREATE TABLE IF NOT EXISTS migrations (
            name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ DEFAULT current_timestamp)""",
    "runs": """
        CREATE TABLE IF NOT EXISTS runs (
            run_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, name VARCHAR, status VARCHAR NOT NULL,
            config JSON, git_sha VARCHAR, versions JSON, parent_run_id VARCHAR,
            started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, summary JSON, error VARCHAR)""",
    "sets": """
        CREATE TABLE IF NOT EXISTS sets (
            name VARCHAR NOT NULL, version INTEGER NOT NULL, status VARCHAR NOT NULL,
            recipe JSON, funnel JSON, n_samples BIGINT, run_id VARCHAR,
            created_at TIMESTAMPTZ DEFAULT current_timestamp, PRIMARY KEY (name, version))""",
    "eval_results": """
        CREATE TABLE IF NOT EXISTS eval_results (
            result_id VARCHAR PRIMARY KEY, run_id VARCHAR, model VARCHAR NOT NULL,
            benchmark VARCHAR NOT NULL, benchmark_version VARCHAR NOT NULL, protocol JSON,
            metric VARCHAR NOT NULL, value DOUBLE, ci_low DOUBLE, ci_high DOUBLE,
            n_problems INTEGER, n_samples INTEGER, breakdown VARCHAR,
            created_at TIMESTAMPTZ DEFAULT current_timestamp)""",
    "gold_corrections": """
        CREATE TABLE IF NOT EXISTS gold_corrections (
            prompt_id VARCHAR NOT NULL, version INTEGER NOT NULL, answer VARCHAR, tests VARCHAR,
            previous_answer VARCHAR, previous_tests VARCHAR, source VARCHAR, source_index BIGINT,
            run_id VARCHAR, created_at TIMESTAMPTZ DEFAULT current_timestamp,
            PRIMARY KEY (prompt_id, version))""",
    "annotations": """
        CREATE TABLE IF NOT EXISTS annotations (
            annotation_id VARCHAR PRIMARY KEY, target_kind VARCHAR NOT NULL, target_id VARCHAR NOT NULL,
            set_name VARCHAR, label VARCHAR NOT NULL, reason VARCHAR, edited_text VARCHAR,
            annotator VARCHAR, created_at TIMESTAMPTZ DEFAULT current_timestamp)""",
}

CATALOG_TABLES = tuple(CATALOG_DDL)
ALL_TABLES = (*SHARD_TABLES, *CATALOG_TABLES)
