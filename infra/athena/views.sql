-- Views over ecsaudit's tables, for people and for QuickSight.
--
-- Two kinds of view:
--
-- * Runs (ecsaudit_run_*): what each complete run found, whatever its
--   scope or semantics: a manual run of one account, an aws-config
--   comparison run, a --revisions latest run. Filter on run_id to see one.
-- * Posture (ecsaudit_posture_*, ecsaudit_coverage_gaps): the state of the
--   organization. Each (account, region) target's state is its newest
--   complete scan under the posture's semantics (ecsaudit_settings: the
--   control with the nightly's --unset-user and the host-access rule on,
--   --revisions active). Every posture view has a rule_id column: the
--   control (ECSAUDIT.HOSTNET.1) and the host-access rule
--   (ECSAUDIT.HOSTNET.2) each have their own posture; filter on rule_id to
--   show one, or show both side by side. A
--   filtered run updates exactly the targets it scanned; a run under other
--   semantics never enters the posture; a target whose newest scan is more
--   than stale_after_days old is STALE, never passing; accounts the newest
--   complete run no longer lists (or lists as suspended or closing) drop out.
--
-- A run is complete when every shard's newest attempt committed a runs row
-- saying 'complete' or 'partial' (finished; 'partial' means some targets
-- could not be scanned), all shards balanced their plan on the same run and
-- listed the same organization, and their coverage names every account
-- listed. A run that crashed before committing has no runs row; one whose
-- row says 'interrupted' or 'failed', or whose shards disagree, is in no
-- view (the runs table itself still lists it).
--
-- The SQL keeps to what Athena (Trino) and DuckDB share, except array_join,
-- which DuckDB spells array_to_string (see README.md). No view returns an
-- array: QuickSight drops array columns, so lists are comma-separated strings.
-- Statements are in dependency order.

-- The rules a posture is kept for, with a short name for dashboards. A
-- task definition a rule gives no verdict for (the host-access rule reads
-- host networking only) is NOT_APPLICABLE under it.
CREATE OR REPLACE VIEW ecsaudit_rules AS
SELECT rule_id, rule_name FROM (VALUES
  ('ECSAUDIT.HOSTNET.1', 'control: no privileged or root container on host networking'),
  ('ECSAUDIT.HOSTNET.2', 'host access: no root-equivalent capability, pid/ipc mode host, host mount or device on host networking')
) AS r (rule_id, rule_name);

-- Views of earlier versions whose "newest run of the day" picture is
-- replaced by the posture.
DROP VIEW IF EXISTS ecsaudit_account_compliance;
DROP VIEW IF EXISTS ecsaudit_daily_trend;
DROP VIEW IF EXISTS ecsaudit_coverage;
DROP VIEW IF EXISTS ecsaudit_task_definition_verdicts;
DROP VIEW IF EXISTS ecsaudit_latest_findings;
DROP VIEW IF EXISTS ecsaudit_latest_runs;

