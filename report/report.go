// Package report computes the organization's current posture from
// ecsaudit's datasets — exactly as infra/athena/views.sql's posture views
// define it — and renders it as text, JSON, Markdown, CSV or one
// self-contained HTML file.
//
// It reads only the columns it needs, and the findings files only of the
// runs whose scans the posture (now, before the newest posture run, and on
// the trend's days) stands on.
package report

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ecsaudit/ecsaudit/output"
)

// Options are what Load computes beyond the posture now.
type Options struct {
	// TrendDays is how many of the newest posture days the trend shows
	// (days with a complete run, and today); 0 means 14.
	TrendDays int
	// Rule is the rule whose posture the report shows: RuleControl (the
	// default) or RuleHostAccess.
	Rule string
}

// The rules a report can show, as the findings' rule_id names them.
const (
	RuleControl    = "ECSAUDIT.HOSTNET.1"
	RuleHostAccess = "ECSAUDIT.HOSTNET.2"
)

// Report is the posture of the organization as of one day (UTC).
type Report struct {
	AsOf string `json:"as_of"` // the day, YYYY-MM-DD
	// RuleID is the rule whose posture this is.
	RuleID string `json:"rule_id"`
	// Totals counts the containers (and unreadable task definitions) of the
	// posture by state: FAIL, PASS, NOT_APPLICABLE, ERROR, STALE, as
	// ecsaudit_posture_containers.
	Totals map[string]int64 `json:"totals"`
	// TaskDefinitions counts task definitions by state, as
	// ecsaudit_posture_task_definitions.
	TaskDefinitions map[string]int64 `json:"task_definitions"`
	// Targets counts (account, region) targets by state, as
	// ecsaudit_posture_targets.
	Targets   map[string]int64 `json:"targets"`
	NewestRun *RunInfo         `json:"newest_run,omitempty"`
	Accounts  []Account        `json:"accounts"`
	// Failing are the task definitions failing now: those something runs
	// first (most running tasks first), then newest first.
	Failing []TaskDefinition `json:"failing"`
	// Errors are the task definitions that could not be read.
	Errors  []TaskDefinition `json:"errors"`
	Gaps    []Gap            `json:"coverage_gaps"`
	Changes Changes          `json:"changes"`
	Trend   []Day            `json:"trend"`
}

// RunInfo describes the newest complete run.
type RunInfo struct {
	RunID     string    `json:"run_id"`
	StartedAt time.Time `json:"started_at"`
	Status    string    `json:"status"`
	Posture   bool      `json:"posture"` // under the posture's semantics
	Carried   int64     `json:"task_definitions_carried"`
	Excluded  []string  `json:"excluded_accounts"`
}

// Account is one account's posture, as ecsaudit_posture_accounts.
type Account struct {
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	OUPath      string `json:"ou_path"`
	OUNames     string `json:"ou_names"`
	Counts
	ShareCompliant *float64 `json:"share_compliant"` // PASS / (PASS + FAIL + ERROR); nil when nothing counts
}

// Counts are targets by state, and the task definitions of the fresh ones
// by verdict.
type Counts struct {
	Targets           int64 `json:"targets"`
	TargetsStale      int64 `json:"targets_stale"`
	TargetsNotScanned int64 `json:"targets_not_scanned"`
	TaskDefinitions   int64 `json:"task_definitions"`
	Fail              int64 `json:"fail"`
	Pass              int64 `json:"pass"`
	NotApplicable     int64 `json:"not_applicable"`
	Errors            int64 `json:"errors"`
}

// TaskDefinition is one failing (or unreadable) task definition revision.
type TaskDefinition struct {
	AccountID    string    `json:"account_id"`
	AccountName  string    `json:"account_name"`
	OUNames      string    `json:"ou_names"`
	Region       string    `json:"region"`
	ARN          string    `json:"task_definition_arn"`
	Family       string    `json:"family"`
	Revision     int32     `json:"revision"`
	RegisteredAt time.Time `json:"registered_at,omitzero"`
	ScanDT       string    `json:"scan_dt"`
	// InUse says whether a service deployment or a running task used the
	// revision when the scan read what runs; nil when it could not tell.
	InUse        *bool       `json:"in_use"`
	Services     int64       `json:"services"`
	RunningTasks int64       `json:"running_tasks"`
	Containers   []Container `json:"containers"` // the failing ones, or the ERROR row
}

