"""Verify rollouts in the store and append `rewards` rows: the API behind `r1h verify`.

Resumable: a reward's id is hash(rollout, verifier, version), so before verifying, the rollouts that already
have a row for this (verifier, version) are skipped, and each batch is appended atomically (a kill loses at
most the batch in flight). Completions are streamed in batches, never all loaded at once. Timeouts and
errors are stored with a NULL score and counted, never as wrong.
Limit: such infrastructure failures are stored like any verdict, so a resumed run does not retry them; bump
the verifier version or verify under another name to re-grade them.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from r1harness.errors import ConfigError, VerifierError
from r1harness.store.ids import reward_id
from r1harness.store.runs import finish_run, start_run
from r1harness.verify.registry import get_verifier, stored_name, verifier_version

log = logging.getLogger(__name__)
# Each verifier's reference is the rollout's prompts row (plus the rollout's finish_reason).
_COLUMNS = (
    "r.rollout_id, r.completion, r.finish_reason, r.prompt_id, p.dataset, p.split, p.domain, p.problem, "
    "p.answer, p.tests, p.metadata, p.source, p.verifier AS prompt_verifier"
)


@dataclass
class VerifySummary:
    run_id: str
    candidates: int = 0
    per_verifier: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def infra_failures(self) -> int:
        return sum(
            v["counts"].get("timeout", 0) + v["counts"].get("error", 0) for v in self.per_verifier.values()
        )

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "candidates": self.candidates,
            "verifiers": self.per_verifier,
            "infra_failures": self.infra_failures,
            "seconds": round(self.seconds, 3),
        }


def _selection_sql(columns: str, run_id: str | None, where: str | None) -> tuple[str, list | None]:
    clauses, params = [], []
    if run_id:
        clauses.append("r.run_id = ?")
        params.append(run_id)
    if where:
        clauses.append(f"({where})")
    sql = (
        f"SELECT {columns} FROM rollouts r LEFT JOIN prompts p ON r.prompt_id = p.prompt_id"
        + (" WHERE " + " AND ".join(clauses) if clauses else "")
        + " ORDER BY r.rollout_id"
    )
    return sql, params or None


def select_rollouts(store, *, run_id: str | None = None, where: str | None = None):
    """Rollouts joined with their prompts (aliases r and p usable in `where`) as a polars DataFrame."""
    return store.sql(*_selection_sql(_COLUMNS, run_id, where))


@dataclass
class _Plan:
    name: str
    fn: object
    options: dict
    stored: str
    version: str | None
    todo: set[str]
    skipped: int
    counts: Counter = field(default_factory=Counter)


def verify_store(
    store,
    verifiers: list[str],
    *,
    run_id: str | None = None,
    where: str | None = None,
    options: dict[str, dict] | None = None,
    batch_size: int = 1024,
    progress: bool = False,
) -> VerifySummary:
    """Verify the selected rollouts with each verifier; `options` maps verifier name -> its options.

    Two passes: the rollout ids (to find what is already verified), then one streaming pass over the
    completions in batches of `batch_size`, so memory stays flat however many rollouts are selected."""
    if not verifiers:
        raise ConfigError("name at least one verifier, e.g. --verifier math,format.r1zero")
    fns = {name: get_verifier(name) for name in verifiers}  # fail on a bad name before any work
    options = options or {}
    ids = store.sql(*_selection_sql("r.rollout_id", run_id, where))["rollout_id"].to_list()
    run = start_run(
        store,
        "verify",
        config={
            "verifiers": verifiers,
            "run": run_id,
            "where": where,
            "options": options,
            "batch_size": batch_size,
        },
    )
    summary = VerifySummary(run, candidates=len(ids))
    started = time.perf_counter()
    plans = [_plan(store, name, fns[name], options.get(name, {}), ids) for name in verifiers]
    try:
        if any(p.todo for p in plans):
            _stream(store, plans, run, _selection_sql(_COLUMNS, run_id, where), batch_size, progress)
    except BaseException as exc:
        _summarise(summary, plans, started)
        finish_run(
            store,
            run,
            status="interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
            summary=summary.to_dict(),
            error=f"{type(exc).__name__}: {exc}"[:1000],
        )
        raise
    _summarise(summary, plans, started)
    finish_run(store, run, summary=summary.to_dict())
    return summary


def _summarise(summary: VerifySummary, plans: list[_Plan], started: float) -> None:
    summary.seconds = time.perf_counter() - started
    summary.per_verifier = {
        p.name: {
            "stored_as": p.stored,
            "version": p.version,
            "verified": sum(p.counts.values()),
            "skipped_existing": p.skipped,
            "counts": dict(p.counts),
        }
        for p in plans
    }


def _plan(store, name: str, fn, opts: dict, ids: list[str]) -> _Plan:
    stored, version = stored_name(name, opts), verifier_version(name)
    if version is not None:
        done_ids = store.existing_ids("rewards", [reward_id(r, stored, version) for r in ids])
        todo = {r for r in ids if reward_id(r, stored, version) not in done_ids}
    else:  # the verifier does not declare its version: skip rollouts with any row from it
        seen = (
            set(
                store.sql("SELECT DISTINCT rollout_id FROM rewards WHERE verifier = ?", [stored])[
                    "rollout_id"
                ].to_list()
            )
            if store.count("rewards")
            else set()
        )
        todo = {r for r in ids if r not in seen}
    return _Plan(name, fn, opts, stored, version, todo, len(ids) - len(todo))


def _stream(
    store, plans: list[_Plan], run: str, query: tuple[str, list | None], batch_size: int, progress: bool
) -> None:
    bar = _bar(sum(len(p.todo) for p in plans), progress)
    with store.reader() as con:
        rel = con.sql(query[0], params=query[1]) if query[1] else con.sql(query[0])
        reader = rel.to_arrow_reader(batch_size)
        for batch in reader:
            records = batch.to_pylist()
            for plan in plans:
                mine = [r for r in records if r["rollout_id"] in plan.todo]
                if mine:
                    _verify_batch(store, plan, mine, run)
                    if bar:
                        bar.update(len(mine))
    if bar:
        bar.close()


def _verify_batch(store, plan: _Plan, records: list[dict], run: str) -> None:
    try:
        verdicts = list(
            plan.fn([r["completion"] for r in records], [_reference(r) for r in records], **plan.options)
        )
    except Exception as exc:
        raise VerifierError(
            f"verifier {plan.name!r} failed on a batch of {len(records)} rollouts: "
            f"{type(exc).__name__}: {exc}. Rows verified so far are kept; fix the cause "
            "and re-run the same command to resume"
        ) from exc
    if len(verdicts) != len(records):
        raise VerifierError(
            f"verifier {plan.name!r} returned {len(verdicts)} verdicts for {len(records)} rollouts"
        )
    _check_identity(plan.name, verdicts, plan.stored, plan.version)
    store.append("rewards", _reward_rows(records, verdicts, run))
    plan.counts.update(v.status for v in verdicts)


def _reference(record: dict) -> dict:
    ref = {k: v for k, v in record.items() if k != "completion"}
    ref["verifier"] = ref.pop("prompt_verifier", None)
    return ref


def _reward_rows(records: list[dict], verdicts: list, run: str) -> list[dict]:
    now = dt.datetime.now(dt.UTC)
    return [
        {
            "reward_id": reward_id(r["rollout_id"], v.verifier, v.version),
            "rollout_id": r["rollout_id"],
            "run_id": run,
            **v.to_row(),
            "created_at": now,
        }
        for r, v in zip(records, verdicts)
    ]


def _check_identity(name: str, verdicts: list, stored: str, version: str | None) -> None:
    odd = {(v.verifier, v.version) for v in verdicts} - {(stored, version)}
    if version is not None and odd:
        log.warning(
            "verifier %r stamped %s on its verdicts but declares (%s, %s): resuming will not "
            "recognise these rows",
            name,
            sorted(odd),
            stored,
            version,
        )


def _bar(total: int, enabled: bool):
    if not enabled or not total:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="verify", unit="verdict")
