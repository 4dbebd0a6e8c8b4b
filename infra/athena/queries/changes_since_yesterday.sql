-- What changed since yesterday: task definitions that FAIL today and did
-- not yesterday (new_fail), and those that failed yesterday and do not now:
-- fixed when they now PASS or are NOT_APPLICABLE, unknown when they could
-- not be read today or were not seen at all (deleted, or their account or
-- region was not scanned: see not_scanned.sql).
--
-- Today is the newest day with a complete run; yesterday is the newest
-- complete day before it.
WITH days AS (
  SELECT max(dt) AS today FROM ecsaudit_latest_runs
), prev AS (
  SELECT max(r.dt) AS yesterday
  FROM ecsaudit_latest_runs r
  CROSS JOIN days
  WHERE r.dt < days.today
), t AS (
  SELECT v.*
  FROM ecsaudit_task_definition_verdicts v
  JOIN days ON v.dt = days.today
), y AS (
  SELECT v.*
  FROM ecsaudit_task_definition_verdicts v
  JOIN prev ON v.dt = prev.yesterday
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
  coalesce(t.failing_containers, y.failing_containers) AS failing_containers
FROM t
FULL OUTER JOIN y ON t.task_definition_arn = y.task_definition_arn
WHERE (t.verdict = 'FAIL' AND (y.verdict IS NULL OR y.verdict <> 'FAIL'))
   OR (y.verdict = 'FAIL' AND (t.verdict IS NULL OR t.verdict <> 'FAIL'))
ORDER BY change_kind, account_id, task_definition_arn;
