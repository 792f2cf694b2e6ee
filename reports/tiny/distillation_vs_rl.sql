WITH RECURSIVE scope(run_id) AS (
    SELECT run_id FROM runs WHERE run_id = 'pipeline-tiny-405369340742-b1b85c'
    UNION ALL
    SELECT r.run_id FROM runs r JOIN scope s ON r.parent_run_id = s.run_id),
models AS (
    SELECT json_extract_string(summary, '$.model') AS model, name AS stage, started_at
    FROM runs WHERE kind LIKE 'pipeline.%' AND run_id IN (SELECT run_id FROM scope)
      AND json_extract_string(summary, '$.model') IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY model ORDER BY started_at) = 1)
SELECT m.stage AS model, l.benchmark, l.metric, l.value, l.ci_low, l.ci_high, l.n_problems
FROM leaderboard l JOIN models m USING (model)
WHERE l.run_id IN (SELECT run_id FROM scope)
  AND m.stage IN ('student', 'distill_sft', 'distill_rl', 'final_rl')
  AND (l.metric = 'pass@1' OR l.metric LIKE 'cons@%')
ORDER BY l.benchmark, CASE m.stage WHEN 'student' THEN 0 WHEN 'distill_rl' THEN 1 WHEN 'distill_sft' THEN 2
         ELSE 3 END, l.metric;