// Container is one failing container (or the ERROR row) and why.
type Container struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	result string
}

// Gap is one thing the posture cannot vouch for, as ecsaudit_coverage_gaps.
type Gap struct {
	AccountID     string `json:"account_id"`
	AccountName   string `json:"account_name"`
	OUNames       string `json:"ou_names"`
	Region        string `json:"region"` // "" for a whole account
	Gap           string `json:"gap"`    // stale, never_scanned, last_attempt or account
	State         string `json:"state,omitempty"`
	ScanDT        string `json:"scan_dt,omitempty"`
	AttemptDT     string `json:"attempt_dt,omitempty"`
	AttemptStatus string `json:"attempt_status"`
	ErrorCode     string `json:"error_code,omitempty"`
	ErrorMessage  string `json:"error_message,omitempty"`
}

// Changes is what the newest posture run changed: the posture now against
// the posture without that run.
type Changes struct {
	Since    string           `json:"since_run_id,omitempty"` // the run before; "" when there is none
	NewFails []TaskDefinition `json:"new_fails"`
	Fixed    []TaskDefinition `json:"fixed"`
	NewGaps  []Gap            `json:"new_coverage_gaps"`
}

// Day is the posture as of one posture day, summed over the organization.
type Day struct {
	DT string `json:"dt"`
	Counts
}

// Load reads the datasets at src and computes the posture as of now's day
// (UTC).
func Load(ctx context.Context, src output.Source, now time.Time, opts Options) (*Report, error) {
	today := now.UTC().Format(time.DateOnly)
	trendDays := cmp.Or(opts.TrendDays, 14)
	rule := cmp.Or(opts.Rule, RuleControl)
	all, err := readRuns(ctx, src)
	if err != nil {
		return nil, err
	}
	var complete []*run
	for _, r := range all {
		if r.complete {
			complete = append(complete, r)
		}
	}
	rep := &Report{AsOf: today, RuleID: rule, Totals: map[string]int64{}, TaskDefinitions: map[string]int64{}, Targets: map[string]int64{}}
	for _, s := range []string{Fail, Pass, NotApplicable, Error, StateStale} {
		rep.Totals[s], rep.TaskDefinitions[s] = 0, 0
	}
	if len(complete) == 0 {
		return rep, nil
	}
	newest := complete[len(complete)-1]
	rep.NewestRun = &RunInfo{RunID: newest.id, StartedAt: newest.started, Status: newest.status, Posture: newest.posture,
		Carried: newest.carried, Excluded: newest.excluded}

	// The posture before the newest posture run: the same views over the
	// runs without it.
	now_ := newPosture(complete)
	var before *posture
	for i := len(complete) - 1; i >= 0; i-- {
		if complete[i].posture {
			before = newPosture(slices.Delete(slices.Clone(complete), i, i+1))
			for j := i - 1; j >= 0; j-- {
				if complete[j].posture {
					rep.Changes.Since = complete[j].id
					break
				}
			}
			break
		}
	}

	// First pass: which scans each posture stands on. Verdicts are not
	// known yet; targets are recomputed once they are.
	need := map[scanKey]*scanInfo{}
	unknown := func(k scanKey) string {
		if need[k] == nil {
			need[k] = &scanInfo{}
		}
		return ""
	}
	days := now_.days(today)
	if len(days) > trendDays {
		days = days[len(days)-trendDays:]
	}
	for _, d := range days {
		now_.targets(d, unknown)
	}
	// The posture now needs its scans' failing and ERROR rows; the posture
	// before the newest run, only the failing rows of the scans it does
	// not share with now (a shared scan fails the same in both).
	for _, t := range now_.targets(today, unknown) {
		if t.scan != nil {
			need[*t.scan].detail = detailFull
		}
	}
	if before != nil {
		for _, t := range before.targets(today, unknown) {
			if t.scan != nil && need[*t.scan].detail != detailFull {
				need[*t.scan].detail = detailFailing
			}
		}
	}
	if err := readFindings(ctx, src, complete, need, rule); err != nil {
		return nil, err
	}
	verdict := func(k scanKey) string {
		if s := need[k]; s != nil {
			return s.tally.verdict()
		}
		return StateEmpty
	}

	// The trend.
	for _, d := range days {
		day := Day{DT: d}
		for _, t := range now_.targets(d, verdict) {
			day.add(t, need)
		}
		rep.Trend = append(rep.Trend, day)
	}

	// Now.
	targets := now_.targets(today, verdict)
	rep.Accounts = accountsOf(now_.organization(today), targets, need)
	failing, errs := rep.detail(targets, need)
	rep.Failing, rep.Errors = failing, errs
	gaps := now_.gaps(today, targets)
	rep.Gaps = gapsOf(gaps)

	if before != nil {
		bt := before.targets(today, verdict)
		// Only the targets whose scan differs can differ: a scan both
		// postures stand on fails the same in both.
		nowScan := map[[2]string]scanKey{}
		for _, t := range targets {
			if t.scan != nil {
				nowScan[[2]string{t.account.id, t.region}] = *t.scan
			}
		}
		shared := map[[2]string]bool{}
		var changed []target
		for _, t := range bt {
			k := [2]string{t.account.id, t.region}
			if s, ok := nowScan[k]; ok && t.scan != nil && s == *t.scan {
				shared[k] = true
				continue
			}
			changed = append(changed, t)
		}
		var old Report
		old.Totals, old.TaskDefinitions, old.Targets = map[string]int64{}, map[string]int64{}, map[string]int64{}
		oldFailing, _ := old.detail(changed, need)
		var nowChanged []TaskDefinition
		for _, td := range rep.Failing {
			if !shared[[2]string{td.AccountID, td.Region}] {
				nowChanged = append(nowChanged, td)
			}
		}
		rep.Changes.NewFails = minus(nowChanged, oldFailing)
		rep.Changes.Fixed = minus(oldFailing, rep.Failing)
		oldGaps := map[string]bool{}
		for _, g := range gapsOf(before.gaps(today, bt)) {
			oldGaps[g.AccountID+"/"+g.Region+"/"+g.Gap] = true
		}
		for _, g := range rep.Gaps {
			if !oldGaps[g.AccountID+"/"+g.Region+"/"+g.Gap] {
				rep.Changes.NewGaps = append(rep.Changes.NewGaps, g)
			}
		}
	}
	return rep, nil
}

