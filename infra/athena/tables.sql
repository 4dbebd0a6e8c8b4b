-- Athena tables over ecsaudit's Parquet datasets.
--
-- ${bucket} and ${prefix} are replaced when the statements are rendered for
-- a deployment (athena.Tables); ${dt} is left for Athena's partition
-- projection. Columns are matched by name (Athena's default for Parquet), so
-- their order here does not matter, but their names and types must stay
-- those of output/rows.go: infra/athena's tests check both.
--
-- Partitions are projected, never crawled or added: a new day's dt=
-- directory is queryable as soon as its files exist.

CREATE EXTERNAL TABLE IF NOT EXISTS findings (
  run_id              string,
  attempt_id          string,
  scanned_at          timestamp,
  account_id          string,
  account_name        string,
  ou_path             string,
  ou_names            string,
  region              string,
  task_definition_arn string,
  family              string,
  revision            int,
  status              string,
  network_mode        string,
  registered_at       timestamp,
  container_name      string,
  image               string,
  privileged          boolean,
  `user`              string,
  user_unset          boolean,
  rule_id             string,
  rule_version        string,
  result              string,
  reason              string,
  severity            string,
  carried             boolean,
  in_use              boolean,
  services            bigint,
  running_tasks       bigint
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION 's3://${bucket}/${prefix}/findings/'
TBLPROPERTIES (
  'projection.enabled'          = 'true',
  'projection.dt.type'          = 'date',
  'projection.dt.format'        = 'yyyy-MM-dd',
  'projection.dt.range'         = '2024-01-01,NOW',
  'projection.dt.interval'      = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template'   = 's3://${bucket}/${prefix}/findings/dt=${dt}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS coverage (
  run_id           string,
  attempt_id       string,
  account_id       string,
  account_name     string,
  ou_path          string,
  ou_names         string,
  region           string,
  status           string,
  error_code       string,
  error_message    string,
  task_definitions bigint,
  task_definitions_carried bigint,
  findings         bigint,
  api_calls        bigint,
  throttled_calls  bigint,
  started_at       timestamp,
  duration_ms      bigint,
  usage_status     string,
  usage_error_code string,
  usage_error_message string,
  clusters         bigint,
  services         bigint,
  running_tasks    bigint
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION 's3://${bucket}/${prefix}/coverage/'
TBLPROPERTIES (
  'projection.enabled'          = 'true',
  'projection.dt.type'          = 'date',
  'projection.dt.format'        = 'yyyy-MM-dd',
  'projection.dt.range'         = '2024-01-01,NOW',
  'projection.dt.interval'      = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template'   = 's3://${bucket}/${prefix}/coverage/dt=${dt}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS runs (
  run_id              string,
  attempt_id          string,
  started_at          timestamp,
  ended_at            timestamp,
  status              string,
  version             string,
  rule_version        string,
  rule_options        string,
  options             string,
  shard_index         int,
  shard_count         int,
  previous_run_id     string,
  accounts_filter     string,
  exclude_accounts    string,
  ou_filter           string,
  exclude_ou          string,
  regions_filter      string,
  revisions           string,
  plan_run_id         string,
  org_accounts        bigint,
  org_digest          string,
  accounts            bigint,
  targets             bigint,
  targets_scanned     bigint,
  targets_not_scanned bigint,
  accounts_not_scanned bigint,
  task_definitions    bigint,
  task_definitions_carried bigint,
  findings            bigint,
  fail                bigint,
  pass                bigint,
  not_applicable      bigint,
  errors              bigint,
  api_calls           bigint,
  throttled_calls     bigint,
  usage_not_read      bigint,
  services            bigint,
  running_tasks       bigint
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION 's3://${bucket}/${prefix}/runs/'
TBLPROPERTIES (
  'projection.enabled'          = 'true',
  'projection.dt.type'          = 'date',
  'projection.dt.format'        = 'yyyy-MM-dd',
  'projection.dt.range'         = '2024-01-01,NOW',
  'projection.dt.interval'      = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template'   = 's3://${bucket}/${prefix}/runs/dt=${dt}/'
);

CREATE EXTERNAL TABLE IF NOT EXISTS usage (
  run_id              string,
  attempt_id          string,
  read_at             timestamp,
  account_id          string,
  region              string,
  cluster_arn         string,
  service             string,
  task_definition_arn string,
  deployments         bigint,
  primary_deployment  boolean,
  desired_count       bigint,
  running_count       bigint,
  running_tasks       bigint,
  launch_types        string,
  container_instances bigint,
  started_by          string,
  first_started_at    timestamp,
  last_started_at     timestamp
)
PARTITIONED BY (dt string)
STORED AS PARQUET
LOCATION 's3://${bucket}/${prefix}/usage/'
TBLPROPERTIES (
  'projection.enabled'          = 'true',
  'projection.dt.type'          = 'date',
  'projection.dt.format'        = 'yyyy-MM-dd',
  'projection.dt.range'         = '2024-01-01,NOW',
  'projection.dt.interval'      = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template'   = 's3://${bucket}/${prefix}/usage/dt=${dt}/'
);
