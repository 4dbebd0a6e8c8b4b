package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/internal/duckdbtest"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// sqlRows runs q with DuckDB, where {findings}, {coverage}, {usage} and
// {runs} stand for the datasets under dir.
func sqlRows(t *testing.T, dir, q string) [][]string {
	t.Helper()
	for _, ds := range []string{"findings", "coverage", "usage", "runs"} {
		q = strings.ReplaceAll(q, "{"+ds+"}", fmt.Sprintf("read_parquet('%s/%s/dt=*/*.parquet', hive_partitioning = true)", dir, ds))
	}
	return duckdbtest.Rows(t, duckdbtest.Open(t), q)
}

// The demo organization's revisions that something runs, written by hand
// from the clusters in simorg/default.json: account region revision, then
// in_use, services and running_tasks. Every other revision listed is
// in_use false with no services and no tasks.
var demoInUse = []string{
	"333333333333 us-east-1 ledger:4 true 1 2",
	"333333333333 us-east-1 node-exporter:1 true 1 2",
	"333333333333 us-east-1 payments-api:2 true 1 1", // the ACTIVE deployment, draining
	"333333333333 us-east-1 payments-api:3 true 1 3",
	"333333333333 us-east-1 payments-worker:2 true 1 2",
	"333333333333 ap-southeast-2 fraud-scorer:2 true 1 1",
	"444444444444 us-east-1 batch:3 true 0 2", // standalone tasks only
	"444444444444 us-east-1 web:3 true 1 1",
	"444444444444 eu-west-1 metrics:1 true 1 0", // desired 1, none running
	"555555555555 us-east-1 experiment:2 true 0 1",
}

// inUseRows reads every findings row's use, one line per revision.
func inUseRows(t *testing.T, dir string, where string) (used, unused []string) {
	t.Helper()
	for _, r := range sqlRows(t, dir, "SELECT DISTINCT account_id, region, family || ':' || revision, in_use, services, running_tasks FROM {findings} WHERE "+where) {
		line := strings.Join(r, " ")
		if r[3] == "true" {
			used = append(used, line)
		} else {
			unused = append(unused, line)
		}
	}
	slices.Sort(used)
	return used, unused
}

// TestScanInUse scans the demo organization and checks what runs each
// revision against the fixture, by hand: in the findings, in the usage
// dataset, in coverage and in the runs row; failing revisions both running
// and unused; and the secret a standalone task's override carries nowhere.
func TestScanInUse(t *testing.T) {
	t.Parallel()
	srv := serve(t, simorg.Default(), simorg.Options{})
	res := runScan(t, srv, nil, "--log-level", "debug", "--log-format", "json")
	wantExit(t, res, exitPartial) // the demo's denied role and region

	want := slices.Sorted(slices.Values(demoInUse))
	used, unused := inUseRows(t, res.out, "true")
	if !slices.Equal(used, want) {
		t.Errorf("revisions in use\n got: %q\nwant: %q", used, want)
	}
	for _, line := range unused {
		if !strings.HasSuffix(line, " false 0 0") {
			t.Errorf("unused revision %q: want in_use false, no services, no tasks", line)
		}
	}
	// Failing revisions both running and unused.
	failing := sqlRows(t, res.out, "SELECT rule_id, count(DISTINCT task_definition_arn) FILTER (WHERE in_use), count(DISTINCT task_definition_arn) FILTER (WHERE NOT in_use) FROM {findings} WHERE result = 'FAIL' GROUP BY 1 ORDER BY 1")
	// The control: in use payments-api:3, payments-worker:2, ledger:4,
	// web:3 (us-east-1), metrics:1 (eu-west-1), experiment:2; unused
	// ledger:1-3, web:1 (eu-west-1), experiment:1, metrics-agent:1,
	// jupyter:2. The host-access rule: metrics:1 in use; node-exporter:3,
	// ci-runner:1 and net-tools:1 unused.
	wantFailing := [][]string{{check.RuleID, "6", "7"}, {check.HostAccessRuleID, "1", "3"}}
	if !slices.EqualFunc(failing, wantFailing, slices.Equal) {
		t.Errorf("failing revisions by rule, in use, unused: %q; want %q", failing, wantFailing)
	}

	usage := query(t, res.out, "usage", "count(*), sum(running_tasks), count(*) FILTER (WHERE service = ''), sum(desired_count), sum(running_count)")
	if u := usage[0]; u[0] != "11" || u[1] != "16" || u[2] != "3" || u[3] != "12" || u[4] != "12" {
		t.Errorf("usage dataset: rows, tasks, standalone rows, desired, running = %v; want 11 16 3 12 12", u)
	}
	standalone := sqlRows(t, res.out, "SELECT account_id, task_definition_arn, started_by, launch_types, running_tasks FROM {usage} WHERE service = '' ORDER BY 2")
	wantStandalone := [][]string{
		{"333333333333", "arn:aws:ecs:us-east-1:333333333333:task-definition/payments-api:1", "ops-oncall", "EC2", "1"}, // INACTIVE, FAIL, running
		{"444444444444", "arn:aws:ecs:us-east-1:444444444444:task-definition/batch:3", "events-rule/nightly-batch", "EC2", "2"},
		{"555555555555", "arn:aws:ecs:us-east-1:555555555555:task-definition/experiment:2", "alice", "EC2", "1"},
	}
	if !slices.EqualFunc(standalone, wantStandalone, slices.Equal) {
		t.Errorf("standalone usage\n got: %q\nwant: %q", standalone, wantStandalone)
	}

	cov := sqlRows(t, res.out, "SELECT status, usage_status, count(*), sum(clusters), sum(services), sum(running_tasks) FROM {coverage} GROUP BY ALL ORDER BY ALL")
	// Denied: 333333333333 in eu-west-1 (an SCP: usage denied too) and
	// 222222222222's role (no target, so usage not tried). Skipped: four
	// regions not opted in and the closed account.
	wantCov := [][]string{{"denied", "denied", "1", "0", "0", "0"}, {"denied", "skipped", "1", "0", "0", "0"},
		{"scanned", "read", "11", "6", "7", "16"}, {"skipped", "skipped", "5", "0", "0", "0"}}
	if !slices.EqualFunc(cov, wantCov, slices.Equal) {
		t.Errorf("coverage by status, usage status\n got: %q\nwant: %q", cov, wantCov)
	}
	if r := query(t, res.out, "runs", "services, running_tasks, usage_not_read")[0]; r[0] != "7" || r[1] != "16" || r[2] != "0" {
		t.Errorf("runs row services, running_tasks, usage_not_read = %v; want 7 16 0", r)
	}

	for _, ds := range []string{"findings", "coverage", "usage", "runs"} {
		for _, r := range query(t, res.out, ds, "*") {
			if strings.Contains(strings.Join(r, "|"), simorg.PlantedSecret) {
				t.Errorf("%s carries the planted secret: %v", ds, r)
			}
		}
	}
	if strings.Contains(res.stderr+res.stdout, simorg.PlantedSecret) {
		t.Error("the log carries the planted secret")
	}
}

