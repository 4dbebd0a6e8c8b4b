package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/internal/clitest"
	"github.com/ecsaudit/ecsaudit/internal/duckdbtest"
	"github.com/ecsaudit/ecsaudit/simorg"
)

func TestMain(m *testing.M) { os.Exit(clitest.Main(m)) }

// scanResult is one run of the binary.
type scanResult struct {
	code           int
	stdout, stderr string
	out            string // the output directory
}

// startScan starts the binary against srv (nil: no endpoint, for
// --simulate) with a clean AWS environment plus env, writing to a new
// directory unless args name another, and returns at once; wait collects
// the result. A scan still running when the test ends is killed.
func startScan(t *testing.T, srv *simorg.Server, env []string, args ...string) (*exec.Cmd, func() scanResult) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "findings")
	cmd := exec.Command(clitest.Binary(t), append([]string{"scan", "--output", out}, args...)...)
	cmd.Env = clitest.Env(t.TempDir(), "AWS_ACCESS_KEY_ID="+simorg.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+simorg.SecretAccessKey)
	if srv != nil {
		cmd.Env = append(cmd.Env, "AWS_ENDPOINT_URL="+srv.URL())
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	t.Cleanup(func() {
		if !done {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, func() scanResult {
		t.Helper()
		code := clitest.ExitCode(t, cmd.Wait())
		done = true
		return scanResult{code: code, stdout: stdout.String(), stderr: stderr.String(), out: out}
	}
}

// runScan runs the binary to the end; see startScan.
func runScan(t *testing.T, srv *simorg.Server, env []string, args ...string) scanResult {
	t.Helper()
	_, wait := startScan(t, srv, env, args...)
	return wait()
}

// query reads a dataset of the output directory with DuckDB, a reader
// independent of the writer, and returns every row as strings.
func query(t *testing.T, dir, dataset, columns string) [][]string {
	t.Helper()
	return duckdbtest.Rows(t, duckdbtest.Open(t),
		fmt.Sprintf("SELECT %s FROM read_parquet('%s/%s/dt=*/*.parquet', hive_partitioning = true)", columns, dir, dataset))
}

func TestScanFixtureOrganization(t *testing.T) {
	t.Parallel()
	org, err := simorg.Load("testdata/org.json")
	if err != nil {
		t.Fatal(err)
	}
	// A tiny ECS bucket and a client budget far above it: the simulator
	// throttles, and the retryer must still get every verdict right.
	srv, err := simorg.Start(org, simorg.Options{ECSLimit: simorg.Limit{Burst: 1, Rate: 4}, ThrottleFirst: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res := runScan(t, srv, nil, "--ecs-rate", "200", "--ecs-burst", "50", "--concurrency", "8", "--log-level", "debug", "--log-format", "json")
	if res.code != exitPartial {
		t.Fatalf("exit %d, want %d (partial)\nstdout:\n%s\nstderr:\n%s", res.code, exitPartial, res.stdout, res.stderr)
	}

	// Every verdict: exactly the fixture's hand-written expectations for the
	// targets that can be scanned, and nothing else.
	scannable := func(a simorg.Account, region string) bool {
		return (a.State == "" || a.State == simorg.StateActive) && !a.DenyAssume && !slices.Contains(a.DeniedRegions, region)
	}
	var want []string
	for _, a := range org.Accounts() {
		for _, region := range []string{"us-east-1", "eu-west-1", "ap-southeast-2"} {
			if !scannable(a, region) {
				continue
			}
			for _, td := range org.TaskDefinitions(a.ID, region) {
				if td.Status == simorg.StatusInactive {
					continue // --revisions active
				}
				for _, c := range td.Containers {
					name := c.Name
					if td.Vanishes {
						name = "" // one ERROR row for the revision, per rule
					}
					rev := fmt.Sprintf("%s:%d", td.Family, td.Revision)
					want = append(want, strings.Join([]string{a.ID, region, rev, name, check.RuleID, c.Expect}, " "))
					// The host-access rule reads host networking only, but a
					// revision that cannot be described is an ERROR under
					// both rules. A container without expectHostAccess holds
					// no setting the rule reads (the fixture's validation
					// makes sure), so it passes.
					exp := c.ExpectHostAccess
					switch {
					case td.Vanishes:
						exp = c.Expect
					case td.NetworkMode != "host":
						continue
					case exp == "":
						exp = simorg.ExpectPass
					}
					want = append(want, strings.Join([]string{a.ID, region, rev, name, check.HostAccessRuleID, exp}, " "))
				}
			}
		}
	}
	var got []string
	for _, r := range query(t, res.out, "findings", "account_id, region, family || ':' || revision, container_name, rule_id, result") {
		got = append(got, strings.Join(r, " "))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("findings differ from the fixture's expectations\n got: %q\nwant: %q", got, want)
	}

	// Every coverage row, exactly one per target.
	wantCov := []string{
		"100000000001 af-south-1 skipped RegionNotOptedIn",
		"100000000001 ap-southeast-2 scanned ",
		"100000000001 eu-west-1 scanned ",
		"100000000001 us-east-1 scanned ",
		"200000000002 af-south-1 skipped RegionNotOptedIn",
		"200000000002 ap-southeast-2 scanned ",
		"200000000002 eu-west-1 scanned ",
		"200000000002 us-east-1 scanned ",
		"300000000003 af-south-1 skipped RegionNotOptedIn",
		"300000000003 ap-southeast-2 scanned ",
		"300000000003 eu-west-1 denied AccessDeniedException",
		"300000000003 us-east-1 scanned ",
		"400000000004  denied AccessDenied",
		"500000000005  skipped AccountSuspended",
		"600000000006 af-south-1 skipped RegionNotOptedIn",
		"600000000006 ap-southeast-2 scanned ",
		"600000000006 eu-west-1 scanned ",
		"600000000006 us-east-1 scanned ",
	}
	var gotCov []string
	for _, r := range query(t, res.out, "coverage", "account_id, region, status, error_code") {
		gotCov = append(gotCov, strings.Join(r, " "))
	}
	slices.Sort(gotCov)
	if !slices.Equal(gotCov, wantCov) {
		t.Errorf("coverage\n got: %q\nwant: %q", gotCov, wantCov)
	}

	// OU paths come from the tree walk.
	paths := query(t, res.out, "coverage", "DISTINCT account_id, ou_names")
	slices.SortFunc(paths, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	for _, p := range paths {
		if p[0] == "300000000003" && p[1] != "Root/Workloads/Prod" {
			t.Errorf("ou_names of 300000000003 = %q", p[1])
		}
	}

	// Throttling happened, was retried and counted, and every attempt counted.
	throttled := query(t, res.out, "coverage", "sum(throttled_calls), sum(api_calls)")
	if throttled[0][0] == "0" || throttled[0][0] == "<nil>" {
		t.Errorf("no throttled calls recorded (%v); the test's bucket should throttle", throttled)
	}

	// The runs row is written and agrees with the datasets.
	runs := query(t, res.out, "runs", "status, targets, targets_scanned, targets_not_scanned, findings, fail, errors, accounts_not_scanned")
	if len(runs) != 1 {
		t.Fatalf("%d runs rows", len(runs))
	}
	if r := runs[0]; r[0] != "partial" || r[1] != "16" || r[2] != "11" || r[3] != "1" || r[7] != "1" || r[4] != fmt.Sprint(len(want)) || r[6] != "2" { // gone:4's ERROR, under each rule
		t.Errorf("runs row %v", r)
	}

	// A planted secret never reaches any output or the log.
	for _, ds := range []string{"findings", "coverage", "runs"} {
		for _, r := range query(t, res.out, ds, "*") {
			if strings.Contains(strings.Join(r, "|"), "e2e-planted-secret") {
				t.Errorf("%s carries the planted secret: %v", ds, r)
			}
		}
	}
	if strings.Contains(res.stderr+res.stdout, "e2e-planted-secret") {
		t.Error("the log carries the planted secret")
	}
	// The session name carries the run id for CloudTrail.
	if !strings.Contains(res.stdout, "ecsaudit run ") || !strings.Contains(res.stdout, ": partial") {
		t.Errorf("summary: %s", res.stdout)
	}
}
