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
