package athena_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecsaudit/ecsaudit/infra/athena"
	"github.com/ecsaudit/ecsaudit/internal/duckdbtest"
	"github.com/ecsaudit/ecsaudit/output"
)

// Accounts of the fixture organization.
const (
	prodAcct    = "111111111111"
	devAcct     = "222222222222"
	sandboxAcct = "333333333333"
)

// The fixture's days: yesterday and today (UTC), since the posture is
// dated against today.
var (
	day2 = time.Now().UTC().Truncate(24 * time.Hour)
	day1 = day2.Add(-24 * time.Hour)
	d1   = day1.Format("2006-01-02")
	d2   = day2.Format("2006-01-02")
)

// td describes one task definition revision of the fixture and its
// containers' results; an ERROR task definition has one result and no name.
type td struct {
	acct, region, family string
	revision             int32
	registered           time.Time
	results              map[string]string // container name → result
}

type fixtureRun struct {
	id      string
	started time.Time
	status  string // runs row status; "" = crashed after its data files, before the runs row
	tds     []td
	targets []output.Coverage // run id and start filled in
}

func account(id string) (name, ouPath, ouNames string) {
	switch id {
	case prodAcct:
		return "prod-a", "r-root/ou-prod", "Root/Prod"
	case devAcct:
		return "dev-b", "r-root/ou-dev", "Root/Dev"
	}
	return "sandbox-c", "r-root/ou-sbx", "Root/Sandbox"
}

func target(acct, region, status, code, msg string, tds int64) output.Coverage {
	name, path, names := account(acct)
	return output.Coverage{
		AccountID: acct, AccountName: name, OUPath: path, OUNames: names, Region: region,
		Status: status, ErrorCode: code, ErrorMessage: msg, TaskDefinitions: tds,
	}
}

// failRuns is a Sink that loses the runs dataset, as a job that dies
// between committing its data files and its runs row would.
type failRuns struct{ output.Sink }

func (s failRuns) Create(ctx context.Context, key string) (output.Object, error) {
	if strings.HasPrefix(key, output.RunsDataset+"/") {
		return nil, errors.New("killed before the runs row")
	}
	return s.Sink.Create(ctx, key)
}

