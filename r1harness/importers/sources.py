"""Readers for other systems' outputs, each built from its writer's code (the upstream file and commit are
named in each reader and in the test fixtures):

- verl: `trainer.rollout_data_dir` / `trainer.validation_data_dir` dumps, one `{step}.jsonl` per step with
  `input`, `output`, `gts`, `score`, `step` and the reward function's extra keys
  (verl/trainer/ppo/ray_trainer.py `_dump_generations`, volcengine/verl@b178a3cd).
- trl: GRPO completion logs, `completions/completions_{step:05d}.parquet` with `step`, `prompt`,
  `completion`, one column per reward function, `advantage` (trl/trainer/grpo_trainer.py `log`, TRL 1.16).
- lighteval: `--save-details` files `details_{task}_{date}.parquet`, one row per doc with `doc` (query,
  choices, gold_index, ...), `model_response` (text: one string per sample), `metric` (name -> value)
  (src/lighteval/logging/evaluation_tracker.py `save`, huggingface/lighteval@3fd15266).
- hub: reasoning datasets with several generations per problem, OpenR1-Math-220k style (`problem`,
  `answer`, `generations[]`, `correctness_math_verify[]`, `correctness_llama[]`, `finish_reasons[]`) and
  OpenThoughts style (`conversations` of {from, value}); a local file or folder, or a hub id.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from r1harness.errors import ConfigError
from r1harness.importers.records import Imported

VERL_FIELDS = ("input", "output", "gts", "score", "step")
TRL_COLUMNS = ("step", "prompt", "completion", "advantage")
_STEP_FILE = re.compile(r"^(\d+)\.jsonl$")


def read_verl(path: str | Path) -> list[Imported]:
    """Every `{step}.jsonl` of a verl dump folder (or one such file), in step order."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(path.glob("*.jsonl"), key=_step_of_file)
    if not files:
        raise ConfigError(f"{path}: no {{step}}.jsonl files (verl's trainer.rollout_data_dir layout)")
    out = []
    for file in files:
        for n, obj in _jsonl(file):
            missing = [k for k in ("input", "output") if k not in obj]
            if missing:
                raise ConfigError(
                    f"{file}:{n}: not a verl dump record (missing {missing}; has {sorted(obj)})"
                )
            extra = {k: v for k, v in obj.items() if k not in VERL_FIELDS}
            out.append(
                Imported(
                    problem=str(obj["input"]).strip(),
                    completion=str(obj["output"]),
                    gold=_text(obj.get("gts")),
                    step=_int(obj.get("step"), f"{file}:{n}"),
                    scores={"score": obj.get("score"), **{k: v for k, v in extra.items() if _is_score(v)}},
                    details={k: v for k, v in extra.items() if not _is_score(v)},
                    where=f"{file}:{n}",
                )
            )
    return out


def read_trl(path: str | Path) -> list[Imported]:
    """TRL GRPO completion logs: a `completions/` folder of Parquet files, or one file."""
    import polars as pl

    path = Path(path)
    if path.is_dir() and (path / "completions").is_dir():
        path = path / "completions"
    files = [path] if path.is_file() else sorted(path.glob("completions_*.parquet"))
    if not files:
        raise ConfigError(f"{path}: no completions_*.parquet files (TRL's GRPOConfig(log_completions=True))")
    out = []
    for file in files:
        df = pl.read_parquet(file)
        missing = [c for c in ("step", "prompt", "completion") if c not in df.columns]
        if missing:
            raise ConfigError(
                f"{file}: not a TRL completions log (missing columns {missing}; has {df.columns})"
            )
        rewards = [c for c in df.columns if c not in TRL_COLUMNS and df.schema[c].is_numeric()]
        for i, row in enumerate(df.iter_rows(named=True)):
            out.append(
                Imported(
                    problem=_message_text(row["prompt"], "user"),
                    completion=_message_text(row["completion"], "assistant"),
                    step=int(row["step"]),
                    scores={c: row[c] for c in rewards},
                    advantage=row.get("advantage"),
                    where=f"{file} row {i}",
                )
            )
    return out


