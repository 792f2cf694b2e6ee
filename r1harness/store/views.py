"""Named SQL views created on every reader connection. A plain dict: add a view by adding an entry."""

from __future__ import annotations

# Reflection words (the "aha moment" monitor): the one pattern, here and in r1harness/pipeline/miniature.py.
REFLECTION_PATTERN = "\\b(wait|re-?evaluate|re-?check|verify|let me check|hmm)\\b"

VIEWS: dict[str, str] = {
    # The one leaderboard: the latest overall eval result per (model, benchmark, benchmark version, full
    # protocol, metric). The protocol is the whole JSON stamped on the result (n, k, sampling, template,
    # verifier and its versions, seed, --limit, a rating's contests...), so results of one model under two
    # protocols are two rows and neither hides the other. `protocol_id` names the protocol in tables;
    # `run_ids` lists every run that produced this key (`run_id` is the latest), so a report scoped to a
    # run keeps its rows when another run later evaluates the same model the same way:
    # `WHERE list_has_any(run_ids, ['<run>', ...])`. Read from Python with r1harness.evals.leaderboard.
    "leaderboard": """
        SELECT model, benchmark, benchmark_version, left(md5(coalesce(CAST(protocol AS VARCHAR), '')), 8)
                   AS protocol_id,
               metric, value, ci_low, ci_high, n_problems, n_samples, protocol, run_id, created_at,
               list(run_id) OVER key AS run_ids
        FROM eval_results
        WHERE breakdown IS NULL
        WINDOW key AS (PARTITION BY model, benchmark, benchmark_version, CAST(protocol AS VARCHAR), metric)
        QUALIFY row_number() OVER (key ORDER BY created_at DESC, result_id DESC) = 1
    """,
    # R1-Zero's curves: accuracy and response length per training step, from the rollouts themselves.
    # stage 'grpo' = the training rollouts of that step; 'eval' = held-out prompts scored at that step.
    "rollout_stats_by_step": """
        SELECT r.run_id, r.stage, r.step,
               count(*) AS n_rollouts,
               avg(w.score) AS accuracy,
               avg(r.completion_tokens) AS mean_completion_tokens,
               avg(r.reward) AS mean_reward
        FROM rollouts r
        LEFT JOIN (SELECT rollout_id, any_value(score) AS score FROM rewards
                   WHERE verifier IN ('math', 'accuracy', 'countdown') GROUP BY rollout_id) w
             USING (rollout_id)
        WHERE r.step IS NOT NULL
        GROUP BY r.run_id, r.stage, r.step
    """,
    # Held-out evaluation during training (stage 'eval', written by r1harness.train): mean score per
    # verifier, step and decoding (greedy vs sampled), with response length. R1-Zero's held-out curves.
    "eval_scores_by_step": """
        SELECT r.run_id, r.step,
               CASE WHEN json_extract_string(r.sampling, '$.greedy') = 'true' THEN 'greedy' ELSE 'sampled' END
                   AS decoding,
               w.verifier, count(*) AS n, avg(w.score) AS mean_score,
               count(*) FILTER (WHERE w.score IS NULL) AS infra_failures,
               avg(r.completion_tokens) AS mean_completion_tokens
        FROM rollouts r JOIN rewards w USING (rollout_id)
        WHERE r.stage = 'eval' AND r.step IS NOT NULL
        GROUP BY ALL
    """,
    # Share of completions using reflection words per step: the "aha moment" monitor.
    "reflection_words_by_step": """
        SELECT run_id, step, count(*) AS n_rollouts,
               avg(CASE WHEN regexp_matches(lower(completion), '"""
    + REFLECTION_PATTERN
    + """') THEN 1 ELSE 0 END)
                   AS reflection_share
        FROM rollouts WHERE step IS NOT NULL GROUP BY run_id, step
    """,
    # Samples of sets whose build finished (status 'ready'): what SFT and export read. Samples of a
    # building, failed or killed build stay invisible here (see r1harness/curate/sets.py).
    "ready_sft_samples": """
        SELECT s.* FROM sft_samples s
        JOIN sets t ON t.name = s.set_name AND t.version = s.set_version AND t.status = 'ready'
    """,
}