// TestScanInUseUnknown: a scan role without the usage actions (deployed
// before ecsaudit needed them) still gets every verdict; in_use is null,
// never false, each scanned target's coverage says why, and the run is
// partial. The next night, with the actions granted, carries the verdicts
// but reads usage anew: the carried rows say what runs them now.
func TestScanInUseUnknown(t *testing.T) {
	t.Parallel()
	org := simorg.Default()
	out := filepath.Join(t.TempDir(), "findings")

	srv := serve(t, org, simorg.Options{DenyOperations: []string{"ListClusters"}})
	res := runScan(t, srv, nil, "--output", out)
	res.out = out
	wantExit(t, res, exitPartial)
	if n := query(t, out, "findings", "count(*) FILTER (WHERE in_use IS NOT NULL), count(*)")[0]; n[0] != "0" || n[1] != "80" {
		t.Errorf("findings with in_use set %s of %s; want 0 of 80", n[0], n[1])
	}
	cov := sqlRows(t, out, "SELECT usage_status, usage_error_code, count(*) FROM {coverage} WHERE status = 'scanned' GROUP BY ALL")
	if len(cov) != 1 || cov[0][0] != "denied" || cov[0][1] != "AccessDeniedException" || cov[0][2] != "11" {
		t.Errorf("scanned targets' usage: %q; want 11 denied AccessDeniedException", cov)
	}
	// 20 FAIL rows: the control's 13 and the host-access rule's 7.
	if r := query(t, out, "runs", "status, usage_not_read, fail")[0]; r[0] != "partial" || r[1] != "11" || r[2] != "20" {
		t.Errorf("runs row status, usage_not_read, fail = %v; want partial 11 20", r)
	}

	srv = serve(t, org, simorg.Options{})
	res = runScan(t, srv, nil, "--output", out)
	res.out = out
	wantExit(t, res, exitPartial)
	night2 := onlyRun(t, res)
	if n := query(t, night2.out, "findings", "count(*) FILTER (WHERE carried)")[0]; n[0] == "0" {
		t.Fatal("night 2 carried nothing")
	}
	used, unused := inUseRows(t, night2.out, "carried")
	want := slices.Sorted(slices.Values(demoInUse))
	if !slices.Equal(used, want) {
		t.Errorf("carried revisions in use\n got: %q\nwant: %q", used, want)
	}
	for _, line := range unused {
		if !strings.HasSuffix(line, " false 0 0") {
			t.Errorf("carried unused revision %q: want in_use false", line)
		}
	}
}
