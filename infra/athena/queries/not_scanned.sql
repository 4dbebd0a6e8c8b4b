-- What the posture cannot vouch for now, and why, grouped by account and
-- gap: stale targets, targets never scanned, targets the newest posture
-- run could not scan, and accounts it could not reach ("(account)").
SELECT
  g.account_id,
  g.account_name,
  g.ou_names,
  g.gap,
  coalesce(g.attempt_status, '') AS attempt_status,
  coalesce(g.error_code, '') AS error_code,
  count(*) AS targets,
  array_join(array_sort(array_agg(
    CASE WHEN g.region = '' THEN '(account)' ELSE g.region END)), ',') AS regions,
  min(g.error_message) AS example_error
FROM ecsaudit_coverage_gaps g
GROUP BY g.account_id, g.account_name, g.ou_names, g.gap, coalesce(g.attempt_status, ''), coalesce(g.error_code, '')
ORDER BY g.account_id, g.gap, error_code;
