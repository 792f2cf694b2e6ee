"""Named SQL views created on every reader connection. A plain dict: add a view by adding an entry."""

from __future__ import annotations

VIEWS: dict[str, str] = {
    # Latest eval result per (model, benchmark, benchmark version, metric, breakdown).
    "leaderboard": """
        SELECT model, benchmark, benchmark_version, metric, value, ci_low, ci_high,
               n_problems, n_samples, protocol, run_id, created_at
        FROM eval_results
        WHERE breakdown IS NULL
        QUALIFY row_number() OVER (
            PARTITION BY model, benchmark, benchmark_version, metric ORDER BY created_at DESC) = 1
    """,
    # R1-Zero's curves: accuracy and response length per training step, from the rollouts themselves.
    "rollout_stats_by_step": """
        SELECT r.run_id, r.step,
               count(*) AS n_rollouts,
               avg(w.score) AS accuracy,
               avg(r.completion_tokens) AS mean_completion_tokens,
               avg(r.reward) AS mean_reward
        FROM rollouts r
        LEFT JOIN (SELECT rollout_id, any_value(score) AS score FROM rewards
                   WHERE verifier IN ('math', 'accuracy') GROUP BY rollout_id) w USING (rollout_id)
        WHERE r.step IS NOT NULL
        GROUP BY r.run_id, r.step
    """,
    # Share of completions using reflection words per step: the "aha moment" monitor.
    "reflection_words_by_step": """
        SELECT run_id, step, count(*) AS n_rollouts,
               avg(CASE WHEN regexp_matches(lower(completion),
                   '\\b(wait|re-?evaluate|re-?check|verify|let me check|hmm)\\b') THEN 1 ELSE 0 END)
                   AS reflection_share
        FROM rollouts WHERE step IS NOT NULL GROUP BY run_id, step
    """,
}