def read_lighteval(path: str | Path) -> list[Imported]:
    """lighteval details: a folder of `details_*.parquet` files (searched recursively) or one file."""
    import polars as pl

    path = Path(path)
    files = [path] if path.is_file() else sorted(path.rglob("details_*.parquet"))
    if not files:
        raise ConfigError(f"{path}: no details_*.parquet files (lighteval --save-details)")
    out = []
    for file in files:
        df = pl.read_parquet(file)
        if not {"doc", "model_response", "metric"} <= set(df.columns):
            raise ConfigError(
                f"{file}: not lighteval details (columns {df.columns}; expected doc, model_response, metric)"
            )
        for i, row in enumerate(df.iter_rows(named=True)):
            doc, response, metric = row["doc"] or {}, row["model_response"] or {}, row["metric"] or {}
            texts = response.get("text") or []
            for text in texts if isinstance(texts, list) else [texts]:
                out.append(
                    Imported(
                        problem=str(doc.get("original_query") or doc.get("query") or "").strip(),
                        completion=str(text),
                        gold=_lighteval_gold(doc),
                        scores={k: v for k, v in metric.items() if _is_score(v)},
                        details={"task": doc.get("task_name"), "per_problem_metric": len(texts) > 1},
                        where=f"{file} row {i}",
                    )
                )
    return out


def read_hub(path: str, split: str | None = None, config: str | None = None) -> list[Imported]:
    """OpenR1-Math-style rows (generations with per-generation correctness) or OpenThoughts-style
    conversations, from a local JSONL/Parquet file, a `datasets` folder, or a hub id."""
    from r1harness.ingest.readers import read_records

    records, locations = read_records(path, split=split, config=config)
    first = records[0]
    if "generations" in first:
        return [imp for row, at in zip(records, locations, strict=True) for imp in _openr1_row(row, at)]
    if "conversations" in first:
        return [_openthoughts_row(row, at) for row, at in zip(records, locations, strict=True)]
    raise ConfigError(
        f"{path}: rows have neither `generations` (OpenR1-Math style) nor `conversations` (OpenThoughts "
        f"style); columns: {sorted(first)}"
    )


OPENR1_SCORES = ("correctness_math_verify", "correctness_llama", "is_reasoning_complete")


def _openr1_row(row: dict, where: str) -> list[Imported]:
    generations = row.get("generations") or []
    per = {k: row.get(k) or [] for k in (*OPENR1_SCORES, "finish_reasons")}
    out = []
    for k, text in enumerate(generations):
        scores = {name: per[name][k] for name in OPENR1_SCORES if k < len(per[name])}
        finish = per["finish_reasons"][k] if k < len(per["finish_reasons"]) else None
        out.append(
            Imported(
                problem=str(row.get("problem") or "").strip(),
                completion=str(text),
                gold=_text(row.get("answer")),
                scores=scores,
                finish_reason=finish,
                details={"source": row.get("source"), "uuid": row.get("uuid")},
                where=f"{where} generation {k}",
            )
        )
    return out


def _openthoughts_row(row: dict, where: str) -> Imported:
    turns = row.get("conversations") or []
    user = next((t.get("value") for t in turns if t.get("from") in ("user", "human")), None)
    reply = next((t.get("value") for t in turns if t.get("from") in ("assistant", "gpt")), None)
    if user is None or reply is None:
        raise ConfigError(f"{where}: conversations need a user and an assistant turn; got {turns[:2]}")
    return Imported(problem=str(user).strip(), completion=str(reply), where=where)


def _lighteval_gold(doc: dict) -> str | None:
    choices, gold = doc.get("choices") or [], doc.get("gold_index")
    index = gold[0] if isinstance(gold, list) and gold else gold
    if isinstance(index, int) and 0 <= index < len(choices):
        return str(choices[index])
    return None


def _message_text(value: Any, role: str) -> str:
    """TRL logs plain text, or chat messages for conversational datasets: take the last `role` turn."""
    if isinstance(value, str):
        return value.strip() if role == "user" else value
    if isinstance(value, list):
        turns = [m for m in value if isinstance(m, dict) and m.get("role") == role] or value
        content = turns[-1].get("content") if isinstance(turns[-1], dict) else turns[-1]
        return str(content).strip() if role == "user" else str(content)
    return str(value)


def _jsonl(file: Path):
    with open(file, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{file}:{n}: malformed JSON ({exc.msg})") from None


def _step_of_file(file: Path) -> int:
    m = _STEP_FILE.match(file.name)
    return int(m[1]) if m else -1


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: step must be a whole number, got {value!r}") from None


def _is_score(value: Any) -> bool:
    return isinstance(value, bool | int | float) and not isinstance(value, str)
