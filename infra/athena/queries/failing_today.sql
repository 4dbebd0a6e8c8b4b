-- Which task definitions fail now, those something runs first (most
-- running tasks first), then newest registrations: the posture
-- (ecsaudit_posture_task_definitions), so a target's newest scan under the
-- nightly's semantics, whatever ran since. in_use is NULL where the scan
-- could not read what runs. A stale target's task
-- definitions are STALE, not listed here: see not_scanned.sql.
SELECT
  p.scan_dt,
  p.account_id,
  p.account_name,
  p.ou_names,
  p.region,
  p.family,
  p.revision,
  p.registered_at,
  p.failing_containers,
  p.in_use,
  p.services,
  p.running_tasks,
  p.task_definition_arn,
  p.rule_id
FROM ecsaudit_posture_task_definitions p
WHERE p.state = 'FAIL'
ORDER BY p.in_use DESC NULLS LAST, p.running_tasks DESC, p.registered_at DESC NULLS LAST, p.task_definition_arn, p.rule_id;
