"""Reading training data out of the store: GRPO prompts and SFT sets."""

from __future__ import annotations

import json

from r1harness.curate.sets import parse_ref
from r1harness.errors import ConfigError
from r1harness.templates import render_text

PROMPT_COLUMNS = "prompt_id, problem, answer, tests, metadata, domain, verifier"


def load_prompts(
    store,
    *,
    dataset: str | None,
    split: str | None = None,
    where: str | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Prompts rows in a stable order (by prompt_id), filtered by dataset/split/extra SQL."""
    clauses, params = [], []
    if dataset:
        clauses.append(f"dataset = ${len(params) + 1}")
        params.append(dataset)
    if split:
        clauses.append(f"split = ${len(params) + 1}")
        params.append(split)
    if where:
        clauses.append(f"({where})")
    sql = f"SELECT {PROMPT_COLUMNS} FROM prompts"
    sql += (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql += " ORDER BY prompt_id" + (f" LIMIT {int(limit)}" if limit else "")
    rows = store.arrow(sql, params or None).to_pylist()
    if not rows:
        have = store.arrow(
            "SELECT dataset, split, count(*) AS n FROM prompts GROUP BY ALL ORDER BY 1"
        ).to_pylist()
        raise ConfigError(
            f"no prompts match dataset={dataset!r} split={split!r} where={where!r}; the store "
            f"has {have or 'no prompts'} (ingest some with `r1h ingest --manifest NAME`)"
        )
    return rows


def grpo_dataset(rows: list[dict], template: str):
    """A `datasets.Dataset` with the rendered prompt plus the columns reward functions need."""
    from datasets import Dataset

    cols = {"prompt": [render_text(template, r["problem"]) for r in rows]}
    for key in ("prompt_id", "answer", "tests", "metadata", "domain", "verifier"):
        cols[key] = [r.get(key) for r in rows]
    return Dataset.from_dict(cols)


def load_set(store, ref: str, *, limit: int | None = None) -> tuple[str, int, list[list[dict]]]:
    """The chat messages of a ready set; raises ConfigError naming what exists when it cannot."""
    parsed = parse_ref(ref)
    name, version = parsed.name, parsed.version
    sets = store.arrow(
        "SELECT name, version, status FROM sets WHERE name = $1 ORDER BY version", [name]
    ).to_pylist()
    ready = [s for s in sets if s["status"] == "ready"]
    if version is None:
        if not ready:
            raise ConfigError(f"no ready version of set {name!r} (found {sets or 'none'})")
        version = ready[-1]["version"]
    elif not any(s["version"] == version for s in ready):
        raise ConfigError(f"set {name}@v{version} is not a ready set in the store (found {sets or 'none'})")
    sql = (
        "SELECT sample_id, messages FROM sft_samples WHERE set_name = $1 AND set_version = $2 "
        # by content first: sample ids embed rollout ids (hence run ids); a rerun keeps the same order
        "ORDER BY md5(messages), sample_id" + (f" LIMIT {int(limit)}" if limit else "")
    )
    rows = store.arrow(sql, [name, version]).to_pylist()
    if not rows:
        raise ConfigError(f"set {name}@v{version} has no sft_samples")
    return name, version, [_messages(r) for r in rows]


def _messages(row: dict) -> list[dict]:
    try:
        msgs = json.loads(row["messages"])
    except json.JSONDecodeError as exc:
        raise ConfigError(f"sft_samples {row['sample_id']}: messages is not JSON: {exc}") from None
    if not isinstance(msgs, list) or not all(
        isinstance(m, dict) and "role" in m and "content" in m for m in msgs
    ):
        raise ConfigError(f"sft_samples {row['sample_id']}: messages must be a list of {{role, content}}")
    if msgs[-1]["role"] != "assistant":
        raise ConfigError(f"sft_samples {row['sample_id']}: the last message must be the assistant's")
    return msgs