-- The posture's settings, one row: the one place to change them.
-- posture_rule_options is the nightly's rule_options:
-- 'control,host-access=1', or 'control,unset-user=fail,host-access=1' if the
-- nightly runs with --unset-user=fail ('control' alone with
-- --host-access=false, which leaves the host-access posture empty).
-- posture_revisions is 'active'. A target whose newest scan is more than
-- stale_after_days days old (by the runs' dt) is STALE. The posture is kept
-- for the days of the last history_days (ecsaudit_posture_trend).
CREATE OR REPLACE VIEW ecsaudit_settings AS
SELECT
  'control,host-access=1' AS posture_rule_options,
  'active'  AS posture_revisions,
  3         AS stale_after_days,
  400       AS history_days;

-- The newest attempt of every shard of every run. A shard that was retried
-- (by AWS Batch after a SIGTERM, say) left an older attempt under the same
-- run_id and shard_index, with files of its own (attempt_id); only the
-- newest attempt counts. An unsharded run is shard 0 of 1.
CREATE OR REPLACE VIEW ecsaudit_attempts AS
SELECT
  dt, run_id, attempt_id, shard_index, shard_count, status, started_at, ended_at,
  version, rule_version, rule_options, previous_run_id,
  accounts_filter, exclude_accounts, ou_filter, exclude_ou, regions_filter, revisions,
  plan_run_id, org_accounts, org_digest,
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

-- One row per run whose newest attempts all committed, with whether the
-- run is complete and, when not, why (for operators: a sharded run that is
-- not complete shows here and nowhere else). The counts add the shards up.
-- Shards that started on either side of midnight UTC sit in two dt
-- partitions; the run's dt is the first. A run is under the posture's
-- semantics (posture) when its rule options and revisions are the
-- settings'; its filters do not matter.
CREATE OR REPLACE VIEW ecsaudit_run_checks AS
WITH covered AS (
  SELECT a.run_id, count(DISTINCT c.account_id) AS covered_accounts
  FROM coverage c
  JOIN ecsaudit_attempts a ON c.attempt_id = a.attempt_id AND c.dt = a.dt
  GROUP BY a.run_id
), shards AS (
  SELECT
    run_id,
    min(dt)                  AS dt,
    min(started_at)          AS started_at,
    max(ended_at)            AS ended_at,
    max(version)             AS version,
    max(rule_version)        AS rule_version,
    max(rule_options)        AS rule_options,
    max(revisions)           AS revisions,
    max(accounts_filter)     AS accounts_filter,
    max(exclude_accounts)    AS exclude_accounts,
    max(ou_filter)           AS ou_filter,
    max(exclude_ou)          AS exclude_ou,
    max(regions_filter)      AS regions_filter,
    max(shard_count)         AS shard_count,
    count(DISTINCT shard_index) AS shards_committed,
    count_if(status NOT IN ('complete', 'partial')) AS shards_unfinished,
    count(DISTINCT shard_count) AS shard_counts,
    count(DISTINCT coalesce(plan_run_id, '')) AS plan_bases,
    max(coalesce(plan_run_id, '')) AS plan_run_id,
    count(DISTINCT coalesce(org_digest, '')) AS organizations,
    max(coalesce(org_accounts, 0)) AS org_accounts,
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
), checked AS (
  SELECT
    s.*,
    coalesce(c.covered_accounts, 0) AS covered_accounts,
    CASE
      WHEN s.shards_unfinished > 0 THEN 'a shard was interrupted or failed'
      WHEN s.shard_counts > 1 THEN 'shards were started with different shard counts'
      WHEN s.shards_committed < s.shard_count THEN 'not every shard has committed'
      WHEN s.plan_bases > 1 THEN 'shards balanced their plans on different runs'
      WHEN s.organizations > 1 THEN 'shards listed different organizations'
      WHEN coalesce(c.covered_accounts, 0) < s.org_accounts THEN 'some listed accounts are in no shard''s coverage'
      ELSE ''
    END AS not_complete_because
  FROM shards s
  LEFT JOIN covered c ON c.run_id = s.run_id
)
SELECT
  k.dt, k.run_id, k.started_at, k.ended_at, k.version, k.rule_version, k.rule_options, k.revisions,
  k.accounts_filter, k.exclude_accounts, k.ou_filter, k.exclude_ou, k.regions_filter,
  k.shard_count, k.shards_committed, k.plan_run_id, k.org_accounts, k.covered_accounts,
  k.not_complete_because = '' AS complete,
  k.not_complete_because,
  k.rule_options = st.posture_rule_options AND k.revisions = st.posture_revisions AS posture,
  k.accounts, k.targets, k.targets_scanned, k.targets_not_scanned, k.accounts_not_scanned,
  k.task_definitions, k.task_definitions_carried, k.findings, k.fail, k.pass, k.not_applicable, k.errors,
  k.api_calls, k.throttled_calls
FROM checked k
CROSS JOIN ecsaudit_settings st;

-- One row per complete run: ecsaudit_run_checks' complete runs. The only
-- place the other views learn which runs count.
CREATE OR REPLACE VIEW ecsaudit_complete_runs AS
SELECT
  dt, run_id, started_at, ended_at, version, rule_version, rule_options, revisions,
  accounts_filter, exclude_accounts, ou_filter, exclude_ou, regions_filter,
  shard_count, plan_run_id, org_accounts, posture,
  accounts, targets, targets_scanned, targets_not_scanned, accounts_not_scanned,
  task_definitions, task_definitions_carried, findings, fail, pass, not_applicable, errors,
  api_calls, throttled_calls
FROM ecsaudit_run_checks
WHERE complete;

-- The findings of every complete run: one row per container (or one ERROR
-- row per task definition that could not be read). dt is the run's, also
-- for a shard whose files sit in the next day's partition.
CREATE OR REPLACE VIEW ecsaudit_run_findings AS
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
  f.in_use,
  f.services,
  f.running_tasks,
  r.dt AS dt,
  r.rule_options AS rule_options,
  r.revisions AS revisions,
  r.posture AS posture
FROM findings f
JOIN ecsaudit_attempts a ON f.attempt_id = a.attempt_id AND f.dt = a.dt
JOIN ecsaudit_complete_runs r ON a.run_id = r.run_id;

-- One row per task definition, rule and complete run, with its worst
-- verdict under the rule (FAIL > ERROR > PASS > NOT_APPLICABLE), the names
-- of its failing containers, sorted and comma-separated ('' when none
-- fails), and what ran it when the run read usage: in_use (NULL when the
-- target's usage could not be read), services with a PRIMARY or ACTIVE
-- deployment of it, and running tasks. A task definition the rule gives no
-- verdict for has no row.
CREATE OR REPLACE VIEW ecsaudit_run_verdicts AS
SELECT
  dt,
  run_id,
  rule_id,
  rule_options,
  revisions,
  posture,
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
  coalesce(array_join(array_sort(array_agg(container_name) FILTER (WHERE result = 'FAIL')), ','), '') AS failing_containers,
  in_use,
  services,
  running_tasks
FROM ecsaudit_run_findings
GROUP BY
  dt, run_id, rule_id, rule_options, revisions, posture, account_id, account_name, ou_path, ou_names, region,
  task_definition_arn, family, revision, status, network_mode, registered_at, in_use, services, running_tasks;

-- Every coverage row of every complete run: one per (account, region)
-- target, scanned or not, with why not; region is '' for an account that
-- was skipped or failed before its regions were known.
CREATE OR REPLACE VIEW ecsaudit_run_coverage AS
SELECT
  r.dt AS dt,
  c.run_id,
  r.started_at AS run_started_at,
  r.rule_options AS rule_options,
  r.revisions AS revisions,
  r.posture AS posture,
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
  c.duration_ms,
  c.usage_status,
  c.usage_error_code,
  c.clusters,
  c.services,
  c.running_tasks
FROM coverage c
JOIN ecsaudit_attempts a ON c.attempt_id = a.attempt_id AND c.dt = a.dt
JOIN ecsaudit_complete_runs r ON a.run_id = r.run_id;

-- The days the posture is kept for: every day with a complete run in the
-- last history_days days, and today (UTC).
CREATE OR REPLACE VIEW ecsaudit_posture_days AS
SELECT DISTINCT r.dt
FROM ecsaudit_complete_runs r
CROSS JOIN ecsaudit_settings st
WHERE date_diff('day', CAST(r.dt AS date), current_date) <= st.history_days
UNION
SELECT CAST(current_date AS varchar) AS dt;

-- The organization as of each posture day: the accounts the newest complete
-- run up to that day listed (a run of any scope or semantics: every run
-- lists the whole organization and writes a coverage row for each account),
-- less those whose newest news up to that day, from a run that did not
-- exclude them, is that they are suspended or closing. Names and OUs are
-- as the listing run saw them.
CREATE OR REPLACE VIEW ecsaudit_organization AS
WITH listing AS (
  SELECT d.dt, max_by(r.run_id, r.started_at) AS run_id
  FROM ecsaudit_posture_days d
  JOIN ecsaudit_complete_runs r ON r.dt <= d.dt
  GROUP BY d.dt
), account_states AS (
  SELECT
    run_id, dt, run_started_at, account_id,
    count_if(status = 'skipped' AND error_code IN ('AccountSuspended', 'AccountPendingClosure', 'AccountClosed')) > 0 AS inactive
  FROM ecsaudit_run_coverage
  WHERE error_code <> 'Excluded'
  GROUP BY run_id, dt, run_started_at, account_id
), known_states AS (
  SELECT d.dt, s.account_id, max_by(s.inactive, s.run_started_at) AS inactive
  FROM ecsaudit_posture_days d
  JOIN account_states s ON s.dt <= d.dt
  GROUP BY d.dt, s.account_id
)
SELECT
  l.dt,
  c.account_id,
  max(c.account_name) AS account_name,
  max(c.ou_path)      AS ou_path,
  max(c.ou_names)     AS ou_names
FROM listing l
JOIN ecsaudit_run_coverage c ON c.run_id = l.run_id
LEFT JOIN known_states k ON k.dt = l.dt AND k.account_id = c.account_id
WHERE NOT coalesce(k.inactive, false)
GROUP BY l.dt, c.account_id;

-- The posture as of each posture day: one row per rule and
-- (account, region) target of the accounts of that day that a complete run
-- under the posture's semantics ever tried. The target's scan is the newest
-- posture scan up to that day; a newer row that skipped the region (no
-- longer enabled) ends it. state is, in this order:
--   NOT_SCANNED  tried but never scanned (denied, failed)
--   STALE        the scan is more than stale_after_days old: never passing
--   FAIL, ERROR, PASS, NOT_APPLICABLE  the scan's worst task definition
--                verdict under the rule
--   EMPTY        scanned, no task definitions
-- last_verdict is the scan's verdict whatever its age; the counts are the
-- scan's task definitions by verdict under the rule (one the rule gives no
-- verdict for is NOT_APPLICABLE), and 0 unless the state is fresh.
CREATE OR REPLACE VIEW ecsaudit_posture_history AS
WITH tried AS (
  SELECT * FROM ecsaudit_run_coverage WHERE posture AND region <> ''
), events AS (
  -- A scan holds until the target's next scan or skip.
  SELECT
    t.*,
    lead(t.dt) OVER (PARTITION BY t.account_id, t.region ORDER BY t.run_started_at, t.run_id) AS until_dt
  FROM tried t
  WHERE t.status IN ('scanned', 'skipped')
), first_tried AS (
  SELECT account_id, region, min(dt) AS first_dt FROM tried GROUP BY account_id, region
), scanned_tds AS (
  -- Every task definition a scan found, whatever rule judged it.
  SELECT run_id, account_id, region, count(DISTINCT task_definition_arn) AS task_definitions
  FROM ecsaudit_run_findings
  WHERE posture
  GROUP BY run_id, account_id, region
), rule_tallies AS (
  SELECT
    run_id, rule_id, account_id, region,
    count(*)                             AS judged,
    count_if(verdict = 'FAIL')           AS fail,
    count_if(verdict = 'PASS')           AS pass,
    count_if(verdict = 'NOT_APPLICABLE') AS not_applicable,
    count_if(verdict = 'ERROR')          AS errors
  FROM ecsaudit_run_verdicts
  WHERE posture
  GROUP BY run_id, rule_id, account_id, region
), tallies AS (
  -- A task definition the rule did not judge is NOT_APPLICABLE under it.
  SELECT
    s.run_id, ru.rule_id, s.account_id, s.region,
    s.task_definitions,
    coalesce(t.fail, 0) AS fail,
    coalesce(t.pass, 0) AS pass,
    coalesce(t.not_applicable, 0) + s.task_definitions - coalesce(t.judged, 0) AS not_applicable,
    coalesce(t.errors, 0) AS errors
  FROM scanned_tds s
  CROSS JOIN ecsaudit_rules ru
  LEFT JOIN rule_tallies t ON t.run_id = s.run_id AND t.rule_id = ru.rule_id AND t.account_id = s.account_id AND t.region = s.region
), holds AS (
  -- Each posture day with the event that holds on it.
  SELECT d.dt AS held_on, e.*
  FROM ecsaudit_posture_days d
  JOIN events e ON e.dt <= d.dt AND (e.until_dt IS NULL OR d.dt < e.until_dt)
), held AS (
  SELECT
    o.dt, ru.rule_id, o.account_id, o.account_name, o.ou_path, o.ou_names, ft.region,
    x.status AS event_status, x.run_id AS scan_run_id, x.dt AS scan_dt, x.started_at AS scanned_at,
    date_diff('day', CAST(x.dt AS date), CAST(o.dt AS date)) AS age_days
  FROM ecsaudit_organization o
  CROSS JOIN ecsaudit_rules ru
  JOIN first_tried ft ON ft.account_id = o.account_id AND ft.first_dt <= o.dt
  LEFT JOIN holds x ON x.held_on = o.dt AND x.account_id = ft.account_id AND x.region = ft.region
), stated AS (
  SELECT
    a.*,
    CASE
      WHEN coalesce(t.fail, 0) > 0 THEN 'FAIL'
      WHEN coalesce(t.errors, 0) > 0 THEN 'ERROR'
      WHEN coalesce(t.pass, 0) > 0 THEN 'PASS'
      WHEN coalesce(t.not_applicable, 0) > 0 THEN 'NOT_APPLICABLE'
      ELSE 'EMPTY'
    END AS verdict,
    coalesce(t.task_definitions, 0) AS td, coalesce(t.fail, 0) AS f, coalesce(t.pass, 0) AS p,
    coalesce(t.not_applicable, 0) AS na, coalesce(t.errors, 0) AS e
  FROM held a
  LEFT JOIN tallies t ON t.run_id = a.scan_run_id AND t.rule_id = a.rule_id AND t.account_id = a.account_id AND t.region = a.region
  WHERE a.event_status IS NULL OR a.event_status = 'scanned'
), fresh AS (
  SELECT
    s.*,
    CASE
      WHEN s.scan_run_id IS NULL THEN 'NOT_SCANNED'
      WHEN s.age_days > st.stale_after_days THEN 'STALE'
      ELSE s.verdict
    END AS state
  FROM stated s
  CROSS JOIN ecsaudit_settings st
)
SELECT
  dt,
  rule_id,
  account_id,
  account_name,
  ou_path,
  ou_names,
  region,
  state,
  CASE WHEN scan_run_id IS NULL THEN NULL ELSE verdict END AS last_verdict,
  scan_run_id,
  scan_dt,
  scanned_at,
  age_days,
  CASE WHEN state IN ('NOT_SCANNED', 'STALE') THEN 0 ELSE td END AS task_definitions,
  CASE WHEN state IN ('NOT_SCANNED', 'STALE') THEN 0 ELSE f END AS fail,
  CASE WHEN state IN ('NOT_SCANNED', 'STALE') THEN 0 ELSE p END AS pass,
  CASE WHEN state IN ('NOT_SCANNED', 'STALE') THEN 0 ELSE na END AS not_applicable,
  CASE WHEN state IN ('NOT_SCANNED', 'STALE') THEN 0 ELSE e END AS errors
FROM fresh;

-- The posture now: ecsaudit_posture_history of today (UTC), one row per
-- rule and (account, region) target.
CREATE OR REPLACE VIEW ecsaudit_posture_targets AS
SELECT h.*
FROM ecsaudit_posture_history h
WHERE h.dt = CAST(current_date AS varchar);

-- The posture now, one row per rule and task definition of each target's
-- scan that the rule judged: state is its verdict, or STALE when the
-- target's scan is stale. in_use, services and running_tasks are what ran
-- it at that scan (in_use NULL when unknown); deregistration_candidate marks
-- a failing revision nothing used.
CREATE OR REPLACE VIEW ecsaudit_posture_task_definitions AS
SELECT
  t.rule_id,
  t.account_id,
  t.account_name,
  t.ou_path,
  t.ou_names,
  t.region,
  CASE WHEN t.state = 'STALE' THEN 'STALE' ELSE v.verdict END AS state,
  v.verdict,
  t.scan_dt,
  t.age_days,
  v.run_id,
  v.task_definition_arn,
  v.family,
  v.revision,
  v.status,
  v.network_mode,
  v.registered_at,
  v.failing_container_count,
  v.failing_containers,
  v.in_use,
  v.services,
  v.running_tasks,
  coalesce(v.verdict = 'FAIL' AND NOT v.in_use, false) AS deregistration_candidate
FROM ecsaudit_posture_targets t
JOIN ecsaudit_run_verdicts v ON v.run_id = t.scan_run_id AND v.rule_id = t.rule_id AND v.account_id = t.account_id AND v.region = t.region;

-- The posture now, one row per rule and container (or ERROR row) of each
-- target's scan: state is its result, or STALE when the target's scan is
-- stale. rule_id says which rule.
CREATE OR REPLACE VIEW ecsaudit_posture_containers AS
SELECT
  t.account_id,
  t.account_name,
  t.ou_path,
  t.ou_names,
  t.region,
  CASE WHEN t.state = 'STALE' THEN 'STALE' ELSE f.result END AS state,
  f.result,
  t.scan_dt,
  t.age_days,
  f.run_id,
  f.scanned_at,
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
  f.reason,
  f.severity,
  f.in_use,
  f.services,
  f.running_tasks
FROM ecsaudit_posture_targets t
JOIN ecsaudit_run_findings f ON f.run_id = t.scan_run_id AND f.rule_id = t.rule_id AND f.account_id = t.account_id AND f.region = t.region;

-- What ran each task definition revision at every complete run: one row
-- per (revision, cluster, service or standalone tasks); service is '' for
-- standalone tasks. Usage is read anew every run, incremental ones too.
CREATE OR REPLACE VIEW ecsaudit_run_usage AS
SELECT
  r.dt AS dt,
  u.run_id,
  u.read_at,
  u.account_id,
  u.region,
  u.cluster_arn,
  u.service,
  u.task_definition_arn,
  u.deployments,
  u.primary_deployment,
  u.desired_count,
  u.running_count,
  u.running_tasks,
  u.launch_types,
  u.container_instances,
  u.started_by,
  u.first_started_at,
  u.last_started_at,
  r.posture AS posture
FROM usage u
JOIN ecsaudit_attempts a ON u.attempt_id = a.attempt_id AND u.dt = a.dt
JOIN ecsaudit_complete_runs r ON a.run_id = r.run_id;

-- The posture now, one row per rule and place a revision runs at each
-- target's scan (cluster, and service or standalone tasks), with the
-- revision's verdict under the rule: where failing revisions run. verdict
-- is NULL for a revision the rule gave no verdict for (off host networking,
-- for the host-access rule) or the scan did not evaluate (an INACTIVE one
-- under --revisions active).
CREATE OR REPLACE VIEW ecsaudit_posture_usage AS
SELECT
  t.rule_id,
  t.account_id,
  t.account_name,
  t.ou_path,
  t.ou_names,
  t.region,
  CASE WHEN t.state = 'STALE' THEN 'STALE' ELSE v.verdict END AS state,
  v.verdict,
  t.scan_dt,
  t.age_days,
  u.run_id,
  u.task_definition_arn,
  v.family,
  v.revision,
  v.status,
  v.failing_containers,
  u.cluster_arn,
  u.service,
  u.deployments,
  u.primary_deployment,
  u.desired_count,
  u.running_count,
  u.running_tasks,
  u.launch_types,
  u.container_instances,
  u.started_by,
  u.first_started_at,
  u.last_started_at
FROM ecsaudit_posture_targets t
JOIN ecsaudit_run_usage u ON u.run_id = t.scan_run_id AND u.account_id = t.account_id AND u.region = t.region
LEFT JOIN ecsaudit_run_verdicts v
  ON v.run_id = u.run_id AND v.rule_id = t.rule_id AND v.account_id = u.account_id AND v.region = u.region AND v.task_definition_arn = u.task_definition_arn;

-- The posture per day, rule, account and OU, as of each posture day: the same definition as now, so a day with several
-- runs of different scopes counts each target once, from its newest posture
-- scan by then. Task definitions are counted from fresh targets only;
-- share_compliant is PASS / (PASS + FAIL + ERROR) over them (NULL when
-- there is nothing to count). An account with no target tried is a row of
-- zeros.
CREATE OR REPLACE VIEW ecsaudit_posture_trend AS
SELECT
  o.dt,
  ru.rule_id,
  o.account_id,
  o.account_name,
  o.ou_path,
  o.ou_names,
  count(h.region)                       AS targets,
  sum(CASE WHEN h.state = 'STALE' THEN 1 ELSE 0 END)       AS targets_stale,
  sum(CASE WHEN h.state = 'NOT_SCANNED' THEN 1 ELSE 0 END) AS targets_not_scanned,
  coalesce(sum(h.task_definitions), 0)  AS task_definitions,
  coalesce(sum(h.fail), 0)              AS fail,
  coalesce(sum(h.pass), 0)              AS pass,
  coalesce(sum(h.not_applicable), 0)    AS not_applicable,
  coalesce(sum(h.errors), 0)            AS errors,
  CAST(sum(h.pass) AS double) / nullif(sum(h.pass + h.fail + h.errors), 0) AS share_compliant
FROM ecsaudit_organization o
CROSS JOIN ecsaudit_rules ru
LEFT JOIN ecsaudit_posture_history h ON h.dt = o.dt AND h.rule_id = ru.rule_id AND h.account_id = o.account_id
GROUP BY o.dt, ru.rule_id, o.account_id, o.account_name, o.ou_path, o.ou_names;

-- The posture now per rule, account and OU: ecsaudit_posture_trend of today.
CREATE OR REPLACE VIEW ecsaudit_posture_accounts AS
SELECT p.*
FROM ecsaudit_posture_trend p
WHERE p.dt = CAST(current_date AS varchar);

-- What the posture cannot vouch for now, one row per gap of an account of
-- the organization:
--   stale          a target whose newest scan is more than stale_after_days old
--   never_scanned  a target tried but never scanned
--   last_attempt   a target whose newest posture run did not scan it
--                  (its older scan still stands until it is stale)
--   account        an account that the newest posture run to try it could
--                  not reach (region ''), or that no posture run has tried
--                  (runs that excluded it do not count)
-- with the newest posture run's status, error code and message. Gaps are
-- the same for every rule: one row each.
CREATE OR REPLACE VIEW ecsaudit_coverage_gaps AS
WITH newest AS (
  SELECT
    c.*,
    row_number() OVER (PARTITION BY c.account_id, c.region ORDER BY c.run_started_at DESC, c.run_id DESC) AS n
  FROM ecsaudit_run_coverage c
  WHERE c.posture
), newest_account AS (
  -- A run that excluded the account says nothing about it.
  SELECT
    c.*,
    row_number() OVER (PARTITION BY c.account_id ORDER BY c.run_started_at DESC, c.run_id DESC, c.region) AS n
  FROM ecsaudit_run_coverage c
  WHERE c.posture AND c.error_code <> 'Excluded'
), today AS (
  SELECT * FROM ecsaudit_organization WHERE dt = CAST(current_date AS varchar)
)
SELECT
  t.account_id,
  t.account_name,
  t.ou_path,
  t.ou_names,
  t.region,
  CASE
    WHEN t.state = 'STALE' THEN 'stale'
    WHEN t.state = 'NOT_SCANNED' THEN 'never_scanned'
    ELSE 'last_attempt'
  END AS gap,
  t.state,
  t.scan_dt,
  n.dt AS attempt_dt,
  n.run_id AS attempt_run_id,
  n.status AS attempt_status,
  n.error_code,
  n.error_message
FROM ecsaudit_posture_targets t
JOIN newest n ON n.account_id = t.account_id AND n.region = t.region AND n.n = 1
WHERE (t.state IN ('STALE', 'NOT_SCANNED') OR n.status <> 'scanned')
  AND t.rule_id = 'ECSAUDIT.HOSTNET.1' -- the control's target rows: one per target
UNION ALL
SELECT
  o.account_id,
  o.account_name,
  o.ou_path,
  o.ou_names,
  '' AS region,
  'account' AS gap,
  CAST(NULL AS varchar) AS state,
  CAST(NULL AS varchar) AS scan_dt,
  a.dt AS attempt_dt,
  a.run_id AS attempt_run_id,
  coalesce(a.status, 'never_tried') AS attempt_status,
  a.error_code,
  a.error_message
FROM today o
LEFT JOIN newest_account a ON a.account_id = o.account_id AND a.n = 1
WHERE a.account_id IS NULL OR (a.region = '' AND a.status <> 'skipped');
