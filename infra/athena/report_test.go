package athena_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/report"
)

// TestReportMatchesViews: `ecsaudit report` computes the posture in Go; the
// shipped views, run by DuckDB over the same files, are the oracle. Every
// number the report shows — containers, task definitions and targets by
// state, each account's row, the failing and unreadable task definitions,
// the coverage gaps, the trend — must be what the views give.
func TestReportMatchesViews(t *testing.T) {
	t.Parallel()
	t.Run("fixture", func(t *testing.T) {
		t.Parallel()
		dir := fixture(t)
		compareWithViews(t, dir)
		compareChanges(t, dir, true) // app:1 fixed, newapp:1 and newer:2 new, dev's us-east-1 failed
	})
	t.Run("scenario", func(t *testing.T) {
		t.Parallel()
		out := postureScenario(t)
		compareWithViews(t, out)
		compareChanges(t, out, false)
	})
}

// postureScenario writes real runs of the binary over six days: a departed
// account's run, a nightly four days ago (sandbox's only scan: stale now),
// a nightly yesterday that excluded sandbox, a manual run of one target
// today, an aws-config comparison run and a lone shard of an incomplete run.
func postureScenario(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	writeDeparted(t, out, 5)
	back := func(days int, args ...string) {
		stage := t.TempDir()
		if code, log := localScan(t, stage, args...); code != 3 {
			t.Fatalf("scan %v: exit %d\n%s", args, code, log)
		}
		moveBack(t, stage, out, days)
	}
	now := func(args ...string) {
		if code, log := localScan(t, out, args...); code != 0 && code != 3 {
			t.Fatalf("scan %v: exit %d\n%s", args, code, log)
		}
	}
	back(4)
	back(1, "--exclude-accounts", simSandbox)
	now("--accounts", simProd, "--regions", "us-east-1")
	now("--compat", "aws-config")
	now("--shard", "0/2", "--run-id", "split")
	return out
}

// compareWithViews loads the report of each rule and queries the views of
// that rule; a run of the test that straddles midnight UTC compares again.
func compareWithViews(t *testing.T, dir string) {
	t.Helper()
	for _, rule := range []string{report.RuleControl, report.RuleHostAccess} {
		compareRuleWithViews(t, dir, rule)
	}
}

func compareRuleWithViews(t *testing.T, dir, rule string) {
	t.Helper()
	for range 2 {
		before := time.Now().UTC()
		rep, err := report.Load(t.Context(), output.Dir(dir), before, report.Options{TrendDays: 400, Rule: rule})
		if err != nil {
			t.Fatal(err)
		}
		db := openDuckDB(t, dir)
		got, want := reportFacts(rep), viewFacts(t, db, rule)
		if time.Now().UTC().Format(time.DateOnly) != rep.AsOf {
			continue // midnight passed between the two
		}
		for _, k := range slices.Sorted(mapsKeys(want)) {
			if got[k] != want[k] {
				t.Errorf("%s, %s:\n report %s\n views  %s", rule, k, got[k], want[k])
			}
		}
		if rep.RuleID != rule {
			t.Errorf("report of rule %s for %s", rep.RuleID, rule)
		}
		if rule == report.RuleControl && (rep.Totals[report.Fail] == 0 || len(rep.Failing) == 0 || len(rep.Gaps) == 0) {
			t.Errorf("the fixture shows no failure or no gap: totals %v, %d failing, %d gaps", rep.Totals, len(rep.Failing), len(rep.Gaps))
		}
		return
	}
	t.Fatal("midnight UTC passed twice")
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// reportFacts prints what the report says, one string per fact.
func reportFacts(rep *report.Report) map[string]string {
	f := map[string]string{}
	f["containers by state"] = states(rep.Totals)
	f["task definitions by state"] = states(rep.TaskDefinitions)
	f["targets by state"] = states(rep.Targets)
	var rows []string
	for _, a := range rep.Accounts {
		share := "<nil>"
		if a.ShareCompliant != nil {
			share = fmt.Sprintf("%.4g", *a.ShareCompliant)
		}
		rows = append(rows, row(a.AccountID, a.AccountName, a.OUNames, a.Targets, a.TargetsStale, a.TargetsNotScanned,
			a.TaskDefinitions, a.Fail, a.Pass, a.NotApplicable, a.Errors, share))
	}
	slices.Sort(rows)
	f["accounts"] = strings.Join(rows, "\n")
	f["failing task definitions"] = tdList(rep.Failing, true)
	f["error task definitions"] = tdList(rep.Errors, false)
	rows = nil
	for _, g := range rep.Gaps {
		rows = append(rows, row(g.AccountID, g.Region, g.Gap, g.State, g.ScanDT, g.AttemptDT, g.AttemptStatus, g.ErrorCode, g.ErrorMessage))
	}
	slices.Sort(rows)
	f["coverage gaps"] = strings.Join(rows, "\n")
	rows = nil
	for _, d := range rep.Trend {
		rows = append(rows, row(d.DT, d.Targets, d.TargetsStale, d.TargetsNotScanned, d.TaskDefinitions, d.Fail, d.Pass, d.NotApplicable, d.Errors))
	}
	f["trend"] = strings.Join(rows, "\n")
	return f
}

// row prints values separated by spaces, as the views' rows are.
func row(vals ...any) string {
	var parts []string
	for _, v := range vals {
		parts = append(parts, fmt.Sprint(v))
	}
	return strings.Join(parts, " ")
}

func states(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
	}
	return strings.Join(parts, " ")
}

