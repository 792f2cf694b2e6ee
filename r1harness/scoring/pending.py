"""Which selected rollouts a verifier still has to score: the one retry rule.

A rollout is pending for (verifier, version) when it has no `rewards` row from that verifier at that
version, or when its latest such row is an infrastructure failure (timeout/error: no verdict was reached,
so a re-run tries again, as attempt n). A verifier that declares no version matches rows of any version.
With `stale_only` (r1h verify --reverify) only rollouts that already have a verdict from the same
verifier at another version are selected: re-grading after a verifier change, nothing graded for the
first time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

INFRA = ("timeout", "error")
# What a verifier's reference is built from: the rollout's prompts row and its finish reason.
ROLLOUT_COLUMNS = (
    "r.rollout_id, r.completion, r.finish_reason, r.prompt_id, p.dataset, p.split, p.domain, p.problem, "
    "p.answer, p.tests, p.metadata, p.verifier, p.gold_version"
)


@dataclass(frozen=True)
class Selection:
    """Rollouts (alias r) joined with their prompts (alias p), chosen by run, SQL condition and/or ids."""

    run_id: str | None = None
    where: str | None = None
    rollout_ids: tuple[str, ...] | None = None

    def clause(self) -> tuple[str, list]:
        clauses, params = [], []
        if self.run_id:
            clauses.append("r.run_id = ?")
            params.append(self.run_id)
        if self.where:
            clauses.append(f"({self.where})")
        if self.rollout_ids is not None:
            clauses.append("r.rollout_id IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(self.rollout_ids))
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def sql(self, columns: str) -> tuple[str, list]:
        where, params = self.clause()
        return (
            f"SELECT {columns} FROM rollouts r LEFT JOIN prompts p ON r.prompt_id = p.prompt_id{where} "
            "ORDER BY r.rollout_id",
            params,
        )


def count_selected(store, selection: Selection) -> int:
    query, params = selection.sql("count(*) AS n")
    return int(store.sql(query.removesuffix(" ORDER BY r.rollout_id"), params)["n"][0])


def pending(
    store, selection: Selection, verifier: str, version: str | None, *, stale_only: bool = False
) -> dict[str, int]:
    """rollout_id -> attempt number (0: first verdict, n: the n-th retry) for every pending rollout."""
    where, params = selection.clause()
    # stale: graded by another version of the verifier, or against a gold since corrected
    stale = (
        "AND s.rollout_id IN (SELECT w.rollout_id FROM rewards w JOIN s s2 USING (rollout_id) "
        "WHERE w.verifier = ? AND (w.verifier_version IS DISTINCT FROM ? OR w.created_at < s2.gold_at))"
        if stale_only
        else ""
    )
    # A verdict counts only if it was graded against the prompt's current gold (r1harness.store.golds)
    query = f"""
        WITH s AS (SELECT r.rollout_id, coalesce(gc.at, TIMESTAMPTZ '-infinity') AS gold_at
                   FROM rollouts r LEFT JOIN prompts p ON r.prompt_id = p.prompt_id
                   LEFT JOIN (SELECT prompt_id, max(created_at) AS at FROM gold_corrections GROUP BY 1) gc
                          ON gc.prompt_id = r.prompt_id
                   {where}),
        prior AS (
            SELECT w.rollout_id, count(*) AS attempts, arg_max(w.status, w.created_at) AS latest
            FROM rewards w JOIN s USING (rollout_id)
            WHERE w.verifier = ? AND (CAST(? AS VARCHAR) IS NULL OR w.verifier_version = ?)
              AND w.created_at >= s.gold_at
            GROUP BY w.rollout_id)
        SELECT s.rollout_id, coalesce(q.attempts, 0) AS attempts
        FROM s LEFT JOIN prior q USING (rollout_id)
        WHERE (q.rollout_id IS NULL OR q.latest IN {INFRA}) {stale}"""
    args = [*params, verifier, version, version] + ([verifier, version] if stale_only else [])
    found = store.sql(query, args)  # store.sql: a bad --where becomes a StoreError naming the SQL
    return dict(zip(found["rollout_id"].to_list(), found["attempts"].to_list()))


def stale_verifiers(store, current: dict[str, str | None]) -> list[str]:
    """Of the stored verifier names in `current` (name -> its version now), those with rows at another
    version: what `r1h verify --reverify` re-grades when no --verifier is named."""
    names: Sequence[str] = sorted(current)
    if not names:
        return []
    found = store.sql(
        "SELECT DISTINCT verifier, verifier_version FROM rewards "
        "WHERE verifier IN (SELECT unnest(?::VARCHAR[]))",
        [list(names)],
    )
    pairs = zip(found["verifier"].to_list(), found["verifier_version"].to_list())
    return sorted({name for name, version in pairs if current[name] is not None and version != current[name]})
