package output

import "time"

// Finding is one row of the findings dataset: one container of one task
// definition revision, or one ERROR row for a revision that could not be read.
// Container environment and secrets are deliberately absent.
type Finding struct {
	RunID             string    `parquet:"run_id"`
	AttemptID         string    `parquet:"attempt_id"` // the process that wrote the row; see Run.AttemptID
	ScannedAt         time.Time `parquet:"scanned_at,timestamp(millisecond)"`
	AccountID         string    `parquet:"account_id"`
	AccountName       string    `parquet:"account_name"`
	OUPath            string    `parquet:"ou_path"`
	OUNames           string    `parquet:"ou_names"`
	Region            string    `parquet:"region"`
	TaskDefinitionARN string    `parquet:"task_definition_arn"`
	Family            string    `parquet:"family"`
	Revision          int32     `parquet:"revision"`
	Status            string    `parquet:"status"`
	NetworkMode       string    `parquet:"network_mode"`
	RegisteredAt      time.Time `parquet:"registered_at,timestamp(millisecond),optional"`
	ContainerName     string    `parquet:"container_name"`
	Image             string    `parquet:"image"`
	Privileged        *bool     `parquet:"privileged,optional"`
	User              *string   `parquet:"user,optional"`
	UserUnset         bool      `parquet:"user_unset"`
	RuleID            string    `parquet:"rule_id"`
	RuleVersion       string    `parquet:"rule_version"`
	Result            string    `parquet:"result"`
	Reason            string    `parquet:"reason"`
	Severity          string    `parquet:"severity"`
	// Carried is true when the verdict was carried from an earlier run
	// without describing the immutable revision again; ScannedAt is then
	// the time it was described.
	Carried bool `parquet:"carried"`
	// InUse, Services and RunningTasks say what runs the revision, as read
	// this run (carried rows too): services with a PRIMARY or ACTIVE
	// deployment of it, and tasks running it, standalone ones included. InUse
	// is null when the target's usage could not be read; a FAIL row with
	// InUse false is a revision nothing uses, a candidate for
	// deregistration.
	InUse        *bool `parquet:"in_use,optional"`
	Services     int64 `parquet:"services"`
	RunningTasks int64 `parquet:"running_tasks"`
}

// Coverage is one row of the coverage dataset: one (account, region) target,
// or one account that failed before its regions were known (Region empty).
type Coverage struct {
	RunID           string    `parquet:"run_id"`
	AttemptID       string    `parquet:"attempt_id"`
	AccountID       string    `parquet:"account_id"`
	AccountName     string    `parquet:"account_name"`
	OUPath          string    `parquet:"ou_path"`
	OUNames         string    `parquet:"ou_names"`
	Region          string    `parquet:"region"`
	Status          string    `parquet:"status"` // scanned, denied, failed, skipped
	ErrorCode       string    `parquet:"error_code"`
	ErrorMessage    string    `parquet:"error_message"`
	TaskDefinitions int64     `parquet:"task_definitions"`
	Carried         int64     `parquet:"task_definitions_carried"` // of task_definitions, carried from an earlier run
	Findings        int64     `parquet:"findings"`
	APICalls        int64     `parquet:"api_calls"`
	ThrottledCalls  int64     `parquet:"throttled_calls"`
	StartedAt       time.Time `parquet:"started_at,timestamp(millisecond)"`
	DurationMS      int64     `parquet:"duration_ms"`
	// UsageStatus says whether what runs in the target was read: read,
	// denied or failed (the error in UsageErrorCode and UsageErrorMessage),
	// or skipped with the target. Clusters, Services and RunningTasks count
	// what was read.
	UsageStatus       string `parquet:"usage_status"`
	UsageErrorCode    string `parquet:"usage_error_code"`
	UsageErrorMessage string `parquet:"usage_error_message"`
	Clusters          int64  `parquet:"clusters"`
	Services          int64  `parquet:"services"`
	RunningTasks      int64  `parquet:"running_tasks"`
}

// Usage is one row of the usage dataset: what runs one task definition
// revision in one cluster, under one service or (Service empty) as
// standalone tasks, as read by this run. Task overrides, which may carry
// environment values, are deliberately absent.
type Usage struct {
	RunID             string    `parquet:"run_id"`
	AttemptID         string    `parquet:"attempt_id"`
	ReadAt            time.Time `parquet:"read_at,timestamp(millisecond)"`
	AccountID         string    `parquet:"account_id"`
	Region            string    `parquet:"region"`
	ClusterARN        string    `parquet:"cluster_arn"`
	Service           string    `parquet:"service"` // the service's name; empty for standalone tasks
	TaskDefinitionARN string    `parquet:"task_definition_arn"`
	// Deployments counts the service's PRIMARY and ACTIVE deployments of
	// the revision; PrimaryDeployment is true when one is PRIMARY.
	// DesiredCount and RunningCount are theirs, summed, as the service
	// reports them.
	Deployments       int64 `parquet:"deployments"`
	PrimaryDeployment bool  `parquet:"primary_deployment"`
	DesiredCount      int64 `parquet:"desired_count"`
	RunningCount      int64 `parquet:"running_count"`
	// RunningTasks counts the tasks ListTasks listed (desired status
	// RUNNING) with this revision.
	RunningTasks       int64     `parquet:"running_tasks"`
	LaunchTypes        string    `parquet:"launch_types"`        // distinct, comma-separated
	ContainerInstances int64     `parquet:"container_instances"` // distinct container instances the tasks run on
	StartedBy          string    `parquet:"started_by"`          // distinct, comma-separated, at most ten
	FirstStartedAt     time.Time `parquet:"first_started_at,timestamp(millisecond),optional"`
	LastStartedAt      time.Time `parquet:"last_started_at,timestamp(millisecond),optional"`
}

