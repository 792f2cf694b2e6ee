"""`rewards` rows: the one reward-id rule and the one row builder (verify, evaluation, GRPO, importers).

reward_id = hash(rollout, verifier, version) for a rollout's first verdict at that version; a retry after
an infrastructure failure (timeout/error) is attempt n >= 1 and gets hash(rollout, verifier, version,
"attempt", n), so the new verdict is stored beside the failed one (the latest counts) instead of being
skipped as existing. Re-running any writer therefore writes the same ids: nothing doubles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from r1harness.store.ids import content_id, reward_id


def reward_row_id(
    rollout_id: str, verifier: str, version: str, attempt: int = 0, gold_version: int = 1
) -> str:
    gold = [] if gold_version in (None, 1) else ["gold", gold_version]  # a corrected gold: a new verdict
    if not attempt and not gold:
        return reward_id(rollout_id, verifier, version)
    return content_id(
        "reward", rollout_id, verifier, version, *(["attempt", attempt] if attempt else []), *gold
    )


def reward_rows(
    rollout_ids: Sequence[str],
    verdicts: Sequence,
    run_id: str | None,
    *,
    attempts: Sequence[int] | None = None,
    gold_versions: Sequence[int] | None = None,
    now: dt.datetime | None = None,
) -> list[dict]:
    """One `rewards` row per (rollout, verdict); `attempts[i]` numbers a retry (0: first verdict)."""
    if len(rollout_ids) != len(verdicts):
        raise ValueError(f"{len(rollout_ids)} rollouts but {len(verdicts)} verdicts")
    now = now or dt.datetime.now(dt.UTC)
    attempts = attempts or [0] * len(verdicts)
    golds = gold_versions or [1] * len(verdicts)
    return [
        {
            "reward_id": reward_row_id(rid, v.verifier, v.version, attempt, gold),
            "rollout_id": rid,
            "run_id": run_id,
            **v.to_row(),
            "created_at": now,
        }
        for rid, v, attempt, gold in zip(rollout_ids, verdicts, attempts, golds, strict=True)
    ]
