"""Writes GRPO rollouts, their reward components and per-step metrics to the store as they are produced.

Ids make a resumed run idempotent: rollout_id = hash(prompt, model, template, sampling, seed, position,
run, step), reward_id = hash(rollout, verifier, version), metric_id = hash(run, step, name). Steps at or
below the last step already logged for the run (a resumed run replaying them) are appended with
`skip_existing=True`; later steps cannot collide, so they skip the existence check (it costs a scan).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from r1harness.store.ids import content_id, reward_id, rollout_id


@dataclass
class RolloutRecorder:
    store: object
    run_id: str
    model: str
    template: str
    sampling: dict
    seed: int
    weights: dict[str, float]
    backend_version: str = ""
    stage: str = "grpo"
    _pending: dict = field(default_factory=dict)
    _completions: tuple = ((), None)
    _replay_until: int = -1  # steps <= this may already be in the store (resume)
    written_rollouts: int = 0
    infra_failures: int = 0

    def __post_init__(self):
        self._replay_until = last_logged_step(self.store, self.run_id)

    def record(
        self, component: str, verdicts: list, completions: list[str], completion_ids: list[list[int]] | None
    ) -> None:
        """Called by each reward component with its verdicts for the current generation batch."""
        self._pending[component] = verdicts
        self._completions = (completions, completion_ids)

    def flush(
        self,
        *,
        step: int,
        inputs: list[dict],
        advantages: list[float],
        prompt_tokens: list[int],
        eos_ids: set[int],
        num_generations: int,
    ) -> None:
        """Write one generation batch: a rollout per completion and a rewards row per component."""
        pending, self._pending = self._pending, {}
        completions, completion_ids = self._completions
        if completion_ids is None:
            completion_ids = [[] for _ in completions]
        now = dt.datetime.now(dt.UTC)
        rollouts, rewards = [], []
        for i, (row, text, ids) in enumerate(zip(inputs, completions, completion_ids, strict=True)):
            verdicts = {name: v[i] for name, v in pending.items()}
            rid = rollout_id(
                row["prompt_id"],
                self.model,
                self.template,
                self.sampling,
                self.seed,
                i,
                run_id=self.run_id,
                step=step,
            )
            row = {**row, "prompt_tokens": prompt_tokens[i]}
            rollouts.append(
                self._rollout_row(
                    rid,
                    row,
                    text,
                    ids,
                    step,
                    i % num_generations,
                    total_reward(verdicts, self.weights),
                    advantages[i],
                    eos_ids,
                    now,
                )
            )
            rewards += [reward_row(rid, self.run_id, v, now) for v in verdicts.values()]
            self.infra_failures += sum(v.is_infra_failure for v in verdicts.values())
        replay = step <= self._replay_until
        self.store.append("rollouts", rollouts, skip_existing=replay)
        if rewards:
            self.store.append("rewards", rewards, skip_existing=replay)
        self.written_rollouts += len(rollouts)

    def _rollout_row(self, rid, row, text, ids, step, sample_index, reward, advantage, eos_ids, now) -> dict:
        finished = bool(ids) and ids[-1] in eos_ids
        return {
            "rollout_id": rid,
            "prompt_id": row["prompt_id"],
            "run_id": self.run_id,
            "model": self.model,
            "template": self.template,
            "sampling": _json(self.sampling),
            "seed": self.seed,
            "sample_index": sample_index,
            "stage": self.stage,
            "step": step,
            "prompt_text": row.get("prompt"),
            "completion": text,
            "prompt_tokens": row.get("prompt_tokens"),
            "completion_tokens": len(ids) - (1 if finished else 0),
            "finish_reason": "stop" if finished else "length",
            "backend": "trl",
            "backend_version": self.backend_version,
            "reward": reward,
            "advantage": None if advantage is None or math.isnan(advantage) else float(advantage),
            "created_at": now,
        }


def total_reward(verdicts: dict, weights: dict[str, float]) -> float | None:
    """The weighted sum TRL uses (nansum); None when every component failed."""
    scores = [(weights[name], v.score) for name, v in verdicts.items() if v.score is not None]
    return sum(w * s for w, s in scores) if scores else None


def reward_row(rid: str, run_id: str, verdict, now) -> dict:
    return {
        "reward_id": reward_id(rid, verdict.verifier, verdict.version),
        "rollout_id": rid,
        "run_id": run_id,
        "created_at": now,
        **verdict.to_row(),
    }


def metric_rows(run_id: str, step: int, logs: dict) -> list[dict]:
    now = dt.datetime.now(dt.UTC)
    rows = []
    for name, value in logs.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        rows.append(
            {
                "metric_id": content_id("metric", run_id, step, name),
                "run_id": run_id,
                "step": step,
                "name": name,
                "value": None if math.isnan(value) else float(value),
                "created_at": now,
            }
        )
    return rows


def last_logged_step(store, run_id: str) -> int:
    """The highest step with rollouts or metrics for this run, -1 if none."""
    # store.arrow, not store.sql: the trainer path needs pyarrow + duckdb only (no polars).
    table = store.arrow(
        "SELECT greatest(coalesce((SELECT max(step) FROM rollouts WHERE run_id = $1), -1),"
        " coalesce((SELECT max(step) FROM train_metrics WHERE run_id = $1), -1)) AS s",
        [run_id],
    )
    return int(table.column("s")[0].as_py())


def _json(value) -> str:
    from r1harness.store.ids import canonical_json

    return canonical_json(value)