// Run is the single row of the runs dataset that a run writes last; a run
// without it never finished committing.
type Run struct {
	RunID string `parquet:"run_id"`
	// AttemptID is unique to the process that wrote the files, and names
	// them. A shard retried (by AWS Batch, say) writes a new attempt under
	// the same run id and shard index: readers take the newest attempt of
	// each shard.
	AttemptID     string    `parquet:"attempt_id"`
	StartedAt     time.Time `parquet:"started_at,timestamp(millisecond)"`
	EndedAt       time.Time `parquet:"ended_at,timestamp(millisecond)"`
	Status        string    `parquet:"status"` // complete, partial, interrupted, failed
	Version       string    `parquet:"version"`
	RuleVersion   string    `parquet:"rule_version"`
	RuleOptions   string    `parquet:"rule_options"` // the rule's switches: control, control,unset-user=fail or aws-config
	Options       string    `parquet:"options"`      // JSON of the run's options
	ShardIndex    int32     `parquet:"shard_index"`  // 0-based; 0 of 1 when not sharded
	ShardCount    int32     `parquet:"shard_count"`
	PreviousRunID string    `parquet:"previous_run_id"` // the run whose verdicts were carried, if any
	// The run's scope: which accounts, regions and revisions it was asked
	// to scan. Lists are comma-separated; empty means no such filter.
	AccountsFilter  string `parquet:"accounts_filter"`  // --accounts
	ExcludeAccounts string `parquet:"exclude_accounts"` // --exclude-accounts
	OUFilter        string `parquet:"ou_filter"`        // --ou
	ExcludeOUs      string `parquet:"exclude_ou"`       // --exclude-ou
	RegionsFilter   string `parquet:"regions_filter"`   // --regions; empty: every enabled region
	Revisions       string `parquet:"revisions"`        // active, latest or all
	// PlanRunID is the earlier run whose coverage balanced the shard plan;
	// empty when the plan hashed account ids (no earlier run, or unsharded).
	// Shards of one run agree only if they name the same one.
	PlanRunID string `parquet:"plan_run_id"`
	// OrgAccounts is how many accounts the organization listed when this
	// process started, before filters and the shard split; OrgDigest is a
	// hash of their ids, equal across shards that listed the same
	// organization.
	OrgAccounts        int64  `parquet:"org_accounts"`
	OrgDigest          string `parquet:"org_digest"`
	Accounts           int64  `parquet:"accounts"`
	Targets            int64  `parquet:"targets"`
	TargetsScanned     int64  `parquet:"targets_scanned"`
	TargetsNotScanned  int64  `parquet:"targets_not_scanned"`  // (account, region) targets denied or failed
	AccountsNotScanned int64  `parquet:"accounts_not_scanned"` // accounts denied or failed before their regions were known
	TaskDefinitions    int64  `parquet:"task_definitions"`
	Carried            int64  `parquet:"task_definitions_carried"`
	Findings           int64  `parquet:"findings"`
	Fail               int64  `parquet:"fail"`
	Pass               int64  `parquet:"pass"`
	NotApplicable      int64  `parquet:"not_applicable"`
	Errors             int64  `parquet:"errors"`
	APICalls           int64  `parquet:"api_calls"`
	ThrottledCalls     int64  `parquet:"throttled_calls"`
	// UsageNotRead counts scanned targets whose usage could not be read;
	// Services and RunningTasks sum what was read.
	UsageNotRead int64 `parquet:"usage_not_read"`
	Services     int64 `parquet:"services"`
	RunningTasks int64 `parquet:"running_tasks"`
}

// Export is one row of the exports dataset: what one account's findings
// did at another destination (Security Hub) during the run. A run whose
// export failed is partial; the row says why.
type Export struct {
	RunID          string    `parquet:"run_id"`
	AttemptID      string    `parquet:"attempt_id"`
	Destination    string    `parquet:"destination"` // securityhub
	AccountID      string    `parquet:"account_id"`
	Region         string    `parquet:"region"`    // where the findings went
	Status         string    `parquet:"status"`    // imported or failed
	Imported       int64     `parquet:"imported"`  // new or changed findings accepted
	Unchanged      int64     `parquet:"unchanged"` // findings not sent: the destination holds them as they are
	Archived       int64     `parquet:"archived"`  // findings of revisions gone, archived
	Resolved       int64     `parquet:"resolved"`  // findings that went from failed to passed, resolved
	Failed         int64     `parquet:"failed"`    // findings rejected after retries
	ErrorCode      string    `parquet:"error_code"`
	ErrorMessage   string    `parquet:"error_message"`
	APICalls       int64     `parquet:"api_calls"`
	ThrottledCalls int64     `parquet:"throttled_calls"`
	StartedAt      time.Time `parquet:"started_at,timestamp(millisecond)"`
	DurationMS     int64     `parquet:"duration_ms"`
}
