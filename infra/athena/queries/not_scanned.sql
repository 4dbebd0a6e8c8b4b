-- Which accounts were not scanned, and why: every target of the newest
-- day's complete run that was not scanned, grouped by account and cause.
-- "(account)" stands for an account that failed before its regions were
-- known (a role that could not be assumed, say).
SELECT
  c.account_id,
  c.account_name,
  c.ou_names,
  c.status,
  c.error_code,
  count(*) AS targets,
  array_join(array_sort(array_agg(
    CASE WHEN c.region = '' THEN '(account)' ELSE c.region END)), ',') AS regions,
  min(c.error_message) AS example_error
FROM ecsaudit_coverage c
WHERE NOT c.scanned
  AND c.dt = (SELECT max(dt) FROM ecsaudit_latest_runs)
GROUP BY c.account_id, c.account_name, c.ou_names, c.status, c.error_code
ORDER BY c.account_id, c.status, c.error_code;