// write commits one fixture run through output.Writer into dir and
// returns its runs row (zero when it crashed).
func (r fixtureRun) write(t *testing.T, dir string) output.Run {
	t.Helper()
	var sink output.Sink = output.Dir(dir)
	if r.status == "" {
		sink = failRuns{sink}
	}
	w := output.NewWriter(sink, r.id, r.started)
	run := output.Run{RunID: r.id, AttemptID: r.id, StartedAt: r.started, EndedAt: r.started.Add(10 * time.Minute), Status: r.status, RuleVersion: "1", RuleOptions: "control,host-access=1", Revisions: "active", ShardCount: 1}
	var rows []output.Finding
	for _, d := range r.tds {
		name, path, names := account(d.acct)
		arn := fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", d.region, d.acct, d.family, d.revision)
		for _, c := range slices.Sorted(maps.Keys(d.results)) {
			rows = append(rows, output.Finding{
				RunID: r.id, AttemptID: r.id, ScannedAt: r.started, AccountID: d.acct, AccountName: name, OUPath: path, OUNames: names,
				Region: d.region, TaskDefinitionARN: arn, Family: d.family, Revision: d.revision, Status: "ACTIVE",
				NetworkMode: "host", RegisteredAt: d.registered, ContainerName: c, RuleID: "ECSAUDIT.HOSTNET.1",
				RuleVersion: "1", Result: d.results[c],
			})
			switch d.results[c] {
			case "FAIL":
				run.Fail++
			case "PASS":
				run.Pass++
			case "NOT_APPLICABLE":
				run.NotApplicable++
			case "ERROR":
				run.Errors++
			}
		}
		run.TaskDefinitions++
	}
	run.Findings = int64(len(rows))
	cov := slices.Clone(r.targets)
	accounts := map[string]bool{}
	for i := range cov {
		cov[i].RunID, cov[i].AttemptID, cov[i].StartedAt = r.id, r.id, r.started
		accounts[cov[i].AccountID] = true
		if cov[i].Status == "scanned" {
			run.TargetsScanned++
		} else {
			run.TargetsNotScanned++
		}
	}
	run.Accounts, run.Targets = int64(len(accounts)), int64(len(cov))
	ctx := t.Context()
	if err := w.Findings(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Coverage(ctx, cov); err != nil {
		t.Fatal(err)
	}
	err := w.Commit(ctx, run)
	if r.status == "" {
		if err == nil {
			t.Fatalf("run %s: commit succeeded without its runs row", r.id)
		}
		return output.Run{}
	}
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// fixture writes two days of runs into a new directory:
//
//	day 1: a-old (complete), b-new (complete, newer), c-crash (newest, no runs row)
//	day 2: d-day2 (complete), e-stopped (newer, runs row says interrupted)
//
// so the visible runs are b-new for day 1 and d-day2 for day 2.
func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	reg := day1.Add(-30 * 24 * time.Hour)
	at := func(d time.Time, h int) time.Time { return d.Add(time.Duration(h) * time.Hour) }
	runs := []fixtureRun{{
		id: "a-old", started: at(day1, 1), status: "complete",
		tds: []td{
			{prodAcct, "us-east-1", "app", 1, reg, map[string]string{"web": "FAIL", "sidecar": "PASS"}},
			{prodAcct, "us-east-1", "api", 3, reg, map[string]string{"api": "PASS"}},
		},
		targets: []output.Coverage{target(prodAcct, "us-east-1", "scanned", "", "", 2)},
	}, {
		id: "b-new", started: at(day1, 3), status: "complete",
		tds: []td{
			{prodAcct, "us-east-1", "app", 1, reg, map[string]string{"web": "FAIL", "sidecar": "FAIL"}},
			{prodAcct, "us-east-1", "api", 3, reg, map[string]string{"api": "PASS"}},
			{prodAcct, "us-east-1", "batch", 2, reg, map[string]string{"worker": "NOT_APPLICABLE"}},
			{devAcct, "us-east-1", "legacy", 9, time.Time{}, map[string]string{"": "ERROR"}},
			{devAcct, "us-east-1", "tool", 4, reg, map[string]string{"runner": "FAIL"}},
		},
		targets: []output.Coverage{
			target(prodAcct, "us-east-1", "scanned", "", "", 3),
			target(prodAcct, "eu-west-1", "scanned", "", "", 0),
			target(devAcct, "us-east-1", "scanned", "", "", 2),
			target(sandboxAcct, "", "denied", "AccessDenied", "not authorized to perform sts:AssumeRole", 0),
		},
	}, {
		id: "c-crash", started: at(day1, 5),
		tds:     []td{{prodAcct, "us-east-1", "ghost", 1, reg, map[string]string{"g": "FAIL"}}},
		targets: []output.Coverage{target(prodAcct, "us-east-1", "scanned", "", "", 1)},
	}, {
		id: "d-day2", started: at(day2, 2), status: "complete",
		tds: []td{
			{prodAcct, "us-east-1", "app", 1, reg, map[string]string{"web": "PASS", "sidecar": "PASS"}},
			{prodAcct, "us-east-1", "api", 3, reg, map[string]string{"api": "PASS"}},
			{prodAcct, "us-east-1", "newapp", 1, at(day1, 12), map[string]string{"main": "FAIL"}},
			{prodAcct, "us-east-1", "newer", 2, at(day2, 1), map[string]string{"c2": "FAIL", "c1": "FAIL", "ok": "PASS"}},
			{prodAcct, "us-east-1", "batch", 2, reg, map[string]string{"worker": "NOT_APPLICABLE"}},
		},
		targets: []output.Coverage{
			target(prodAcct, "us-east-1", "scanned", "", "", 5),
			target(prodAcct, "eu-west-1", "scanned", "", "", 0),
			target(devAcct, "us-east-1", "failed", "ThrottlingException", "Rate exceeded", 0),
			target(devAcct, "eu-west-1", "scanned", "", "", 0),
			target(sandboxAcct, "", "denied", "AccessDenied", "not authorized to perform sts:AssumeRole", 0),
		},
	}, {
		id: "e-stopped", started: at(day2, 6), status: "interrupted",
		tds:     []td{{prodAcct, "us-east-1", "partial", 1, reg, map[string]string{"p": "FAIL"}}},
		targets: []output.Coverage{target(prodAcct, "us-east-1", "scanned", "", "", 1)},
	}}
	for _, r := range runs {
		r.write(t, dir)
	}
	return dir
}

func checkRows(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	if !slices.EqualFunc(got, want, slices.Equal) {
		var b strings.Builder
		for _, r := range got {
			fmt.Fprintf(&b, "  %q\n", r)
		}
		t.Errorf("%s:\n got\n%s want %q", what, b.String(), want)
	}
}

// TestViewsInDuckDB protects what people and QuickSight read: the run
// views show every complete run and hide the crashed and the interrupted
// one; the posture holds each target's newest scan, keeps a target's
// older scan when tonight's attempt failed, and aggregates as documented.
func TestViewsInDuckDB(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t, fixture(t))

	// The raw tables hold every run that committed data files…
	checkRows(t, "runs with data", query(t, db, `SELECT DISTINCT run_id FROM findings ORDER BY 1`),
		[][]string{{"a-old"}, {"b-new"}, {"c-crash"}, {"d-day2"}, {"e-stopped"}})
	// …but only complete runs are visible.
	checkRows(t, "complete runs", query(t, db, `SELECT dt, run_id, task_definitions, findings, fail FROM ecsaudit_complete_runs ORDER BY 1, 2`),
		[][]string{{d1, "a-old", "2", "3", "1"}, {d1, "b-new", "5", "6", "3"}, {d2, "d-day2", "5", "8", "3"}})
	checkRows(t, "run checks", query(t, db, `SELECT run_id, complete, not_complete_because FROM ecsaudit_run_checks ORDER BY 1`),
		[][]string{{"a-old", "true", ""}, {"b-new", "true", ""}, {"d-day2", "true", ""}, {"e-stopped", "false", "a shard was interrupted or failed"}})

	checkRows(t, "run findings per run", query(t, db, `SELECT dt, run_id, count(*) FROM ecsaudit_run_findings GROUP BY 1, 2 ORDER BY 1, 2`),
		[][]string{{d1, "a-old", "3"}, {d1, "b-new", "6"}, {d2, "d-day2", "8"}})
	// The run findings agree with the runs rows that vouch for them.
	checkRows(t, "findings vs runs rows", query(t, db, `
		SELECT r.run_id, r.findings = count(*), r.fail = count_if(f.result = 'FAIL'),
		       r.task_definitions = count(DISTINCT f.task_definition_arn)
		FROM ecsaudit_complete_runs r JOIN ecsaudit_run_findings f ON f.dt = r.dt AND f.run_id = r.run_id
		GROUP BY r.run_id, r.findings, r.fail, r.task_definitions ORDER BY 1`),
		[][]string{{"a-old", "true", "true", "true"}, {"b-new", "true", "true", "true"}, {"d-day2", "true", "true", "true"}})

	checkRows(t, "task definition verdicts", query(t, db, `
		SELECT dt, account_id, family, revision, verdict, failing_container_count, failing_containers
		FROM ecsaudit_run_verdicts WHERE run_id <> 'a-old' ORDER BY dt, account_id, family`),
		[][]string{
			{d1, prodAcct, "api", "3", "PASS", "0", ""},
			{d1, prodAcct, "app", "1", "FAIL", "2", "sidecar,web"},
			{d1, prodAcct, "batch", "2", "NOT_APPLICABLE", "0", ""},
			{d1, devAcct, "legacy", "9", "ERROR", "0", ""},
			{d1, devAcct, "tool", "4", "FAIL", "1", "runner"},
			{d2, prodAcct, "api", "3", "PASS", "0", ""},
			{d2, prodAcct, "app", "1", "PASS", "0", ""},
			{d2, prodAcct, "batch", "2", "NOT_APPLICABLE", "0", ""},
			{d2, prodAcct, "newapp", "1", "FAIL", "1", "main"},
			{d2, prodAcct, "newer", "2", "FAIL", "2", "c1,c2"},
		})
	checkRows(t, "one verdict row per task definition and run", query(t, db, `
		SELECT count(*) = count(DISTINCT run_id || task_definition_arn) FROM ecsaudit_run_verdicts`),
		[][]string{{"true"}})

	checkRows(t, "coverage", query(t, db, `
		SELECT dt, run_id, account_id, region, status, scanned, error_code
		FROM ecsaudit_run_coverage WHERE run_id <> 'a-old' ORDER BY dt, account_id, region`),
		[][]string{
			{d1, "b-new", prodAcct, "eu-west-1", "scanned", "true", ""},
			{d1, "b-new", prodAcct, "us-east-1", "scanned", "true", ""},
			{d1, "b-new", devAcct, "us-east-1", "scanned", "true", ""},
			{d1, "b-new", sandboxAcct, "", "denied", "false", "AccessDenied"},
			{d2, "d-day2", prodAcct, "eu-west-1", "scanned", "true", ""},
			{d2, "d-day2", prodAcct, "us-east-1", "scanned", "true", ""},
			{d2, "d-day2", devAcct, "eu-west-1", "scanned", "true", ""},
			{d2, "d-day2", devAcct, "us-east-1", "failed", "false", "ThrottlingException"},
			{d2, "d-day2", sandboxAcct, "", "denied", "false", "AccessDenied"},
		})

	// Yesterday a-old's scan of prod us-east-1 was replaced by b-new's;
	// today dev us-east-1 failed, so yesterday's scan of it stands.
	checkRows(t, "posture history", query(t, db, `
		SELECT dt, account_id, region, state, scan_run_id, age_days, task_definitions
		FROM ecsaudit_posture_history WHERE rule_id = 'ECSAUDIT.HOSTNET.1' ORDER BY dt, account_id, region`),
		[][]string{
			{d1, prodAcct, "eu-west-1", "EMPTY", "b-new", "0", "0"},
			{d1, prodAcct, "us-east-1", "FAIL", "b-new", "0", "3"},
			{d1, devAcct, "us-east-1", "FAIL", "b-new", "0", "2"},
			{d2, prodAcct, "eu-west-1", "EMPTY", "d-day2", "0", "0"},
			{d2, prodAcct, "us-east-1", "FAIL", "d-day2", "0", "5"},
			{d2, devAcct, "eu-west-1", "EMPTY", "d-day2", "0", "0"},
			{d2, devAcct, "us-east-1", "FAIL", "b-new", "1", "2"},
		})

	checkRows(t, "posture trend", query(t, db, `
		SELECT dt, account_id, ou_names, targets, task_definitions, fail, pass, not_applicable, errors, share_compliant
		FROM ecsaudit_posture_trend WHERE rule_id = 'ECSAUDIT.HOSTNET.1' ORDER BY dt, account_id`),
		[][]string{
			{d1, prodAcct, "Root/Prod", "2", "3", "1", "1", "1", "0", "0.5"},
			{d1, devAcct, "Root/Dev", "1", "2", "1", "0", "0", "1", "0"},
			{d1, sandboxAcct, "Root/Sandbox", "0", "0", "0", "0", "0", "0", "<nil>"},
			{d2, prodAcct, "Root/Prod", "2", "5", "2", "2", "1", "0", "0.5"},
			{d2, devAcct, "Root/Dev", "2", "2", "1", "0", "0", "1", "0"},
			{d2, sandboxAcct, "Root/Sandbox", "0", "0", "0", "0", "0", "0", "<nil>"},
		})

	// These runs wrote no host-access rows: under that rule every task
	// definition they found is NOT_APPLICABLE, and the targets the same.
	checkRows(t, "host-access posture trend", query(t, db, `
		SELECT dt, account_id, targets, task_definitions, fail, pass, not_applicable, errors, share_compliant
		FROM ecsaudit_posture_trend WHERE rule_id = 'ECSAUDIT.HOSTNET.2' ORDER BY dt, account_id`),
		[][]string{
			{d1, prodAcct, "2", "3", "0", "0", "3", "0", "<nil>"},
			{d1, devAcct, "1", "2", "0", "0", "2", "0", "<nil>"},
			{d1, sandboxAcct, "0", "0", "0", "0", "0", "0", "<nil>"},
			{d2, prodAcct, "2", "5", "0", "0", "5", "0", "<nil>"},
			{d2, devAcct, "2", "2", "0", "0", "2", "0", "<nil>"},
			{d2, sandboxAcct, "0", "0", "0", "0", "0", "0", "<nil>"},
		})
	checkRows(t, "host-access target states", query(t, db, `
		SELECT DISTINCT state FROM ecsaudit_posture_targets WHERE rule_id = 'ECSAUDIT.HOSTNET.2' ORDER BY 1`),
		[][]string{{"EMPTY"}, {"NOT_APPLICABLE"}})

	checkRows(t, "posture accounts", query(t, db, `
		SELECT dt, account_id, account_name, ou_path, targets, targets_stale, targets_not_scanned,
		       task_definitions, fail, pass, not_applicable, errors, share_compliant
		FROM ecsaudit_posture_accounts WHERE rule_id = 'ECSAUDIT.HOSTNET.1' ORDER BY account_id`),
		[][]string{
			{d2, prodAcct, "prod-a", "r-root/ou-prod", "2", "0", "0", "5", "2", "2", "1", "0", "0.5"},
			{d2, devAcct, "dev-b", "r-root/ou-dev", "2", "0", "0", "2", "1", "0", "0", "1", "0"},
			{d2, sandboxAcct, "sandbox-c", "r-root/ou-sbx", "0", "0", "0", "0", "0", "0", "0", "0", "<nil>"},
		})

	// QuickSight drops array columns: no view may return one.
	checkRows(t, "array columns in views", query(t, db, `
		SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_name LIKE 'ecsaudit_%' AND (data_type LIKE '%[]' OR data_type LIKE 'STRUCT%' OR data_type LIKE 'MAP%')`),
		nil)
}

