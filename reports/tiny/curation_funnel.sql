WITH RECURSIVE scope(run_id) AS (
    SELECT run_id FROM runs WHERE run_id = 'pipeline-tiny-405369340742-b1b85c'
    UNION ALL
    SELECT r.run_id FROM runs r JOIN scope s ON r.parent_run_id = s.run_id)
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
ORDER BY set_ref, position;