func tdList(tds []report.TaskDefinition, containers bool) string {
	var rows []string
	for _, td := range tds {
		var names []string
		for _, c := range td.Containers {
			names = append(names, c.Name)
		}
		row := td.ARN + " " + td.AccountID + " " + td.Region + " " + td.ScanDT
		if containers {
			row += " " + strings.Join(names, ",")
		}
		rows = append(rows, row)
	}
	slices.Sort(rows)
	return strings.Join(rows, "\n")
}

// viewFacts prints the same facts from the views, of one rule.
func viewFacts(t *testing.T, db *sql.DB, rule string) map[string]string {
	t.Helper()
	f := map[string]string{}
	of := " rule_id = '" + rule + "' "
	countBy := func(view string) string {
		var parts []string
		for _, r := range query(t, db, "SELECT state, count(*) FROM "+view+" WHERE"+of+"GROUP BY state ORDER BY state") {
			parts = append(parts, r[0]+"="+r[1])
		}
		return strings.Join(parts, " ")
	}
	f["containers by state"] = countBy("ecsaudit_posture_containers")
	f["task definitions by state"] = countBy("ecsaudit_posture_task_definitions")
	f["targets by state"] = countBy("ecsaudit_posture_targets")
	lines := func(q string) string {
		var rows []string
		for _, r := range query(t, db, q) {
			rows = append(rows, strings.Join(r, " "))
		}
		slices.Sort(rows)
		return strings.Join(rows, "\n")
	}
	f["accounts"] = lines(`SELECT account_id, account_name, ou_names, targets, targets_stale, targets_not_scanned,
		task_definitions, fail, pass, not_applicable, errors, share_compliant FROM ecsaudit_posture_accounts WHERE` + of)
	f["failing task definitions"] = lines(`SELECT task_definition_arn, account_id, region, scan_dt, failing_containers
		FROM ecsaudit_posture_task_definitions WHERE state = 'FAIL' AND` + of)
	f["error task definitions"] = lines(`SELECT task_definition_arn, account_id, region, scan_dt
		FROM ecsaudit_posture_task_definitions WHERE state = 'ERROR' AND` + of)
	// Gaps are one per target, whatever the rule; their state is the
	// target's under the rule.
	f["coverage gaps"] = lines(`SELECT g.account_id, g.region, g.gap, coalesce(t.state, ''), coalesce(g.scan_dt, ''), coalesce(g.attempt_dt, ''),
		g.attempt_status, coalesce(g.error_code, ''), coalesce(g.error_message, '') FROM ecsaudit_coverage_gaps g
		LEFT JOIN ecsaudit_posture_targets t ON t.account_id = g.account_id AND t.region = g.region AND t.rule_id = '` + rule + `'`)
	f["trend"] = lines(`SELECT dt, sum(targets), sum(targets_stale), sum(targets_not_scanned), sum(task_definitions),
		sum(fail), sum(pass), sum(not_applicable), sum(errors) FROM ecsaudit_posture_trend WHERE` + of + `GROUP BY dt`)
	return f
}

// compareChanges: "changes since the previous run" is the posture now
// against the posture without the newest posture run. The oracle is the
// views over a copy of the output without that run's files.
func compareChanges(t *testing.T, dir string, changes bool) {
	t.Helper()
	rep, err := report.Load(t.Context(), output.Dir(dir), time.Now(), report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db := openDuckDB(t, dir)
	newest := one(t, db, "SELECT max_by(run_id, started_at) FROM ecsaudit_complete_runs WHERE posture")
	if rep.Changes.Since == "" || rep.Changes.Since == newest {
		t.Fatalf("changes since %q; the newest posture run is %q", rep.Changes.Since, newest)
	}
	without := t.TempDir()
	err = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasPrefix(e.Name(), newest) {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(without, rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(without, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	old := openDuckDB(t, without)
	failing := func(db *sql.DB) []string {
		var arns []string
		for _, r := range query(t, db, "SELECT task_definition_arn FROM ecsaudit_posture_task_definitions WHERE state = 'FAIL' AND rule_id = '"+report.RuleControl+"' ORDER BY 1") {
			arns = append(arns, r[0])
		}
		return arns
	}
	nowFail, oldFail := failing(db), failing(old)
	diff := func(a, b []string) string {
		var out []string
		for _, x := range a {
			if !slices.Contains(b, x) {
				out = append(out, x)
			}
		}
		return strings.Join(out, " ")
	}
	arns := func(tds []report.TaskDefinition) string {
		var out []string
		for _, td := range tds {
			out = append(out, td.ARN)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	if changes && (len(rep.Changes.NewFails) == 0 || len(rep.Changes.Fixed) == 0 || len(rep.Changes.NewGaps) == 0) {
		t.Errorf("the runs differ, but the report sees new FAILs %d, fixed %d, new gaps %d",
			len(rep.Changes.NewFails), len(rep.Changes.Fixed), len(rep.Changes.NewGaps))
	}
	if got, want := arns(rep.Changes.NewFails), diff(nowFail, oldFail); got != want {
		t.Errorf("new FAILs: report %q, views %q", got, want)
	}
	if got, want := arns(rep.Changes.Fixed), diff(oldFail, nowFail); got != want {
		t.Errorf("fixed: report %q, views %q", got, want)
	}
	gaps := func(db *sql.DB) []string {
		var out []string
		for _, r := range query(t, db, "SELECT account_id || '/' || region || '/' || gap FROM ecsaudit_coverage_gaps ORDER BY 1") {
			out = append(out, r[0])
		}
		return out
	}
	var got []string
	for _, g := range rep.Changes.NewGaps {
		got = append(got, g.AccountID+"/"+g.Region+"/"+g.Gap)
	}
	slices.Sort(got)
	if want := diff(gaps(db), gaps(old)); strings.Join(got, " ") != want {
		t.Errorf("new coverage gaps: report %q, views %q", got, want)
	}
}
