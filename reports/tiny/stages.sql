WITH RECURSIVE scope(run_id) AS (
    SELECT run_id FROM runs WHERE run_id = 'pipeline-tiny-405369340742-b1b85c'
    UNION ALL
    SELECT r.run_id FROM runs r JOIN scope s ON r.parent_run_id = s.run_id)
SELECT name AS stage, status, started_at, finished_at,
       round(date_diff('millisecond', started_at, finished_at) / 1000.0, 1) AS seconds,
       CAST(json_extract(summary, '$.cpu_seconds') AS DOUBLE) AS cpu_seconds
FROM runs WHERE run_id IN (SELECT run_id FROM scope) AND kind LIKE 'pipeline.%'
  AND kind <> 'pipeline.report'
ORDER BY started_at;
