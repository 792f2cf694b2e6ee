WITH RECURSIVE scope(run_id) AS (
    SELECT run_id FROM runs WHERE run_id = 'pipeline-tiny-405369340742-b1b85c'
    UNION ALL
    SELECT r.run_id FROM runs r JOIN scope s ON r.parent_run_id = s.run_id),
models AS (
    SELECT json_extract_string(summary, '$.model') AS model, name AS stage, started_at
    FROM runs WHERE kind LIKE 'pipeline.%' AND run_id IN (SELECT run_id FROM scope)
      AND json_extract_string(summary, '$.model') IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY model ORDER BY started_at) = 1)
SELECT coalesce(m.stage, l.model) AS model, l.benchmark,
       CAST(split_part(l.metric, '@', 2) AS INTEGER) AS k, l.value
FROM leaderboard l LEFT JOIN models m USING (model)
WHERE l.run_id IN (SELECT run_id FROM scope) AND l.metric LIKE 'pass@%'
ORDER BY l.benchmark, model, k;
