WITH RECURSIVE scope(run_id) AS (
    SELECT run_id FROM runs WHERE run_id = 'pipeline-tiny-405369340742-b1b85c'
    UNION ALL
    SELECT r.run_id FROM runs r JOIN scope s ON r.parent_run_id = s.run_id)
SELECT coalesce(ru.name, m.run_id) AS run, m.step,
       regexp_extract(m.name, '^rewards/(.*)/mean$', 1) AS component, m.value
FROM train_metrics m JOIN runs ru USING (run_id)
WHERE m.run_id IN (SELECT run_id FROM scope) AND m.name LIKE 'rewards/%/mean'
  AND m.name NOT LIKE '%/infra_failures%'
ORDER BY run, component, m.step;