# --- evaluation views (r1harness/evals) -------------------------------------------------------------
# pass@1 and unbiased pass@k straight from rollouts + rewards, per problem and per (model, dataset,
# template, sampling, verifier). Infrastructure failures (timeout/error) are left out of n, never counted
# wrong; the latest reward per (rollout, verifier) counts. pass@k uses the product form of Chen et al.:
# 1 - prod_{i=n-c+1}^{n} (1 - k/i). cons@k needs math-verify equivalence classes, so it is computed in
# Python (r1harness/evals/aggregate.py) and read from eval_results, not recomputed here.
VIEWS["eval_problem_stats"] = """
    WITH latest AS (
        SELECT rollout_id, verifier, status FROM rewards
        QUALIFY row_number() OVER (PARTITION BY rollout_id, verifier ORDER BY created_at DESC) = 1)
    SELECT r.model, p.dataset, r.template, r.sampling, l.verifier, r.prompt_id,
           count(*)::BIGINT AS n, sum(CASE WHEN l.status = 'correct' THEN 1 ELSE 0 END)::BIGINT AS c,
           avg(CASE WHEN l.status = 'correct' THEN 1.0 ELSE 0.0 END) AS pass_at_1
    FROM rollouts r
    JOIN latest l USING (rollout_id)
    JOIN prompts p USING (prompt_id)
    WHERE l.status NOT IN ('timeout', 'error')
    GROUP BY ALL
"""


def _pass_at_k_sql(k: int) -> str:
    """Per-problem unbiased pass@k as SQL over integer columns n, c (NULL when n < k)."""
    return (
        f"CASE WHEN n < {k} THEN NULL WHEN c = 0 THEN 0.0 WHEN n - c < {k} THEN 1.0 ELSE 1.0 - list_product("
        f"list_transform(range(n - c + 1, n + 1), lambda i: 1.0 - {k}.0 / i)) END"
    )


VIEWS["eval_pass_at_k"] = f"""
    SELECT model, dataset, template, sampling, verifier,
           count(*) AS n_problems, sum(n) AS n_samples, min(n) AS min_n,
           avg(pass_at_1) AS pass_at_1,
           avg({_pass_at_k_sql(4)}) AS pass_at_4,
           avg({_pass_at_k_sql(16)}) AS pass_at_16,
           avg({_pass_at_k_sql(64)}) AS pass_at_64
    FROM eval_problem_stats
    GROUP BY ALL
"""

# What a verifier change did (r1h verify --reverify): each rollout's effective verdict (its latest row) at
# each version of a verifier, paired with its verdict at the version graded just before, counted per
# dataset, verifier and version pair. Unchanged pairs are counted too (changed = false), so the counts of
# one pair add up to the rollouts re-graded.
VIEWS["verdict_changes"] = """
    WITH per_version AS (
        SELECT rollout_id, verifier, verifier_version,
               arg_max(status, created_at) AS status, min(created_at) AS first_at
        FROM rewards GROUP BY ALL),
    paired AS (
        SELECT rollout_id, verifier,
               lag(verifier_version) OVER w AS old_version, verifier_version AS new_version,
               lag(status) OVER w AS old_status, status AS new_status
        FROM per_version
        WINDOW w AS (PARTITION BY rollout_id, verifier ORDER BY first_at, verifier_version))
    SELECT p.dataset, c.verifier, c.old_version, c.new_version, c.old_status, c.new_status,
           c.old_status <> c.new_status AS changed, count(*)::BIGINT AS n
    FROM paired c
    JOIN rollouts r USING (rollout_id)
    LEFT JOIN prompts p USING (prompt_id)
    WHERE c.old_version IS NOT NULL
    GROUP BY ALL
"""

# Imported rollouts (stage 'import', r1harness/importers): the source's own verdict (version 'imported',
# verifier SOURCE.SCORE) beside r1harness's latest verdict from its correctness verifiers, per rollout,
# and whether the two disagree on "correct". A dataset's "correct" labels that math-verify rejects show
# here as imported_status = 'correct', verified_status = 'wrong'.
VIEWS["imported_vs_verified"] = """
    WITH imported AS (
        SELECT rollout_id, verifier AS imported_verifier, arg_max(status, created_at) AS imported_status
        FROM rewards WHERE verifier_version = 'imported' GROUP BY ALL),
    verified AS (
        SELECT rollout_id, verifier, arg_max(verifier_version, created_at) AS verifier_version,
               arg_max(status, created_at) AS verified_status
        FROM rewards WHERE verifier_version <> 'imported' AND verifier IN ('math', 'code', 'countdown')
        GROUP BY ALL)
    SELECT r.run_id, r.rollout_id, r.prompt_id, p.dataset, i.imported_verifier, i.imported_status,
           v.verifier, v.verifier_version, v.verified_status,
           (i.imported_status = 'correct') <> (v.verified_status = 'correct') AS disagree
    FROM rollouts r
    JOIN imported i USING (rollout_id)
    JOIN verified v USING (rollout_id)
    LEFT JOIN prompts p USING (prompt_id)
    WHERE r.stage = 'import'
"""