// TestQueriesInDuckDB protects the saved queries' answers on the fixture.
func TestQueriesInDuckDB(t *testing.T) {
	t.Parallel()
	db := openDuckDB(t, fixture(t))
	q := athena.Queries()
	if len(q) != 3 {
		t.Fatalf("saved queries %v, want 3", slices.Sorted(maps.Keys(q)))
	}

	checkRows(t, "failing_today", project(query(t, db, q["failing_today"]), 0, 1, 5, 6, 8),
		[][]string{
			{d2, prodAcct, "newer", "2", "c1,c2"},
			{d2, prodAcct, "newapp", "1", "main"},
			{d1, devAcct, "tool", "4", "runner"}, // today's attempt failed: yesterday's scan stands
		})
	checkRows(t, "changes_since_yesterday", project(query(t, db, q["changes_since_yesterday"]), 0, 1, 4, 5, 6, 7),
		[][]string{
			{"fixed", prodAcct, "arn:aws:ecs:us-east-1:111111111111:task-definition/app:1", "FAIL", "PASS", ""},
			{"new_fail", prodAcct, "arn:aws:ecs:us-east-1:111111111111:task-definition/newapp:1", "<nil>", "FAIL", "main"},
			{"new_fail", prodAcct, "arn:aws:ecs:us-east-1:111111111111:task-definition/newer:2", "<nil>", "FAIL", "c1,c2"},
		})
	checkRows(t, "not_scanned", query(t, db, q["not_scanned"]),
		[][]string{
			{devAcct, "dev-b", "Root/Dev", "last_attempt", "failed", "ThrottlingException", "1", "us-east-1", "Rate exceeded"},
			{sandboxAcct, "sandbox-c", "Root/Sandbox", "account", "denied", "AccessDenied", "1", "(account)", "not authorized to perform sts:AssumeRole"},
		})
}

