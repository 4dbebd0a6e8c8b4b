-- Which task definitions fail today, newest registrations first.
--
-- "Today" is the newest day with a complete run: today once tonight's run
-- has committed, yesterday until then.
SELECT
  v.dt,
  v.account_id,
  v.account_name,
  v.ou_names,
  v.region,
  v.family,
  v.revision,
  v.registered_at,
  v.failing_containers,
  v.task_definition_arn
FROM ecsaudit_task_definition_verdicts v
WHERE v.verdict = 'FAIL'
  AND v.dt = (SELECT max(dt) FROM ecsaudit_latest_runs)
ORDER BY v.registered_at DESC NULLS LAST, v.task_definition_arn;
