package athena_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ecsaudit/ecsaudit/internal/clitest"
	"github.com/ecsaudit/ecsaudit/output"
)

// Accounts of the simulated organization (simorg/default.json).
const (
	simManagement = "111111111111"
	simSecurity   = "222222222222" // its role cannot be assumed
	simProd       = "333333333333" // an SCP denies eu-west-1
	simDev        = "444444444444"
	simSandbox    = "555555555555"
	simClosed     = "666666666666" // suspended
	departed      = "999999999999" // left the organization (written by the test)
)

// partialOrNot accepts exit code 0 or 3.
const partialOrNot = -1

// localScan runs `ecsaudit scan --simulate --output dir` with args and
// returns its exit code and output.
func localScan(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(clitest.Binary(t), append([]string{"scan", "--simulate", "--output", dir, "--log-format", "text"}, args...)...)
	cmd.Env = clitest.Env(t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return clitest.ExitCode(t, cmd.Run()), out.String()
}

// runID reads the run id from the summary the binary prints.
func runID(t *testing.T, out string) string {
	t.Helper()
	for line := range strings.Lines(out) {
		if rest, ok := strings.CutPrefix(line, "ecsaudit run "); ok {
			id, _, _ := strings.Cut(rest, ":")
			return id
		}
	}
	t.Fatalf("no run id in\n%s", out)
	return ""
}

// moveBack copies every run the binary wrote to from into to, as if it
// had run days earlier: its times move back by days and its files into
// that day's dt partition, written by output's own Writer.
func moveBack(t *testing.T, from, to string, days int) {
	t.Helper()
	ctx := t.Context()
	src := output.Dir(from)
	shift := -time.Duration(days) * 24 * time.Hour
	keys, err := src.List(ctx, output.RunsDataset+"/")
	if err != nil || len(keys) == 0 {
		t.Fatalf("runs in %s: %v, %v", from, keys, err)
	}
	for _, key := range keys {
		p := output.Previous{RunsKey: key}
		var run output.Run
		var cov []output.Coverage
		var finds []output.Finding
		err := errors.Join(
			output.Read(ctx, src, key, func(r output.Run) error { run = r; return nil }),
			output.Read(ctx, src, p.CoverageKey(), func(c output.Coverage) error {
				c.StartedAt = c.StartedAt.Add(shift)
				cov = append(cov, c)
				return nil
			}),
			output.Read(ctx, src, p.FindingsKey(), func(f output.Finding) error {
				f.ScannedAt = f.ScannedAt.Add(shift)
				finds = append(finds, f)
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		run.StartedAt, run.EndedAt = run.StartedAt.Add(shift), run.EndedAt.Add(shift)
		w := output.NewWriter(output.Dir(to), run.AttemptID, run.StartedAt)
		if err := errors.Join(w.Coverage(ctx, cov), w.Findings(ctx, finds), w.Commit(ctx, run)); err != nil {
			t.Fatal(err)
		}
	}
}

// writeDeparted writes, days ago, a complete nightly run of an
// organization that then held one account, since departed: one target, one
// failing task definition.
func writeDeparted(t *testing.T, dir string, days int) {
	t.Helper()
	ctx := t.Context()
	started := time.Now().UTC().Add(-time.Duration(days) * 24 * time.Hour)
	const id = "departed-run"
	w := output.NewWriter(output.Dir(dir), id, started)
	cov := output.Coverage{RunID: id, AttemptID: id, AccountID: departed, AccountName: "gone", OUPath: "r-s1m0", OUNames: "Root",
		Region: "us-east-1", Status: "scanned", TaskDefinitions: 1, Findings: 1, StartedAt: started}
	f := output.Finding{RunID: id, AttemptID: id, ScannedAt: started, AccountID: departed, AccountName: "gone", OUPath: "r-s1m0", OUNames: "Root",
		Region: "us-east-1", TaskDefinitionARN: "arn:aws:ecs:us-east-1:" + departed + ":task-definition/old:1", Family: "old", Revision: 1,
		Status: "ACTIVE", NetworkMode: "host", ContainerName: "c", RuleID: "ECSAUDIT.HOSTNET.1", RuleVersion: "1", Result: "FAIL"}
	run := output.Run{RunID: id, AttemptID: id, StartedAt: started, EndedAt: started.Add(time.Minute), Status: "complete",
		RuleVersion: "1", RuleOptions: "control,host-access=1", Revisions: "active", ShardCount: 1, OrgAccounts: 1, OrgDigest: "one",
		Accounts: 1, Targets: 1, TargetsScanned: 1, TaskDefinitions: 1, Findings: 1, Fail: 1}
	if err := errors.Join(w.Coverage(ctx, []output.Coverage{cov}), w.Findings(ctx, []output.Finding{f}), w.Commit(context.Background(), run)); err != nil {
		t.Fatal(err)
	}
}

// TestPostureScenario runs a sequence of real runs of the binary into one
// output, with earlier days made by moving real runs back in time, and
// checks the posture views against the state written here by hand:
//
//	day -5  a nightly of the organization of then, one account since departed
//	day -4  the nightly, full
//	day -1  the nightly, sandbox excluded: sandbox is last scanned on day -4
//	today   a manual run of prod-payments in us-east-1
//	        shard 0 of 2 of run "split"
//	        an --compat aws-config comparison run, and a --revisions latest run
//	        a run whose scope is empty (one account, in a region it has not opted in to)
//	        shard 1 of 2 of "split", whose plan is balanced on another run
func TestPostureScenario(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	day := func(ago int) string {
		return time.Now().UTC().Add(-time.Duration(ago) * 24 * time.Hour).Format("2006-01-02")
	}
	today := day(0)
	// A run at day 0 could start just before midnight UTC and end after;
	// the views would then see it on two days.
	if now := time.Now().UTC(); now.Hour() == 23 && now.Minute() >= 58 {
		t.Skip("too close to midnight UTC")
	}

	writeDeparted(t, out, 5)
	var ids = map[string]string{}
	back := func(name string, days, wantCode int, args ...string) {
		stage := t.TempDir()
		code, log := localScan(t, stage, args...)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d\n%s", name, code, wantCode, log)
		}
		ids[name] = runID(t, log)
		moveBack(t, stage, out, days)
	}
	now := func(name string, wantCode int, args ...string) string {
		code, log := localScan(t, out, args...)
		if code != wantCode && !(wantCode == partialOrNot && (code == 0 || code == 3)) {
			t.Fatalf("%s: exit %d, want %d\n%s", name, code, wantCode, log)
		}
		ids[name] = runID(t, log)
		return log
	}
	back("nightly-4", 4, 3)
	back("nightly-1", 1, 3, "--exclude-accounts", simSandbox)
	now("manual", 0, "--accounts", simProd, "--regions", "us-east-1")
	now("split", partialOrNot, "--shard", "0/2", "--run-id", "split")
	now("aws-config", 3, "--compat", "aws-config")
	now("latest", 3, "--revisions", "latest")
	// Filters that select nothing stop with exit 2 before writing; an empty
	// scope still happens when the selected regions are all skipped.
	now("empty", 0, "--accounts", simManagement, "--regions", "af-south-1")
	log := now("split", 5, "--shard", "1/2", "--run-id", "split")
	if !strings.Contains(log, "the run's shards disagree") || !strings.Contains(log, "plan basis (plan_run_id) differs") {
		t.Errorf("the last shard of split did not say why its run is not complete:\n%s", log)
	}

	db := openDuckDB(t, out)
	name := func(id string) string {
		for n, v := range ids {
			if v == id {
				return n
			}
		}
		return id
	}
	named := func(rows [][]string, cols ...int) [][]string {
		for _, r := range rows {
			for _, c := range cols {
				r[c] = name(r[c])
			}
		}
		return rows
	}

	// Every run is in the run views as it is, whatever its scope; the
	// sharded run whose shards disagree is not complete, and says why.
	checkRows(t, "run checks", named(query(t, db, `
		SELECT run_id, dt, complete, not_complete_because, posture, rule_options, revisions,
		       accounts_filter, exclude_accounts, regions_filter, shard_count, targets_scanned
		FROM ecsaudit_run_checks ORDER BY started_at`), 0),
		[][]string{
			{"departed-run", day(5), "true", "", "true", "control,host-access=1", "active", "", "", "", "1", "1"},
			{"nightly-4", day(4), "true", "", "true", "control,host-access=1", "active", "", "", "", "1", "11"},
			{"nightly-1", day(1), "true", "", "true", "control,host-access=1", "active", "", simSandbox, "", "1", "8"},
			{"manual", today, "true", "", "true", "control,host-access=1", "active", simProd, "", "us-east-1", "1", "1"},
			{"split", today, "false", "shards balanced their plans on different runs", "true", "control,host-access=1", "active", "", "", "", "2", "5"}, // the plans differ: some accounts fell between the shards
			{"aws-config", today, "true", "", "false", "aws-config,host-access=1", "active", "", "", "", "1", "11"},
			{"latest", today, "true", "", "false", "control,host-access=1", "latest", "", "", "", "1", "11"},
			{"empty", today, "true", "", "true", "control,host-access=1", "active", simManagement, "", "af-south-1", "1", "0"},
		})
	// The posture now, target by target: the newest scan under the
	// posture's semantics. The manual run updated the one target it
	// scanned; the comparison runs, the latest-revisions run, the empty run
	// and the disagreeing sharded run changed nothing; sandbox, excluded
	// from the last nightly, was last scanned 4 days ago and is STALE, with
	// its counts withheld; prod-payments' SCP-denied region was never
	// scanned; the suspended account and the departed one are not there,
	// nor is security-tooling, whose regions no run could learn.
	checkRows(t, "posture targets", named(query(t, db, `
		SELECT account_id, region, state, last_verdict, scan_run_id, scan_dt, age_days,
		       task_definitions, fail, pass, not_applicable, errors
		FROM ecsaudit_posture_targets WHERE rule_id = 'ECSAUDIT.HOSTNET.1' ORDER BY 1, 2`), 4),
		[][]string{
			{simManagement, "ap-southeast-2", "EMPTY", "EMPTY", "nightly-1", day(1), "1", "0", "0", "0", "0", "0"},
			{simManagement, "eu-west-1", "NOT_APPLICABLE", "NOT_APPLICABLE", "nightly-1", day(1), "1", "1", "0", "0", "1", "0"},
			{simManagement, "us-east-1", "NOT_APPLICABLE", "NOT_APPLICABLE", "nightly-1", day(1), "1", "2", "0", "0", "2", "0"},
			{simProd, "ap-southeast-2", "PASS", "PASS", "nightly-1", day(1), "1", "3", "0", "2", "1", "0"},
			{simProd, "eu-west-1", "NOT_SCANNED", "<nil>", "<nil>", "<nil>", "<nil>", "0", "0", "0", "0", "0"},
			{simProd, "us-east-1", "FAIL", "FAIL", "manual", today, "0", "11", "6", "3", "1", "1"},
			{simDev, "ap-southeast-2", "NOT_APPLICABLE", "NOT_APPLICABLE", "nightly-1", day(1), "1", "1", "0", "0", "1", "0"},
			{simDev, "eu-west-1", "FAIL", "FAIL", "nightly-1", day(1), "1", "4", "2", "2", "0", "0"},
			{simDev, "us-east-1", "FAIL", "FAIL", "nightly-1", day(1), "1", "7", "1", "3", "3", "0"},
			{simSandbox, "ap-southeast-2", "STALE", "FAIL", "nightly-4", day(4), "4", "0", "0", "0", "0", "0"},
			{simSandbox, "eu-west-1", "STALE", "EMPTY", "nightly-4", day(4), "4", "0", "0", "0", "0", "0"},
			{simSandbox, "us-east-1", "STALE", "FAIL", "nightly-4", day(4), "4", "0", "0", "0", "0", "0"},
		})

	// The same per account and OU, every account of the organization
	// listed, even one with nothing to count.
	checkRows(t, "posture accounts", query(t, db, `
		SELECT dt, account_id, account_name, ou_names, targets, targets_stale, targets_not_scanned,
		       task_definitions, fail, pass, not_applicable, errors, share_compliant
		FROM ecsaudit_posture_accounts WHERE rule_id = 'ECSAUDIT.HOSTNET.1' ORDER BY account_id`),
		[][]string{
			{today, simManagement, "management", "Root", "3", "0", "0", "3", "0", "0", "3", "0", "<nil>"},
			{today, simSecurity, "security-tooling", "Root/Security", "0", "0", "0", "0", "0", "0", "0", "0", "<nil>"},
			{today, simProd, "prod-payments", "Root/Workloads/Prod", "3", "0", "1", "14", "6", "5", "2", "1", "0.4167"},
			{today, simDev, "dev-apps", "Root/Workloads/Dev", "3", "0", "0", "12", "3", "5", "4", "0", "0.625"},
			{today, simSandbox, "sandbox", "Root/Sandbox", "3", "3", "0", "0", "0", "0", "0", "0", "<nil>"},
		})

	// The trend: one row per day and account, the departed account on its
	// day only; today, after five runs of other scopes or semantics, the
	// organization is whole and only sandbox has gone stale.
	checkRows(t, "posture trend", query(t, db, `
		SELECT dt, account_id, targets, targets_stale, targets_not_scanned, task_definitions, fail, pass, not_applicable, errors
		FROM ecsaudit_posture_trend WHERE rule_id = 'ECSAUDIT.HOSTNET.1' ORDER BY 1, 2`),
		[][]string{
			{day(5), departed, "1", "0", "0", "1", "1", "0", "0", "0"},
			{day(4), simManagement, "3", "0", "0", "3", "0", "0", "3", "0"},
			{day(4), simSecurity, "0", "0", "0", "0", "0", "0", "0", "0"},
			{day(4), simProd, "3", "0", "1", "14", "6", "5", "2", "1"},
			{day(4), simDev, "3", "0", "0", "12", "3", "5", "4", "0"},
			{day(4), simSandbox, "3", "0", "0", "7", "4", "2", "1", "0"},
			{day(1), simManagement, "3", "0", "0", "3", "0", "0", "3", "0"},
			{day(1), simSecurity, "0", "0", "0", "0", "0", "0", "0", "0"},
			{day(1), simProd, "3", "0", "1", "14", "6", "5", "2", "1"},
			{day(1), simDev, "3", "0", "0", "12", "3", "5", "4", "0"},
			{day(1), simSandbox, "3", "0", "0", "7", "4", "2", "1", "0"},
			{today, simManagement, "3", "0", "0", "3", "0", "0", "3", "0"},
			{today, simSecurity, "0", "0", "0", "0", "0", "0", "0", "0"},
			{today, simProd, "3", "0", "1", "14", "6", "5", "2", "1"},
			{today, simDev, "3", "0", "0", "12", "3", "5", "4", "0"},
			{today, simSandbox, "3", "3", "0", "0", "0", "0", "0", "0"},
		})

	// What the posture cannot vouch for.
	checkRows(t, "coverage gaps", named(query(t, db, `
		SELECT account_id, region, gap, state, scan_dt, attempt_dt, attempt_run_id, attempt_status, error_code
		FROM ecsaudit_coverage_gaps ORDER BY 1, 2`), 6),
		[][]string{
			{simSecurity, "", "account", "<nil>", "<nil>", day(1), "nightly-1", "denied", "AccessDenied"},
			{simProd, "eu-west-1", "never_scanned", "NOT_SCANNED", "<nil>", day(1), "nightly-1", "denied", "AccessDeniedException"},
			{simSandbox, "ap-southeast-2", "stale", "STALE", day(4), day(4), "nightly-4", "scanned", ""},
			{simSandbox, "eu-west-1", "stale", "STALE", day(4), day(4), "nightly-4", "scanned", ""},
			{simSandbox, "us-east-1", "stale", "STALE", day(4), day(4), "nightly-4", "scanned", ""},
		})

	// Per task definition and per container, a stale target's verdicts
	// show as STALE, never as PASS.
	checkRows(t, "stale task definitions", query(t, db, `
		SELECT region, family, revision, state, verdict FROM ecsaudit_posture_task_definitions
		WHERE account_id = '`+simSandbox+`' AND rule_id = 'ECSAUDIT.HOSTNET.1' ORDER BY 1, 2, 3`),
		[][]string{
			{"ap-southeast-2", "jupyter", "1", "STALE", "PASS"},
			{"ap-southeast-2", "jupyter", "2", "STALE", "FAIL"},
			{"us-east-1", "experiment", "1", "STALE", "FAIL"},
			{"us-east-1", "experiment", "2", "STALE", "FAIL"},
			{"us-east-1", "jupyter", "1", "STALE", "NOT_APPLICABLE"},
			{"us-east-1", "metrics-agent", "1", "STALE", "FAIL"},
			{"us-east-1", "net-tools", "1", "STALE", "PASS"},
		})
	checkRows(t, "containers by state", query(t, db, `
		SELECT state, count(*) FROM ecsaudit_posture_containers WHERE rule_id = 'ECSAUDIT.HOSTNET.1' GROUP BY 1 ORDER BY 1`),
		[][]string{{"ERROR", "1"}, {"FAIL", "9"}, {"NOT_APPLICABLE", "9"}, {"PASS", "17"}, {"STALE", "9"}})
	checkRows(t, "posture task definitions agree with containers", query(t, db, `
		SELECT (SELECT count(*) FROM ecsaudit_posture_task_definitions) = (SELECT count(DISTINCT rule_id || task_definition_arn) FROM ecsaudit_posture_containers),
		       (SELECT sum(task_definitions) FROM ecsaudit_posture_targets WHERE rule_id = 'ECSAUDIT.HOSTNET.1') = (SELECT count(*) FROM ecsaudit_posture_task_definitions WHERE state <> 'STALE' AND rule_id = 'ECSAUDIT.HOSTNET.1')`),
		[][]string{{"true", "true"}})

	// The comparison run stays visible on its own, side by side with the
	// nightly it differs from: AWS Config counts a privileged container
	// as compliant.
	checkRows(t, "side by side", named(query(t, db, `
		SELECT run_id, rule_options, revisions, posture, count(*), count_if(verdict = 'FAIL')
		FROM ecsaudit_run_verdicts WHERE rule_id <> 'ECSAUDIT.HOSTNET.2' AND run_id IN ('`+ids["nightly-4"]+`', '`+ids["aws-config"]+`', '`+ids["latest"]+`')
		GROUP BY 1, 2, 3, 4 ORDER BY min(dt), 5 DESC, 6 DESC`), 0),
		[][]string{
			{"nightly-4", "control,host-access=1", "active", "true", "36", "13"},
			{"aws-config", "aws-config,host-access=1", "active", "false", "36", "12"},
			// Of the demo's host-access additions, ci-runner:1 and
			// net-tools:1 are new families and node-exporter:3 and cache:2
			// the newest of theirs, all passing the control.
			{"latest", "control,host-access=1", "latest", "false", "20", "8"},
		})

	// The host-access rule's posture beside the control's. Counted by hand
	// from default.json: prod us-east-1's 11 task definitions are 10 on
	// host networking (node-exporter:3 fails with pidMode host and /proc
	// and /sys mounts, node-exporter:2 cannot be described, 8 pass) and
	// payments-worker:1 on bridge; dev eu-west-1's 4 are all on host
	// networking, ci-runner:1 failing (the Docker socket, also through
	// volumesFrom) and metrics:1 (pidMode and ipcMode host, /proc and the
	// Docker socket mounted).
	checkRows(t, "host-access posture targets", query(t, db, `
		SELECT account_id, region, state, task_definitions, fail, pass, not_applicable, errors
		FROM ecsaudit_posture_targets WHERE rule_id = 'ECSAUDIT.HOSTNET.2' AND region IN ('us-east-1', 'eu-west-1') AND account_id IN ('`+simProd+`', '`+simDev+`') ORDER BY 1, 2`),
		[][]string{
			{simProd, "eu-west-1", "NOT_SCANNED", "0", "0", "0", "0", "0"},
			{simProd, "us-east-1", "FAIL", "11", "1", "8", "1", "1"},
			{simDev, "eu-west-1", "FAIL", "4", "2", "2", "0", "0"},
			{simDev, "us-east-1", "PASS", "7", "0", "4", "3", "0"}, // web:3, batch:3, cache:1, cache:2 on host; web:1, web:2, batch:1 not
		})
	// Active host-network revisions of the accounts and regions nightly-4
	// scanned: 34 in default.json, less 4 INACTIVE or DELETE_IN_PROGRESS,
	// guardduty-forwarder (role denied), prod's SCP-denied eu-west-1,
	// ghost (af-south-1 not enabled) and the suspended legacy-app: 26, of
	// which node-exporter:3, ci-runner:1, metrics:1 and net-tools:1 fail.
	checkRows(t, "host-access verdicts", named(query(t, db, `
		SELECT run_id, count(*), count_if(verdict = 'FAIL')
		FROM ecsaudit_run_verdicts WHERE rule_id = 'ECSAUDIT.HOSTNET.2' AND run_id = '`+ids["nightly-4"]+`' GROUP BY 1`), 0),
		[][]string{{"nightly-4", "26", "4"}})
}
