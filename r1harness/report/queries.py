"""The SQL behind every figure and table of a report: one query per section, runnable as is with `r1h sql`.

Each query starts with a `scope` CTE naming the runs the report covers: one pipeline run and every run below
it (`runs.parent_run_id`, recursively), or every run in the store. The report shows each query verbatim next
to its figure and writes it to `<name>.sql`, so a user can rerun it and get the same numbers.
"""

from __future__ import annotations

from r1harness.errors import ConfigError


def scope_cte(run_id: str | None) -> str:
    """`WITH RECURSIVE scope(run_id)`: the run and its descendants, or every run when `run_id` is None."""
    if run_id is None:
        return "WITH RECURSIVE scope(run_id) AS (SELECT run_id FROM runs)"
    if "'" in run_id:
        raise ConfigError(f"run id {run_id!r} contains a quote; run ids are letters, digits, - and _")
    return (
        f"WITH RECURSIVE scope(run_id) AS (\n"
        f"    SELECT run_id FROM runs WHERE run_id = '{run_id}'\n"
        f"    UNION ALL\n"
        f"    SELECT r.run_id FROM runs r JOIN scope s ON r.parent_run_id = s.run_id)"
    )


# The models a pipeline produced, by stage (each pipeline stage records the model it wrote in its summary).
MODELS_CTE = """models AS (
    SELECT json_extract_string(summary, '$.model') AS model, name AS stage, started_at
    FROM runs WHERE kind LIKE 'pipeline.%' AND run_id IN (SELECT run_id FROM scope)
      AND json_extract_string(summary, '$.model') IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY model ORDER BY started_at) = 1)"""

# Body of each query; `{scope}` is replaced by `scope_cte(...)`.
QUERIES: dict[str, str] = {
    # The pipeline's stages: status, wall time and CPU time (all threads) of each. The report stage is left
    # out: it writes this report while it runs, so its row could only ever say "running".
    "stages": """{scope}
SELECT name AS stage, status, started_at, finished_at,
       round(date_diff('millisecond', started_at, finished_at) / 1000.0, 1) AS seconds,
       CAST(json_extract(summary, '$.cpu_seconds') AS DOUBLE) AS cpu_seconds
FROM runs WHERE run_id IN (SELECT run_id FROM scope) AND kind LIKE 'pipeline.%'
  AND kind <> 'pipeline.report'
ORDER BY started_at""",
    # R1-Zero's Figures 2-3: accuracy and mean response length per training step, from the rollouts.
    "training_curves": """{scope}
SELECT coalesce(ru.name, s.run_id) AS run, s.stage, s.step, s.n_rollouts,
       s.accuracy, s.mean_completion_tokens, s.mean_reward
FROM rollout_stats_by_step s JOIN runs ru USING (run_id)
WHERE s.run_id IN (SELECT run_id FROM scope) AND ru.kind = 'grpo'
ORDER BY run, s.stage, s.step""",
    # Mean of each reward component per step, as TRL logged it (train_metrics rewards/<name>/mean).
    "reward_components": """{scope}
SELECT coalesce(ru.name, m.run_id) AS run, m.step,
       regexp_extract(m.name, '^rewards/(.*)/mean$', 1) AS component, m.value
FROM train_metrics m JOIN runs ru USING (run_id)
WHERE m.run_id IN (SELECT run_id FROM scope) AND m.name LIKE 'rewards/%/mean'
  AND m.name NOT LIKE '%/infra_failures%'
ORDER BY run, component, m.step""",
    # The "aha moment" monitor: share of training completions using reflection words, per step.
    "reflection_words": """{scope}
SELECT coalesce(ru.name, w.run_id) AS run, w.step, w.n_rollouts, w.reflection_share
FROM reflection_words_by_step w JOIN runs ru USING (run_id)
WHERE w.run_id IN (SELECT run_id FROM scope) AND ru.kind = 'grpo'
ORDER BY run, w.step""",
    # pass@1, cons@k and cons_gain@k (cons@k - pass@1, paired per problem) per model, benchmark and protocol,
    # with bootstrap CIs: the rows of the store's one `leaderboard` view whose key a run in scope produced
    # (so a later evaluation of the same model elsewhere does not take a pipeline's row away).
    "leaderboard": """{scope},
"""
    + MODELS_CTE
    + """
SELECT coalesce(m.stage, l.model) AS model, l.benchmark, l.protocol_id, l.metric, l.value, l.ci_low,
       l.ci_high, l.n_problems, l.n_samples
FROM leaderboard l LEFT JOIN models m USING (model)
WHERE list_has_any(l.run_ids, (SELECT list(run_id) FROM scope))
  AND (l.metric = 'pass@1' OR starts_with(l.metric, 'cons@') OR starts_with(l.metric, 'cons_gain@'))
ORDER BY l.benchmark, l.protocol_id, coalesce(m.started_at, TIMESTAMPTZ '2100-01-01'), model, l.metric""",
    # Unbiased pass@k for every k each benchmark was run with.
    "pass_at_k": """{scope},
"""
    + MODELS_CTE
    + """
SELECT coalesce(m.stage, l.model) AS model, l.benchmark, l.protocol_id,
       CAST(split_part(l.metric, '@', 2) AS INTEGER) AS k, l.value
FROM leaderboard l LEFT JOIN models m USING (model)
WHERE list_has_any(l.run_ids, (SELECT list(run_id) FROM scope)) AND l.metric LIKE 'pass@%'
ORDER BY l.benchmark, l.protocol_id, model, k""",
    # Rows in and out of every curation stage (summed over domains), from the funnel stored with each set.
    "curation_funnel": """{scope}
SELECT s.name || '@v' || s.version AS set_ref, min(u.position) AS position, u.f.stage AS stage,
       sum(u.f.rows_in) AS rows_in, sum(u.f.rows_out) AS rows_out
FROM sets s, LATERAL (
    SELECT unnest(generate_series(1, json_array_length(s.funnel -> '$.stages')::BIGINT)) AS position,
           unnest(from_json(s.funnel -> '$.stages',
                  '[{"stage": "VARCHAR", "domain": "VARCHAR",
                     "rows_in": "BIGINT", "rows_out": "BIGINT"}]')) AS f
) u
WHERE s.run_id IN (SELECT run_id FROM scope) AND s.status = 'ready'
GROUP BY set_ref, u.f.stage
ORDER BY set_ref, position""",
    # The paper's distillation-vs-RL table: the student before training, after SFT on the teacher's set,
    # and after GRPO for the same number of steps; the teacher for reference.
    "distillation_vs_rl": """{scope},
"""
    + MODELS_CTE
    + """
SELECT m.stage AS model, l.benchmark, l.protocol_id, l.metric, l.value, l.ci_low, l.ci_high, l.n_problems
FROM leaderboard l JOIN models m USING (model)
WHERE list_has_any(l.run_ids, (SELECT list(run_id) FROM scope))
  AND m.stage IN ('student', 'distill_sft', 'distill_rl', 'final_rl')
  AND (l.metric = 'pass@1' OR l.metric LIKE 'cons@%')
ORDER BY l.benchmark, l.protocol_id,
         CASE m.stage WHEN 'student' THEN 0 WHEN 'distill_rl' THEN 1 WHEN 'distill_sft' THEN 2 ELSE 3 END,
         l.metric""",
}


def query(name: str, run_id: str | None) -> str:
    """The full SQL of section `name` for this scope."""
    if name not in QUERIES:
        raise ConfigError(f"no report query {name!r}; queries: {sorted(QUERIES)}")
    return QUERIES[name].replace("{scope}", scope_cte(run_id))
