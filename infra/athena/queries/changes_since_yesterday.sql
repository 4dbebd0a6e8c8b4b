-- What changed in the posture since yesterday: task definitions that FAIL
-- today and did not yesterday (new_fail), and those that failed yesterday
-- and do not now: fixed when they now PASS or are NOT_APPLICABLE, unknown
-- when their target is stale or not scanned today, or they were not seen
-- at all (deleted, or their account left: see not_scanned.sql).
--
-- Today and yesterday are the two newest posture days
-- (ecsaudit_posture_days); each is the posture as of that day, so runs of
-- other scopes or semantics on either day change nothing. Each rule's
-- changes are its own (rule_id).
WITH days AS (
  SELECT max(dt) AS today FROM ecsaudit_posture_days
), prev AS (
  SELECT max(d.dt) AS yesterday
  FROM ecsaudit_posture_days d
  CROSS JOIN days
  WHERE d.dt < days.today
), posture AS (
  SELECT
    h.dt, h.rule_id, h.account_id, h.account_name, h.region, v.task_definition_arn, v.failing_containers,
    CASE WHEN h.state IN ('STALE', 'NOT_SCANNED') THEN h.state ELSE v.verdict END AS verdict
  FROM ecsaudit_posture_history h
  JOIN ecsaudit_run_verdicts v ON v.run_id = h.scan_run_id AND v.rule_id = h.rule_id AND v.account_id = h.account_id AND v.region = h.region
), t AS (
  SELECT p.* FROM posture p JOIN days ON p.dt = days.today
), y AS (
  SELECT p.* FROM posture p JOIN prev ON p.dt = prev.yesterday
)
SELECT
  CASE
    WHEN t.verdict = 'FAIL' THEN 'new_fail'
    WHEN t.verdict IN ('PASS', 'NOT_APPLICABLE') THEN 'fixed'
    ELSE 'unknown'
  END                                                  AS change_kind,
  coalesce(t.account_id, y.account_id)                 AS account_id,
  coalesce(t.account_name, y.account_name)             AS account_name,
  coalesce(t.region, y.region)                         AS region,
  coalesce(t.task_definition_arn, y.task_definition_arn) AS task_definition_arn,
  y.verdict                                            AS verdict_yesterday,
  t.verdict                                            AS verdict_today,
  coalesce(t.failing_containers, y.failing_containers) AS failing_containers,
  coalesce(t.rule_id, y.rule_id)                       AS rule_id
FROM t
FULL OUTER JOIN y ON t.task_definition_arn = y.task_definition_arn AND t.rule_id = y.rule_id
WHERE (t.verdict = 'FAIL' AND (y.verdict IS NULL OR y.verdict <> 'FAIL'))
   OR (y.verdict = 'FAIL' AND (t.verdict IS NULL OR t.verdict <> 'FAIL'))
ORDER BY change_kind, account_id, task_definition_arn, rule_id;