// project keeps the given columns of each row.
func project(rows [][]string, cols ...int) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		for _, c := range cols {
			out[i] = append(out[i], r[c])
		}
	}
	return out
}

// TestShardedRunsInDuckDB protects how runs become visible: a run is
// complete only when every one of its shards committed a runs row saying
// 'complete' or 'partial' (finished, some targets not scanned), and its
// counts are the shards' sums; an unsharded run is shard 0 of 1; shards
// on either side of midnight UTC still make one run, dated by the first.
func TestShardedRunsInDuckDB(t *testing.T) {
	t.Parallel()
	db := duckdbtest.Open(t)
	// s1 has one shard of two, s2 both, s3 both with one partial, s4 is
	// unsharded, s5 has one shard interrupted, s6 straddles midnight, s7's
	// interrupted shard was retried and completed, s8's completed shard was
	// retried (say, a duplicate submission) and the newer attempt was
	// interrupted: only the newest attempt of each shard counts. s9's
	// shards balanced their plans on different runs, and s10's left an
	// account they listed in no shard's coverage: neither is complete.
	for _, s := range append([]string{
		`CREATE TABLE runs AS SELECT *,
		   run_id || '-' || shard_index || '-' || attempt AS attempt_id,
		   TIMESTAMP '2026-11-28 01:00:00' + attempt * INTERVAL 1 HOUR AS started_at, TIMESTAMP '2026-11-28 01:10:00' AS ended_at,
		   '' AS previous_run_id,
		   'v' AS version, '1' AS rule_version, 'control,host-access=1' AS rule_options, 3::BIGINT AS accounts,
		   '' AS accounts_filter, '' AS exclude_accounts, '' AS ou_filter, '' AS exclude_ou, '' AS regions_filter,
		   'active' AS revisions, 'digest' AS org_digest,
		   4::BIGINT AS targets, 4::BIGINT AS targets_scanned, 0::BIGINT AS targets_not_scanned, 0::BIGINT AS accounts_not_scanned,
		   5::BIGINT AS task_definitions, 1::BIGINT AS task_definitions_carried, 6::BIGINT AS findings, 1::BIGINT AS fail,
		   2::BIGINT AS pass, 3::BIGINT AS not_applicable, 0::BIGINT AS errors, 7::BIGINT AS api_calls,
		   0::BIGINT AS throttled_calls
		 FROM (VALUES
		   ('2026-11-28', 's1', 'complete', 0, 2, 0, '', 0),
		   ('2026-11-28', 's2', 'complete', 0, 2, 0, '', 0),
		   ('2026-11-28', 's2', 'complete', 1, 2, 0, '', 0),
		   ('2026-11-28', 's3', 'complete', 0, 2, 0, '', 0),
		   ('2026-11-28', 's3', 'partial', 1, 2, 0, '', 0),
		   ('2026-11-28', 's4', 'complete', 0, 1, 0, '', 0),
		   ('2026-11-28', 's5', 'complete', 0, 2, 0, '', 0),
		   ('2026-11-28', 's5', 'interrupted', 1, 2, 0, '', 0),
		   ('2026-11-28', 's6', 'complete', 0, 2, 0, '', 0),
		   ('2026-11-29', 's6', 'complete', 1, 2, 0, '', 0),
		   ('2026-11-28', 's7', 'complete', 0, 2, 0, '', 0),
		   ('2026-11-28', 's7', 'interrupted', 1, 2, 0, '', 0),
		   ('2026-11-28', 's7', 'complete', 1, 2, 1, '', 0),
		   ('2026-11-28', 's8', 'complete', 0, 2, 0, '', 0),
		   ('2026-11-28', 's8', 'complete', 1, 2, 0, '', 0),
		   ('2026-11-28', 's8', 'interrupted', 1, 2, 1, '', 0),
		   ('2026-11-28', 's9', 'complete', 0, 2, 0, 'night-a', 0),
		   ('2026-11-28', 's9', 'complete', 1, 2, 0, 'night-b', 0),
		   ('2026-11-28', 's10', 'complete', 0, 2, 0, '', 2),
		   ('2026-11-28', 's10', 'complete', 1, 2, 0, '', 2)
		 ) AS t(dt, run_id, status, shard_index, shard_count, attempt, plan_run_id, org_accounts)`,
		// s10's shards listed two accounts; their coverage names one.
		`CREATE TABLE coverage AS SELECT * FROM (VALUES ('s10-0-0', '2026-11-28', '111111111111')) AS t(attempt_id, dt, account_id)`,
	}, views(t, "ecsaudit_settings", "ecsaudit_attempts", "ecsaudit_run_checks", "ecsaudit_complete_runs")...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("duckdb: %v\n%s", err, s)
		}
	}
	checkRows(t, "why not complete", query(t, db, `SELECT run_id, not_complete_because FROM ecsaudit_run_checks WHERE NOT complete ORDER BY 1`),
		[][]string{
			{"s1", "not every shard has committed"},
			{"s10", "some listed accounts are in no shard's coverage"},
			{"s5", "a shard was interrupted or failed"},
			{"s8", "a shard was interrupted or failed"},
			{"s9", "shards balanced their plans on different runs"},
		})
	checkRows(t, "complete runs", query(t, db, `SELECT run_id, dt, shard_count, accounts, task_definitions, findings FROM ecsaudit_complete_runs ORDER BY 1`),
		[][]string{
			{"s2", "2026-11-28", "2", "6", "10", "12"},
			{"s3", "2026-11-28", "2", "6", "10", "12"},
			{"s4", "2026-11-28", "1", "3", "5", "6"},
			{"s6", "2026-11-28", "2", "6", "10", "12"},
			{"s7", "2026-11-28", "2", "6", "10", "12"},
		})
}

