WITH RECURSIVE scope(run_id) AS (
    SELECT run_id FROM runs WHERE run_id = 'pipeline-tiny-405369340742-b1b85c'
    UNION ALL
    SELECT r.run_id FROM runs r JOIN scope s ON r.parent_run_id = s.run_id)
SELECT coalesce(ru.name, s.run_id) AS run, s.stage, s.step, s.n_rollouts,
       s.accuracy, s.mean_completion_tokens, s.mean_reward
FROM rollout_stats_by_step s JOIN runs ru USING (run_id)
WHERE s.run_id IN (SELECT run_id FROM scope) AND ru.kind = 'grpo'
ORDER BY run, s.stage, s.step;