// detail fills in the counts of r from targets and returns the failing and
// unreadable task definitions of fresh targets, newest first.
func (r *Report) detail(targets []target, need map[scanKey]*scanInfo) (failing, errs []TaskDefinition) {
	for _, t := range targets {
		r.Targets[t.state]++
		if t.scan == nil {
			continue
		}
		s := need[*t.scan]
		stale := t.state == StateStale
		for result, n := range s.states {
			if stale {
				result = StateStale
			}
			r.Totals[result] += n
		}
		// Task definitions the rule gave a verdict for, as
		// ecsaudit_posture_task_definitions lists them.
		if stale {
			r.TaskDefinitions[StateStale] += s.judged.taskDefinitions
		} else {
			r.TaskDefinitions[Fail] += s.judged.fail
			r.TaskDefinitions[Error] += s.judged.errors
			r.TaskDefinitions[Pass] += s.judged.pass
			r.TaskDefinitions[NotApplicable] += s.judged.notApplicable
		}
		if stale {
			continue
		}
		byARN := map[string]*TaskDefinition{}
		var order []string
		rows := s.rows
		s.rows = nil // each scan's rows are read once: let them go
		for _, f := range rows {
			td := byARN[f.TaskDefinitionARN]
			if td == nil {
				td = &TaskDefinition{AccountID: t.account.id, AccountName: t.account.name, OUNames: t.account.ouNames, Region: t.region,
					ARN: f.TaskDefinitionARN, Family: f.Family, Revision: f.Revision, RegisteredAt: f.RegisteredAt, ScanDT: t.scanDT,
					InUse: f.InUse, Services: f.Services, RunningTasks: f.RunningTasks}
				byARN[f.TaskDefinitionARN] = td
				order = append(order, f.TaskDefinitionARN)
			}
			td.Containers = append(td.Containers, Container{Name: f.ContainerName, Reason: f.Reason, result: f.Result})
		}
		for _, arn := range order {
			td := byARN[arn]
			fails := slices.DeleteFunc(slices.Clone(td.Containers), func(c Container) bool { return c.result != Fail })
			if len(fails) > 0 {
				td.Containers = fails
				slices.SortFunc(td.Containers, func(a, b Container) int { return strings.Compare(a.Name, b.Name) })
				failing = append(failing, *td)
			} else {
				errs = append(errs, *td)
			}
		}
	}
	newestFirst := func(a, b TaskDefinition) int {
		return cmp.Or(b.RegisteredAt.Compare(a.RegisteredAt), cmp.Compare(b.Revision, a.Revision), strings.Compare(a.ARN, b.ARN))
	}
	// Failing and running first: what a security lead acts on.
	runningFirst := func(a, b TaskDefinition) int {
		inUse := func(td TaskDefinition) int {
			if td.InUse != nil && *td.InUse {
				return 1
			}
			return 0
		}
		return cmp.Or(cmp.Compare(inUse(b), inUse(a)), cmp.Compare(b.RunningTasks, a.RunningTasks), newestFirst(a, b))
	}
	slices.SortFunc(failing, runningFirst)
	slices.SortFunc(errs, newestFirst)
	return failing, errs
}