// TestShardAfterMidnightCountsOnTheRunsDay: shard 1 of a run started just
// after midnight UTC, so its files sit in the next day's partition. The
// run views date its findings and coverage by the run, so the run's day
// holds both shards' accounts, and the next day holds nothing of the run.
func TestShardAfterMidnightCountsOnTheRunsDay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	for i, acct := range []string{prodAcct, devAcct} {
		started := time.Date(2026, 11, 28, 23, 59, 30, 0, time.UTC).Add(time.Duration(i) * time.Minute)
		attempt := fmt.Sprintf("r1-shard%d", i)
		name, path, names := account(acct)
		w := output.NewWriter(output.Dir(dir), attempt, started)
		f := output.Finding{RunID: "r1", AttemptID: attempt, ScannedAt: started, AccountID: acct, AccountName: name, OUPath: path, OUNames: names,
			Region: "us-east-1", TaskDefinitionARN: "arn:aws:ecs:us-east-1:" + acct + ":task-definition/app:1", Family: "app", Revision: 1,
			Status: "ACTIVE", NetworkMode: "host", ContainerName: "c", RuleID: "ECSAUDIT.HOSTNET.1", RuleVersion: "1", Result: "FAIL"}
		c := target(acct, "us-east-1", "scanned", "", "", 1)
		c.RunID, c.AttemptID, c.StartedAt = "r1", attempt, started
		if err := errors.Join(w.Findings(ctx, []output.Finding{f}), w.Coverage(ctx, []output.Coverage{c})); err != nil {
			t.Fatal(err)
		}
		run := output.Run{RunID: "r1", AttemptID: attempt, StartedAt: started, EndedAt: started.Add(time.Minute), Status: "complete",
			RuleVersion: "1", ShardIndex: int32(i), ShardCount: 2, Accounts: 1, Targets: 1, TargetsScanned: 1, TaskDefinitions: 1, Findings: 1, Fail: 1}
		if err := w.Commit(ctx, run); err != nil {
			t.Fatal(err)
		}
	}
	db := openDuckDB(t, dir)
	checkRows(t, "findings by day", query(t, db, `SELECT dt, count(*) FROM ecsaudit_run_findings GROUP BY dt`),
		[][]string{{"2026-11-28", "2"}})
	checkRows(t, "coverage by day", query(t, db, `SELECT dt, count(*) FROM ecsaudit_run_coverage GROUP BY dt`),
		[][]string{{"2026-11-28", "2"}})
	checkRows(t, "verdicts", query(t, db, `SELECT dt, account_id, verdict FROM ecsaudit_run_verdicts ORDER BY 2`),
		[][]string{{"2026-11-28", prodAcct, "FAIL"}, {"2026-11-28", devAcct, "FAIL"}})
}

// views returns the named statements of views.sql, in its order.
func views(t *testing.T, names ...string) []string {
	t.Helper()
	var out []string
	for _, v := range athena.Views() {
		for _, n := range names {
			if strings.HasPrefix(v, "CREATE OR REPLACE VIEW "+n+" AS") {
				out = append(out, v)
			}
		}
	}
	if len(out) != len(names) {
		t.Fatalf("views.sql has %d of the views %q", len(out), names)
	}
	return out
}
