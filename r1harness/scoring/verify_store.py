"""The API behind `r1h verify`: verify rollouts in the store and append `rewards` rows, as a `verify` run.

Resumable: rollouts that already have a verdict from the verifier at its current version are skipped,
infrastructure failures are retried (pending.py), and each batch is appended atomically.
`reverify=True` re-grades only rollouts whose verdict came from another (older) version of the verifier;
the `verdict_changes` view then shows old -> new verdict counts per dataset and verifier.
"""

from __future__ import annotations

from r1harness.errors import ConfigError
from r1harness.scoring.pending import Selection, stale_verifiers
from r1harness.scoring.score import ScoreSummary, score_rollouts
from r1harness.scoring.scorer import Scorer
from r1harness.store.runs import recorded_run
from r1harness.verify.registry import VERIFIERS

VerifySummary = ScoreSummary


def select_rollouts(store, *, run_id: str | None = None, where: str | None = None):
    """Rollouts joined with their prompts (aliases r and p usable in `where`) as a polars DataFrame."""
    from r1harness.scoring.pending import ROLLOUT_COLUMNS

    return store.sql(*Selection(run_id, where).sql(ROLLOUT_COLUMNS))


def verify_store(
    store,
    verifiers: list[str] | None,
    *,
    run_id: str | None = None,
    where: str | None = None,
    options: dict[str, dict] | None = None,
    batch_size: int = 1024,
    progress: bool = False,
    reverify: bool = False,
) -> VerifySummary:
    """Verify the selected rollouts with each verifier; `options` maps verifier name -> its options.
    With `reverify` and no verifiers: every registered verifier that has verdicts at an older version."""
    options = options or {}
    if reverify and not verifiers:
        verifiers = stale_registered(store)
        if not verifiers:
            raise ConfigError("--reverify: no verdict in the store comes from an older verifier version")
    if not verifiers:
        raise ConfigError("name at least one verifier, e.g. --verifier math,format.r1zero")
    scorers = [Scorer.resolve(name, options.get(name)) for name in verifiers]  # bad names fail now
    if reverify:
        undeclared = [s.name for s in scorers if s.version is None]
        if undeclared:
            raise ConfigError(f"--reverify needs verifiers that declare a version; {undeclared} do not")
    config = {
        "verifiers": verifiers,
        "run": run_id,
        "where": where,
        "options": options,
        "batch_size": batch_size,
        "reverify": reverify,
    }
    with recorded_run(store, "verify", config=config) as run:
        summary = ScoreSummary(run.run_id)
        try:
            score_rollouts(
                store,
                scorers,
                Selection(run_id, where),
                run_id=run.run_id,
                batch_size=batch_size,
                progress=progress,
                stale_only=reverify,
                summary=summary,
            )
        finally:  # a failed or interrupted run records what it got done too
            run.summary = summary.to_dict()
    return summary


def stale_registered(store) -> list[str]:
    """Registered verifiers, by the name they store, with verdicts at a version other than today's."""
    current = {}
    for name in VERIFIERS:
        try:
            scorer = Scorer.resolve(name)
        except ConfigError:  # a verifier whose dependencies are missing here has nothing to re-grade with
            continue
        if scorer.stored == name:
            current[name] = scorer.version
    return stale_verifiers(store, current)


def verdict_changes(store, summary: VerifySummary):
    """The `verdict_changes` rows into the versions this run graded with (old -> new, per dataset)."""
    keys = [f"{v['stored_as']}\x1f{v['version']}" for v in summary.per_verifier.values()]
    return store.sql(
        "SELECT * FROM verdict_changes WHERE verifier || chr(31) || new_version IN "
        "(SELECT unnest(?::VARCHAR[])) "
        "ORDER BY verifier, dataset, old_version, changed DESC, n DESC, old_status, new_status",
        [keys],
    )
