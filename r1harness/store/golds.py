"""Corrected gold answers: a stored prompt's gold is never rewritten in place; a correction is a new
version of it, with lineage (`gold_corrections`: prompt, version, the new and previous gold, the ingest run
and the file line it came from). Every reader sees the latest version through the `prompts` view, which
overlays the corrections on the stored rows (`prompts_stored`) and adds `gold_version` (1 = as first
ingested). Verdicts graded against an older gold are re-graded by `r1h verify --reverify`.
"""

from __future__ import annotations

STORED_PROMPTS = "prompts_stored"

PROMPTS_VIEW = f"""
    SELECT s.* REPLACE (
               CASE WHEN g.prompt_id IS NULL THEN s.answer ELSE g.answer END AS answer,
               CASE WHEN g.prompt_id IS NULL THEN s.tests ELSE g.tests END AS tests),
           coalesce(g.version, 1) AS gold_version
    FROM {STORED_PROMPTS} s
    LEFT JOIN (SELECT prompt_id, version, answer, tests FROM gold_corrections
               QUALIFY row_number() OVER (PARTITION BY prompt_id ORDER BY version DESC) = 1) g
           USING (prompt_id)
"""


def next_versions(store, prompt_ids: list[str]) -> dict[str, int]:
    """The version a new correction of each prompt gets (2 for a prompt never corrected)."""
    rows = store.sql(
        "SELECT prompt_id, max(version) AS v FROM gold_corrections "
        "WHERE list_contains(?, prompt_id) GROUP BY 1",
        [sorted(set(prompt_ids))],
    )
    latest = dict(zip(rows["prompt_id"].to_list(), rows["v"].to_list(), strict=True))
    return {pid: latest.get(pid, 1) + 1 for pid in prompt_ids}
