"""`score_rollouts`: selected rollouts in the store -> `rewards` rows, for one or more verifiers.

Used by `r1h verify` (verify_store), evaluation (evals.runner) and re-verification. Two passes: the
pending rollouts per verifier (pending.py: the retry rule), then one streaming pass over the completions
in batches, so memory stays flat however many rollouts are selected. Each batch is appended atomically:
a kill loses at most the batch in flight, and a re-run writes the same reward ids (rows.py).
Timeouts and errors are stored with a NULL score and counted, never as wrong; a re-run retries them.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from r1harness.scoring.pending import ROLLOUT_COLUMNS, Selection, count_selected, pending
from r1harness.scoring.rows import reward_rows
from r1harness.scoring.scorer import Scorer
from r1harness.verify.reference import verifier_reference


@dataclass
class Tally:
    """What one verifier did in a scoring pass."""

    scorer: Scorer
    todo: dict[str, int]  # rollout_id -> attempt
    skipped: int
    counts: Counter = field(default_factory=Counter)
    written: int = 0

    def to_dict(self) -> dict:
        return {
            "stored_as": self.scorer.label,
            "version": self.scorer.version,
            "verified": sum(self.counts.values()),
            "retried": sum(1 for a in self.todo.values() if a),
            "skipped_existing": self.skipped,
            "counts": dict(self.counts),
        }


@dataclass
class ScoreSummary:
    run_id: str | None
    candidates: int = 0
    tallies: list[Tally] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def per_verifier(self) -> dict[str, dict]:
        return {t.scorer.name: t.to_dict() for t in self.tallies}

    @property
    def written(self) -> int:
        return sum(t.written for t in self.tallies)

    @property
    def infra_failures(self) -> int:
        return sum(t.counts.get("timeout", 0) + t.counts.get("error", 0) for t in self.tallies)

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "candidates": self.candidates,
            "verifiers": self.per_verifier,
            "infra_failures": self.infra_failures,
            "seconds": round(self.seconds, 3),
        }


def score_rollouts(
    store,
    scorers: list[Scorer],
    selection: Selection,
    *,
    run_id: str | None,
    batch_size: int = 1024,
    progress: bool = False,
    desc: str = "verify",
    stale_only: bool = False,
    summary: ScoreSummary | None = None,
) -> ScoreSummary:
    """Score every pending selected rollout with each scorer; `summary` (when given) is filled as the work
    goes, so a caller that records a failed run can say what was done before the failure."""
    started = time.perf_counter()
    summary = summary if summary is not None else ScoreSummary(run_id)
    summary.candidates = count_selected(store, selection)
    for scorer in scorers:
        todo = pending(store, selection, scorer.label, scorer.version, stale_only=stale_only)
        summary.tallies.append(Tally(scorer, todo, summary.candidates - len(todo)))
    try:
        if any(t.todo for t in summary.tallies):
            _stream(store, summary, selection, batch_size, _bar(summary, progress, desc))
    finally:
        summary.seconds = time.perf_counter() - started
    return summary


def _stream(store, summary: ScoreSummary, selection: Selection, batch_size: int, bar) -> None:
    query, params = selection.sql(ROLLOUT_COLUMNS)
    try:
        with store.reader() as con:
            rel = con.sql(query, params=params) if params else con.sql(query)
            for batch in rel.to_arrow_reader(batch_size):
                records = batch.to_pylist()
                refs = {}
                for tally in summary.tallies:
                    mine = [r for r in records if r["rollout_id"] in tally.todo]
                    if mine:
                        _score_batch(store, tally, mine, refs, summary.run_id)
                        if bar is not None:
                            bar.update(len(mine))
    finally:
        if bar is not None:
            bar.close()


def _score_batch(store, tally: Tally, records: list[dict], refs: dict, run_id: str | None) -> None:
    for r in records:  # built once per rollout and batch, shared by every verifier
        if r["rollout_id"] not in refs:
            refs[r["rollout_id"]] = verifier_reference(r, finish_reason=r["finish_reason"])
    ids = [r["rollout_id"] for r in records]
    verdicts = tally.scorer.score([r["completion"] for r in records], [refs[i] for i in ids])
    golds = [r.get("gold_version") or 1 for r in records]
    rows = reward_rows(ids, verdicts, run_id, attempts=[tally.todo[i] for i in ids], gold_versions=golds)
    tally.written += store.append("rewards", rows).written
    tally.counts.update(v.status for v in verdicts)


def _bar(summary: ScoreSummary, enabled: bool, desc: str):
    total = sum(len(t.todo) for t in summary.tallies)
    if not enabled or not total:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="verdict")
