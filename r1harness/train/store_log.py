"""Writes GRPO rollouts, their reward components, per-step metrics and held-out eval steps to the store as
they are produced.

Ids make a resumed run idempotent: rollout_id = hash(prompt, model, template, sampling, seed, position,
run, step), reward_id by the one rule of r1harness.scoring.rows, metric_id = hash(run, step, name). Steps
at or below the last step already logged for the run (a resumed run replaying them) are appended with
`skip_existing=True`; later steps cannot collide with the store, so they skip the existence check (it costs
a scan), and MetricLog drops a name logged twice at one step (the trainer's end-of-run log repeats
"epoch").

An eval step is three appends: rollouts, rewards, then its metrics, which mark the step complete (EvalLog).
A kill between them leaves a step with rollouts but no metrics; a resumed run completes it from the stored
rollouts (graded again, never generated again) and never evaluates a complete step twice.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field

from r1harness.scoring.rows import reward_rows
from r1harness.store.ids import canonical_json, content_id, rollout_id
from r1harness.templates import render_text
from r1harness.verify.reference import verifier_reference


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
            rewards += reward_rows([rid] * len(verdicts), list(verdicts.values()), self.run_id, now=now)
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
            "sampling": canonical_json(self.sampling),
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


class MetricLog:
    """`train_metrics` rows of one run, each (step, name) once: the trainer logs some names twice at one step
    (its end-of-run summary repeats the last step's "epoch"), and a resumed run replays logged steps."""

    def __init__(self, store, run_id: str, replay_until: int | None = None):
        self.store, self.run_id = store, run_id
        self.replay_until = last_logged_step(store, run_id) if replay_until is None else replay_until
        self._step, self._written = None, set()

    def write(self, step: int, logs: dict) -> int:
        if step != self._step:
            self._step, self._written = step, set()
        rows = [r for r in metric_rows(self.run_id, step, logs) if r["metric_id"] not in self._written]
        if not rows:
            return 0
        written = self.store.append("train_metrics", rows, skip_existing=step <= self.replay_until).written
        self._written.update(r["metric_id"] for r in rows)
        return written


EVAL_STEPS_SQL = """
    SELECT step, bool_or(metrics) AS complete FROM (
        SELECT DISTINCT step, false AS metrics FROM rollouts WHERE run_id = $1 AND stage = 'eval'
        UNION ALL
        SELECT DISTINCT step, true FROM train_metrics WHERE run_id = $1 AND name LIKE 'eval/%')
    GROUP BY step
"""
STORED_EVAL_SQL = """
    SELECT r.rollout_id, r.sampling, r.completion, r.completion_tokens,
           p.prompt_id, p.answer, p.tests, p.metadata, p.domain, p.verifier  -- rewards.REFERENCE_COLUMNS
    FROM rollouts r LEFT JOIN prompts p USING (prompt_id)
    WHERE r.run_id = $1 AND r.stage = 'eval' AND r.step = $2
    ORDER BY r.rollout_id
"""


@dataclass
class EvalLog:
    """The held-out eval steps of one GRPO run in the store: `complete` (metrics written) and `partial`
    (rollouts without metrics: a kill cut the step short). `record` writes a fresh step; `complete_step`
    finishes a partial one from its stored rollouts."""

    store: object
    run_id: str
    model: str
    template: str
    seed: int
    weights: dict[str, float]
    complete: set[int] = field(default_factory=set)
    partial: set[int] = field(default_factory=set)

    def __post_init__(self):
        table = self.store.arrow(EVAL_STEPS_SQL, [self.run_id])
        for step, complete in zip(table.column("step").to_pylist(), table.column("complete").to_pylist()):
            (self.complete if complete else self.partial).add(step)

    def record(self, step: int, results: list[dict]) -> dict[str, float]:
        """Append a fresh evaluation (evaluate_policy's results): rollouts, rewards, then metrics."""
        now = dt.datetime.now(dt.UTC)
        entries = []
        for i, r in enumerate(results):
            rid = rollout_id(
                r["prompt"]["prompt_id"],
                self.model,
                self.template,
                r["sampling"],
                self.seed,
                i,
                run_id=self.run_id,
                step=step,
            )
            entries.append({**r, "rollout_id": rid, "completion_tokens": len(r["tokens"])})
        self.store.append("rollouts", [self._rollout_row(e, step, now) for e in entries])
        return self._finish(step, entries, now)

    def complete_step(self, step: int, components) -> dict[str, float]:
        """Grade the stored rollouts of a partial step again and write its missing rewards and metrics."""
        stored = self.store.arrow(STORED_EVAL_SQL, [self.run_id, step]).to_pylist()
        texts = [row["completion"] for row in stored]
        refs = [verifier_reference(row) for row in stored]  # as evaluate_policy grades: no finish reason
        verdicts = {c.spec.name: c.score(texts, refs) for c in components}
        entries = [
            {
                "rollout_id": row["rollout_id"],
                "sampling": json.loads(row["sampling"] or "{}"),
                "completion_tokens": row["completion_tokens"] or 0,
                "verdicts": {name: v[i] for name, v in verdicts.items()},
            }
            for i, row in enumerate(stored)
        ]
        return self._finish(step, entries, dt.datetime.now(dt.UTC))

    def _finish(self, step: int, entries: list[dict], now) -> dict[str, float]:
        rewards = []
        for e in entries:
            verdicts = list(e["verdicts"].values())
            rewards += reward_rows([e["rollout_id"]] * len(verdicts), verdicts, self.run_id, now=now)
        self.store.append("rewards", rewards)
        metrics = eval_metrics(entries)
        self.store.append("train_metrics", metric_rows(self.run_id, step, metrics))  # the step's commit
        self.complete.add(step)
        self.partial.discard(step)
        return metrics

    def _rollout_row(self, e: dict, step: int, now) -> dict:
        return {
            "rollout_id": e["rollout_id"],
            "prompt_id": e["prompt"]["prompt_id"],
            "run_id": self.run_id,
            "model": self.model,
            "template": self.template,
            "sampling": canonical_json(e["sampling"]),
            "seed": self.seed,
            "sample_index": e["sample_index"],
            "stage": "eval",
            "step": step,
            "prompt_text": render_text(self.template, e["prompt"]["problem"]),
            "completion": e["text"],
            "completion_tokens": e["completion_tokens"],
            "finish_reason": "stop" if e["finished"] else "length",
            "backend": "transformers",
            "reward": total_reward(e["verdicts"], self.weights),
            "created_at": now,
        }


def eval_metrics(entries: list[dict]) -> dict[str, float]:
    """Mean score per component and decoding (eval/<component>/<greedy|sampled>), plus mean length."""
    sums: dict[str, list[float]] = {}
    for e in entries:
        mode = "greedy" if e["sampling"].get("greedy") else "sampled"
        for name, v in e["verdicts"].items():
            if v.score is not None:
                sums.setdefault(f"eval/{name}/{mode}", []).append(v.score)
        sums.setdefault(f"eval/completion_tokens/{mode}", []).append(e["completion_tokens"])
    return {k: sum(v) / len(v) for k, v in sums.items() if v}
