package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecsaudit/ecsaudit/output"
)

// attempt is the newest attempt of one shard of one run: its runs row, the
// dt partition its files sit in, and the key of its runs file.
type attempt struct {
	output.Previous
	dt string
}

// run is one run whose newest attempts all committed.
type run struct {
	id        string
	dt        string // the first dt of its shards
	started   time.Time
	status    string // worst shard status: complete or partial, when complete
	posture   bool   // under the posture's semantics
	complete  bool
	attempts  []attempt
	coverage  []coverageRow
	excluded  []string // accounts the run excluded by filter
	scanned   int64    // targets scanned, over its shards
	carried   int64    // task definitions carried
	totalRevs int64    // task definitions
}

// coverageRow is the part of a coverage row the posture reads.
type coverageRow struct {
	AccountID    string    `parquet:"account_id"`
	AccountName  string    `parquet:"account_name"`
	OUPath       string    `parquet:"ou_path"`
	OUNames      string    `parquet:"ou_names"`
	Region       string    `parquet:"region"`
	Status       string    `parquet:"status"`
	ErrorCode    string    `parquet:"error_code"`
	ErrorMessage string    `parquet:"error_message"`
	StartedAt    time.Time `parquet:"started_at,timestamp(millisecond)"`
}

// findingTally is the part of a findings row every posture day reads.
type findingTally struct {
	AccountID         string `parquet:"account_id"`
	Region            string `parquet:"region"`
	TaskDefinitionARN string `parquet:"task_definition_arn"`
	RuleID            string `parquet:"rule_id"`
	Result            string `parquet:"result"`
}

// findingDetail is the part of a findings row the lists of failing and
// unreadable task definitions read. Environment and secrets are not in the
// dataset at all.
type findingDetail struct {
	AccountID         string    `parquet:"account_id"`
	Region            string    `parquet:"region"`
	TaskDefinitionARN string    `parquet:"task_definition_arn"`
	Family            string    `parquet:"family"`
	Revision          int32     `parquet:"revision"`
	RegisteredAt      time.Time `parquet:"registered_at,timestamp(millisecond),optional"`
	ContainerName     string    `parquet:"container_name"`
	RuleID            string    `parquet:"rule_id"`
	Result            string    `parquet:"result"`
	Reason            string    `parquet:"reason"`
	InUse             *bool     `parquet:"in_use,optional"`
	Services          int64     `parquet:"services"`
	RunningTasks      int64     `parquet:"running_tasks"`
}

// readRuns reads every runs row and each committed run's coverage, and
// decides which runs are complete, as ecsaudit_run_checks does.
func readRuns(ctx context.Context, src output.Source) ([]*run, error) {
	keys, err := src.List(ctx, output.RunsDataset+"/")
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	newest := map[[2]string]attempt{} // (run id, shard index) → newest attempt
	for _, key := range keys {
		dt, name, ok := partition(key)
		if !ok {
			continue
		}
		err := output.Read(ctx, src, key, func(r output.Run) error {
			a := attempt{Previous: output.Previous{Run: r, Name: name, RunsKey: key}, dt: dt}
			k := [2]string{r.RunID, fmt.Sprint(r.ShardIndex)}
			if old, ok := newest[k]; !ok || newer(a, old) {
				newest[k] = a
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	covKeys, err := src.List(ctx, output.CoverageDataset+"/")
	if err != nil {
		return nil, fmt.Errorf("list coverage: %w", err)
	}
	exists := map[string]bool{}
	for _, k := range covKeys {
		exists[k] = true
	}
	byID := map[string]*run{}
	for _, a := range newest {
		r := byID[a.Run.RunID]
		if r == nil {
			r = &run{id: a.Run.RunID}
			byID[a.Run.RunID] = r
		}
		r.attempts = append(r.attempts, a)
	}
	var runs []*run
	for _, r := range byID {
		if err := r.check(ctx, src, exists); err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b *run) int { return cmp.Or(a.started.Compare(b.started), strings.Compare(a.id, b.id)) })
	return runs, nil
}

// newer orders attempts of one shard as ecsaudit_attempts does.
func newer(a, b attempt) bool {
	if c := a.Run.StartedAt.Compare(b.Run.StartedAt); c != 0 {
		return c > 0
	}
	return a.Run.AttemptID > b.Run.AttemptID
}

// partition returns the dt and file name of a dataset key
// <dataset>/dt=YYYY-MM-DD/<name>.parquet.
func partition(key string) (dt, name string, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 3 || !strings.HasPrefix(parts[1], "dt=") || !strings.HasSuffix(parts[2], ".parquet") {
		return "", "", false
	}
	return strings.TrimPrefix(parts[1], "dt="), strings.TrimSuffix(parts[2], ".parquet"), true
}

// check reads the run's coverage and sets whether the run is complete:
// every shard finished, with the same shard count, plan base and
// organization, and the coverage names every listed account.
func (r *run) check(ctx context.Context, src output.Source, exists map[string]bool) error {
	slices.SortFunc(r.attempts, func(a, b attempt) int { return cmp.Compare(a.Run.ShardIndex, b.Run.ShardIndex) })
	var (
		unfinished             bool
		counts, plans, orgs    = map[int32]bool{}, map[string]bool{}, map[string]bool{}
		shardCount             int32
		orgAccounts            int64
		ruleOptions, revisions string
	)
	covered := map[string]bool{}
	r.status = "complete"
	for i, a := range r.attempts {
		row := a.Run
		if i == 0 || a.dt < r.dt {
			r.dt = a.dt
		}
		if i == 0 || row.StartedAt.Before(r.started) {
			r.started = row.StartedAt
		}
		switch row.Status {
		case "complete":
		case "partial":
			r.status = "partial"
		default:
			unfinished = true
		}
		counts[row.ShardCount], plans[row.PlanRunID], orgs[row.OrgDigest] = true, true, true
		shardCount = max(shardCount, row.ShardCount)
		orgAccounts = max(orgAccounts, row.OrgAccounts)
		ruleOptions, revisions = max(ruleOptions, row.RuleOptions), max(revisions, row.Revisions)
		r.scanned += row.TargetsScanned
		r.carried += row.Carried
		r.totalRevs += row.TaskDefinitions
		if !exists[a.CoverageKey()] {
			continue // a run that failed early wrote no coverage
		}
		err := output.Read(ctx, src, a.CoverageKey(), func(c coverageRow) error {
			covered[c.AccountID] = true
			if c.ErrorCode == "Excluded" && c.Region == "" {
				r.excluded = append(r.excluded, c.AccountID)
			}
			r.coverage = append(r.coverage, c)
			return nil
		})
		if err != nil {
			return err
		}
	}
	r.complete = !unfinished && len(counts) == 1 && int32(len(r.attempts)) >= shardCount &&
		len(plans) == 1 && len(orgs) == 1 && int64(len(covered)) >= orgAccounts
	r.posture = ruleOptions == postureRuleOptions && revisions == postureRevisions
	slices.Sort(r.excluded)
	r.excluded = slices.Compact(r.excluded)
	return nil
}
