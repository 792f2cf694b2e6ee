"""Other systems' rollouts into the store: the one path every importer ends in.

An importer reads its format into `Imported` records (one completion each: the problem it answered, the
gold if the source has one, the training step, the source's own scores). `import_records` then:
- matches each problem to an existing prompt by content id (same dataset, same text), else to a stored
  problem of the dataset that the source's rendered prompt contains (verl and TRL log the prompt after
  their chat template), else files a new prompt;
- writes one `rollouts` row per completion (stage "import", backend = the source) whose id derives from
  the content and its position, not from the import run, so importing the same files again writes nothing;
- writes the source's scores as `rewards` under the source's name (`verl.score`, `trl.accuracy`,
  `openr1.correctness_math_verify`, ...), version "imported", never under r1harness's verifiers: a later
  `r1h verify` adds r1harness's own verdicts beside them, and the `imported_vs_verified` view compares;
- records a `runs` row (kind "import": source, path, format version, counts).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1harness.errors import ConfigError
from r1harness.scoring.rows import reward_rows
from r1harness.store.ids import content_id, prompt_id, rollout_id
from r1harness.store.runs import recorded_run
from r1harness.verify.verdict import Verdict

IMPORTED_VERSION = "imported"
MATCH_PREFIX = 24  # characters of a stored problem that index it for the contained-in search


@dataclass(frozen=True)
class Imported:
    """One completion from another system."""

    problem: str  # the problem text, or the whole rendered prompt when the source logs only that
    completion: str
    gold: str | None = None
    step: int | None = None
    scores: dict[str, Any] = field(default_factory=dict)  # the source's own scores: name -> number|bool
    finish_reason: str | None = None
    advantage: float | None = None
    details: dict[str, Any] = field(default_factory=dict)  # anything else the source logged with it
    where: str = ""  # file:line, for error messages


@dataclass(frozen=True)
class ImportSummary:
    run_id: str
    source: str
    records: int
    prompts_new: int
    prompts_matched: int
    rollouts_written: int
    rewards_written: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ProblemIndex:
    """The stored problems of a dataset, found inside a longer rendered prompt in O(len(prompt))."""

    def __init__(self, problems: Iterable[str]):
        self.exact = {p: p for p in problems if p}
        self.by_prefix: dict[str, list[str]] = {}
        self.short = [p for p in self.exact if len(p) < MATCH_PREFIX]
        for p in self.exact:
            if len(p) >= MATCH_PREFIX:
                self.by_prefix.setdefault(p[:MATCH_PREFIX], []).append(p)

    def find(self, text: str) -> str | None:
        """The stored problem equal to text, else the longest one it contains, else None."""
        if text in self.exact:
            return text
        found = [p for p in self.short if p in text]
        for i in range(len(text) - MATCH_PREFIX + 1):
            for p in self.by_prefix.get(text[i : i + MATCH_PREFIX], ()):
                if text.startswith(p, i):
                    found.append(p)
        return max(found, key=len) if found else None


def import_records(
    store,
    records: list[Imported],
    *,
    source: str,
    path: str,
    dataset: str,
    model: str | None = None,
    format_version: str = "",
) -> ImportSummary:
    """Write the records with lineage (see the module docstring); idempotent."""
    if not records:
        raise ConfigError(f"{path}: no records to import from {source}")
    model = model or f"{source}:{Path(path).name}"
    run_id = content_id("import", source, str(Path(path).resolve()), dataset, model)
    config = {
        "source": source,
        "path": str(path),
        "dataset": dataset,
        "model": model,
        "format": format_version,
    }
    with recorded_run(
        store, "import", name=f"{source} {Path(path).name}", run_id=run_id, config=config
    ) as run:
        prompts, pids, matched = _prompts(store, records, dataset, path)
        rollouts, rewards = _rollouts_and_rewards(records, pids, model, source, run_id)
        if prompts:
            store.append("prompts", prompts)
        written = store.append("rollouts", rollouts).written
        scored = store.append("rewards", rewards).written if rewards else 0
        summary = ImportSummary(run_id, source, len(records), len(prompts), matched, written, scored)
        run.summary = summary.to_dict()
    return summary


def _prompts(store, records: list[Imported], dataset: str, path: str) -> tuple[list[dict], list[str], int]:
    """(new prompt rows, the prompt id of each record, how many records matched a stored prompt)."""
    stored = store.sql("SELECT problem FROM prompts WHERE dataset = ?", [dataset])["problem"].to_list()
    index = ProblemIndex(stored)
    new: dict[str, dict] = {}
    pids, matched = [], 0
    for rec in records:
        problem = index.find(rec.problem)
        if problem is not None:
            matched += 1
        else:
            problem = rec.problem
            pid = prompt_id(dataset, problem)
            new.setdefault(pid, _prompt_row(pid, dataset, problem, rec.gold, path))
        pids.append(prompt_id(dataset, problem))
    return list(new.values()), pids, matched


def _prompt_row(pid: str, dataset: str, problem: str, gold: str | None, path: str) -> dict:
    return {
        "prompt_id": pid,
        "dataset": dataset,
        "domain": "math",
        "problem": problem,
        "answer": gold,
        "verifier": "math",
        "source": str(path),
    }


def _rollouts_and_rewards(records, pids, model, source, run_id) -> tuple[list[dict], list[dict]]:
    seen: dict[tuple, int] = {}
    rollouts, reward_ids, verdicts = [], [], []
    for rec, pid in zip(records, pids, strict=True):
        index = seen[(pid, rec.step)] = seen.get((pid, rec.step), -1) + 1  # k-th sample of it at this step
        rid = rollout_id(pid, model, f"import:{source}", {"source": source}, None, index, step=rec.step)
        rollouts.append(
            {
                "rollout_id": rid,
                "prompt_id": pid,
                "run_id": run_id,
                "model": model,
                "template": f"import:{source}",
                "sampling": json.dumps({"source": source}),
                "sample_index": index,
                "stage": "import",
                "step": rec.step,
                "completion": rec.completion,
                "finish_reason": rec.finish_reason,
                "backend": source,
                "advantage": rec.advantage,
            }
        )
        for name, value in rec.scores.items():
            verdict = imported_verdict(f"{source}.{name}", value, rec.details)
            if verdict is not None:
                reward_ids.append(rid)
                verdicts.append(verdict)
    return rollouts, reward_rows(reward_ids, verdicts, run_id) if verdicts else []


def imported_verdict(verifier: str, value: Any, details: dict) -> Verdict | None:
    """A source's score as a verdict: true or a positive number is correct, false/0/negative wrong; a
    missing score (None, NaN) is no verdict. The raw value is kept in details."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        score = 1.0 if value else 0.0
    elif isinstance(value, int | float):
        score = float(value)
    else:
        return None  # a label or text the source logged: kept in details, not a score
    return Verdict(
        "correct" if score > 0 else "wrong",
        score,
        verifier,
        IMPORTED_VERSION,
        reason="score imported from the source",
        details={"value": value, **{k: v for k, v in details.items() if _jsonable(v)}},
    )


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
