-- Views over ecsaudit's tables, for people and for QuickSight.
--
-- Every view reads only complete runs: a run is visible when its runs row
-- (every shard's, for a sharded run) says 'complete' or 'partial' — both
-- finished and committed; 'partial' means some targets could not be
-- scanned, and ecsaudit_coverage says which and why. A run that crashed
-- before committing has no runs row and is invisible; one whose runs row
-- says 'interrupted' or 'failed' is invisible too (the runs table itself
-- still lists it).
-- ecsaudit_attempts and ecsaudit_complete_runs alone decide what counts, and
-- every other view reaches findings and coverage through them.
--
-- Where a dt holds several complete runs (a rerun), the newest one, by
-- started_at, stands for that day.
--
-- The SQL keeps to what Athena (Trino) and DuckDB share, except array_join,
-- which DuckDB spells array_to_string (see README.md). No view returns an
-- array: QuickSight drops array columns, so lists are comma-separated strings.
-- Statements are in dependency order.

-- The newest attempt of every shard of every run. A shard that was retried
-- (by AWS Batch after a SIGTERM, say) left an older attempt under the same
-- run_id and shard_index, with files of its own (attempt_id); only the
-- newest attempt counts. An unsharded run is shard 0 of 1.
CREATE OR REPLACE VIEW ecsaudit_attempts AS
SELECT
  dt, run_id, attempt_id, shard_index, shard_count, status, started_at, ended_at,
  version, rule_version, rule_options, previous_run_id,
  accounts, targets, targets_scanned, targets_not_scanned, accounts_not_scanned,
  task_definitions, task_definitions_carried, findings, fail, pass, not_applicable, errors,
  api_calls, throttled_calls
FROM (
  SELECT
    r.*,
    row_number() OVER (PARTITION BY r.run_id, r.shard_index ORDER BY r.started_at DESC, r.attempt_id DESC) AS newest
  FROM runs r
) ranked
WHERE newest = 1;

-- One row per complete run: every one of its shards' newest attempts
-- committed a runs row saying 'complete' or 'partial'; the counts add the
-- shards up. Shards that started on either side of midnight UTC sit in two
-- dt partitions; the run's dt is the first.
CREATE OR REPLACE VIEW ecsaudit_complete_runs AS
SELECT
  min(dt)                  AS dt,
  run_id,
  min(started_at)          AS started_at,
  max(ended_at)            AS ended_at,
  max(version)             AS version,
  max(rule_version)        AS rule_version,
  max(rule_options)        AS rule_options,
  max(shard_count)         AS shard_count,
  sum(accounts)            AS accounts,
  sum(targets)             AS targets,
  sum(targets_scanned)     AS targets_scanned,
  sum(targets_not_scanned) AS targets_not_scanned,
  sum(accounts_not_scanned) AS accounts_not_scanned,
  sum(task_definitions)    AS task_definitions,
  sum(task_definitions_carried) AS task_definitions_carried,
  sum(findings)            AS findings,
  sum(fail)                AS fail,
  sum(pass)                AS pass,
  sum(not_applicable)      AS not_applicable,
  sum(errors)              AS errors,
  sum(api_calls)           AS api_calls,
  sum(throttled_calls)     AS throttled_calls
FROM ecsaudit_attempts
GROUP BY run_id
HAVING count_if(status NOT IN ('complete', 'partial')) = 0
   AND count(DISTINCT shard_index) = max(shard_count);

-- One row per dt: the newest complete run of that day.
CREATE OR REPLACE VIEW ecsaudit_latest_runs AS
SELECT
  dt, run_id, started_at, ended_at, version, rule_version, rule_options, shard_count,
  accounts, targets, targets_scanned, targets_not_scanned, accounts_not_scanned,
  task_definitions, task_definitions_carried, findings, fail, pass, not_applicable, errors,
  api_calls, throttled_calls
FROM (
  SELECT
    r.*,
    row_number() OVER (PARTITION BY r.dt ORDER BY r.started_at DESC, r.run_id DESC) AS newest
  FROM ecsaudit_complete_runs r
) ranked
WHERE newest = 1;

-- The findings of each day's newest complete run: one row per container
-- (or one ERROR row per task definition that could not be read). dt is the
-- run's, also for a shard whose files sit in the next day's partition.
CREATE OR REPLACE VIEW ecsaudit_latest_findings AS
SELECT
  f.run_id,
  f.attempt_id,
  f.scanned_at,
  f.account_id,
  f.account_name,
  f.ou_path,
  f.ou_names,
  f.region,
  f.task_definition_arn,
  f.family,
  f.revision,
  f.status,
  f.network_mode,
  f.registered_at,
  f.container_name,
  f.image,
  f.privileged,
  f."user",
  f.user_unset,
  f.rule_id,
  f.rule_version,
  f.result,
  f.reason,
  f.severity,
  f.carried,
  r.dt AS dt
FROM findings f
JOIN ecsaudit_attempts a ON f.attempt_id = a.attempt_id AND f.dt = a.dt
JOIN ecsaudit_latest_runs r ON a.run_id = r.run_id;

-- One row per task definition per day, with its worst verdict
-- (FAIL > ERROR > PASS > NOT_APPLICABLE) and the names of its failing
-- containers, sorted and comma-separated ('' when none fails).
CREATE OR REPLACE VIEW ecsaudit_task_definition_verdicts AS
SELECT
  dt,
  run_id,
  account_id,
  account_name,
  ou_path,
  ou_names,
  region,
  task_definition_arn,
  family,
  revision,
  status,
  network_mode,
  registered_at,
  CASE max(CASE result
             WHEN 'FAIL' THEN 4
             WHEN 'ERROR' THEN 3
             WHEN 'PASS' THEN 2
             WHEN 'NOT_APPLICABLE' THEN 1
             ELSE 0
           END)
    WHEN 4 THEN 'FAIL'
    WHEN 3 THEN 'ERROR'
    WHEN 2 THEN 'PASS'
    WHEN 1 THEN 'NOT_APPLICABLE'
  END AS verdict,
  count_if(result = 'FAIL') AS failing_container_count,
  coalesce(array_join(array_sort(array_agg(container_name) FILTER (WHERE result = 'FAIL')), ','), '') AS failing_containers
FROM ecsaudit_latest_findings
GROUP BY
  dt, run_id, account_id, account_name, ou_path, ou_names, region,
  task_definition_arn, family, revision, status, network_mode, registered_at;

-- Every (account, region) target of each day's newest complete run, scanned
-- or not, with why not. Region is '' for an account that failed before its
-- regions were known.
CREATE OR REPLACE VIEW ecsaudit_coverage AS
SELECT
  r.dt AS dt,
  c.run_id,
  c.account_id,
  c.account_name,
  c.ou_path,
  c.ou_names,
  c.region,
  c.status,
  c.status = 'scanned' AS scanned,
  c.error_code,
  c.error_message,
  c.task_definitions,
  c.findings,
  c.api_calls,
  c.throttled_calls,
  c.started_at,
  c.duration_ms
FROM coverage c
JOIN ecsaudit_attempts a ON c.attempt_id = a.attempt_id AND c.dt = a.dt
JOIN ecsaudit_latest_runs r ON a.run_id = r.run_id;

-- Task definition verdicts counted per day, account and OU. share_compliant
-- is PASS / (PASS + FAIL + ERROR): NOT_APPLICABLE task definitions (no host
-- networking) are left out, and one that could not be read is not compliant.
CREATE OR REPLACE VIEW ecsaudit_daily_trend AS
SELECT
  dt,
  account_id,
  account_name,
  ou_path,
  ou_names,
  count(*)                          AS task_definitions,
  count_if(verdict = 'FAIL')           AS fail,
  count_if(verdict = 'PASS')           AS pass,
  count_if(verdict = 'NOT_APPLICABLE') AS not_applicable,
  count_if(verdict = 'ERROR')          AS errors,
  CAST(count_if(verdict = 'PASS') AS double)
    / nullif(count_if(verdict IN ('PASS', 'FAIL', 'ERROR')), 0) AS share_compliant
FROM ecsaudit_task_definition_verdicts
GROUP BY dt, account_id, account_name, ou_path, ou_names;

-- Compliance now: one row per account of the newest day's complete run,
-- including accounts with no task definitions or with targets not scanned
-- (their counts are 0 and share_compliant is NULL).
CREATE OR REPLACE VIEW ecsaudit_account_compliance AS
WITH latest AS (
  SELECT max(dt) AS dt FROM ecsaudit_latest_runs
), accounts AS (
  SELECT
    c.dt,
    c.account_id,
    max(c.account_name)        AS account_name,
    max(c.ou_path)             AS ou_path,
    max(c.ou_names)            AS ou_names,
    count(*)                   AS targets,
    count_if(NOT c.scanned)    AS targets_not_scanned
  FROM ecsaudit_coverage c
  JOIN latest l ON c.dt = l.dt
  GROUP BY c.dt, c.account_id
)
SELECT
  a.dt,
  a.account_id,
  a.account_name,
  a.ou_path,
  a.ou_names,
  a.targets,
  a.targets_not_scanned,
  coalesce(t.task_definitions, 0) AS task_definitions,
  coalesce(t.fail, 0)             AS fail,
  coalesce(t.pass, 0)             AS pass,
  coalesce(t.not_applicable, 0)   AS not_applicable,
  coalesce(t.errors, 0)           AS errors,
  t.share_compliant
FROM accounts a
LEFT JOIN ecsaudit_daily_trend t ON t.dt = a.dt AND t.account_id = a.account_id;