// accountsOf sums targets per account of the organization, as
// ecsaudit_posture_accounts.
func accountsOf(org []orgAccount, targets []target, need map[scanKey]*scanInfo) []Account {
	byID := map[string]*Counts{}
	for _, t := range targets {
		d := byID[t.account.id]
		if d == nil {
			d = &Counts{}
			byID[t.account.id] = d
		}
		d.add(t, need)
	}
	out := make([]Account, 0, len(org))
	for _, a := range org {
		acct := Account{AccountID: a.id, AccountName: a.name, OUPath: a.ouPath, OUNames: a.ouNames}
		if d := byID[a.id]; d != nil {
			acct.Counts = *d
			if den := d.Pass + d.Fail + d.Errors; den > 0 {
				share := float64(d.Pass) / float64(den)
				acct.ShareCompliant = &share
			}
		}
		out = append(out, acct)
	}
	slices.SortFunc(out, func(a, b Account) int {
		return cmp.Or(strings.Compare(a.OUNames, b.OUNames), strings.Compare(a.AccountName, b.AccountName), strings.Compare(a.AccountID, b.AccountID))
	})
	return out
}

func gapsOf(gs []gap) []Gap {
	out := make([]Gap, 0, len(gs))
	for _, g := range gs {
		out = append(out, Gap{AccountID: g.account.id, AccountName: g.account.name, OUNames: g.account.ouNames, Region: g.region,
			Gap: g.kind, State: g.state, ScanDT: g.scanDT, AttemptDT: g.attemptDT, AttemptStatus: g.attemptStatus,
			ErrorCode: g.errorCode, ErrorMessage: g.errorMessage})
	}
	return out
}

// minus returns the task definitions of a whose ARN is not in b.
func minus(a, b []TaskDefinition) []TaskDefinition {
	in := map[string]bool{}
	for _, td := range b {
		in[td.ARN] = true
	}
	var out []TaskDefinition
	for _, td := range a {
		if !in[td.ARN] {
			out = append(out, td)
		}
	}
	return out
}

// ConsoleURL returns the ECS console page of the task definition revision.
func (td TaskDefinition) ConsoleURL() string {
	host := td.Region + ".console.aws.amazon.com"
	switch {
	case strings.HasPrefix(td.ARN, "arn:aws-us-gov:"):
		host = "console.amazonaws-us-gov.com"
	case strings.HasPrefix(td.ARN, "arn:aws-cn:"):
		host = "console.amazonaws.cn"
	}
	return fmt.Sprintf("https://%s/ecs/v2/task-definitions/%s/%d/containers?region=%s",
		host, url.PathEscape(td.Family), td.Revision, url.QueryEscape(td.Region))
}
