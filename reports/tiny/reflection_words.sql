WITH RECURSIVE scope(run_id) AS (
    SELECT run_id FROM runs WHERE run_id = 'pipeline-tiny-405369340742-b1b85c'
    UNION ALL
    SELECT r.run_id FROM runs r JOIN scope s ON r.parent_run_id = s.run_id)
SELECT coalesce(ru.name, w.run_id) AS run, w.step, w.n_rollouts, w.reflection_share
FROM reflection_words_by_step w JOIN runs ru USING (run_id)
WHERE w.run_id IN (SELECT run_id FROM scope) AND ru.kind = 'grpo'
ORDER BY run, w.step;
