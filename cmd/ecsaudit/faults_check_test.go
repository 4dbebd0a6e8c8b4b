package main

// The fault suite's invariant checker and helpers; the tests are in
// faults_test.go.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// faultsSecret is planted in environment values and secret ARNs of
// testdata/faults.json.
const faultsSecret = "flt-planted-s3cr3t-41b7"

// expectation is what checkRun compares a run's output with.
type expectation struct {
	org       *simorg.Org
	revisions string   // active (the default) or all
	regions   []string // --regions; empty: every region the organization has
	// secrets must appear in no output and no log line; the management
	// secret key and both planted secrets are always added.
	secrets []string
}

// covRow is a coverage row.
type covRow struct {
	account, region, status, code, message string
	taskDefinitions, findings, apiCalls    int64
	throttled                              int64
}

// findRow is a findings row.
type findRow struct {
	account, region, family, revision, container, result, reason string
	rule                                                         string
}

// audit is one run's output, read back with DuckDB.
type audit struct {
	run      map[string]string // the runs row by column
	coverage []covRow
	findings []findRow // the control's rows
	// hostAccess are the host-access rule's rows.
	hostAccess []findRow
}

// covOf returns the coverage row of one target ("" for an account row).
func (a audit) covOf(account, region string) (covRow, bool) {
	for _, c := range a.coverage {
		if c.account == account && c.region == region {
			return c, true
		}
	}
	return covRow{}, false
}

func (a audit) num(col string) int64 {
	n, _ := strconv.ParseInt(a.run[col], 10, 64)
	return n
}

var runColumns = []string{"status", "rule_options", "accounts", "targets", "targets_scanned", "targets_not_scanned", "accounts_not_scanned",
	"task_definitions", "findings", "fail", "pass", "not_applicable", "errors", "api_calls", "throttled_calls", "task_definitions_carried",
	"date_diff('millisecond', started_at, ended_at)"}

// checkRun applies the invariants every run keeps, faults or not, and
// returns the output for the test's own assertions:
//
//   - nothing half-written: no temporary files, one runs row, every file readable;
//   - the exit code agrees with the runs row's status;
//   - every account the organization lists appears in coverage, and every
//     row that is not "scanned" says why (error code and message);
//   - every (account, region) target has exactly one coverage row, and an
//     account either has one account-level row or one row per region;
//   - a scanned target's findings are exactly the fixture's expected
//     verdicts; a target not scanned has no PASS row, and any verdict it
//     has is the expected one or ERROR; every ERROR row has a reason;
//   - the runs row's counts equal the datasets' counts;
//   - every string written is valid UTF-8 of at most output.MaxText bytes,
//     and no secret appears in any column, the summary or the log.
func checkRun(t *testing.T, res scanResult, want expectation) audit {
	t.Helper()
	if strings.Contains(res.stderr, "panic:") || strings.Contains(res.stderr, "DATA RACE") {
		t.Fatalf("the binary crashed (exit %d):\n%s", res.code, res.stderr)
	}
	filepath.WalkDir(res.out, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("half-written file left behind: %s", path)
		}
		return nil
	})
	runs := query(t, res.out, "runs", strings.Join(runColumns, ", "))
	if len(runs) != 1 {
		t.Fatalf("%d runs rows, want 1 (exit %d)\nstderr:\n%s", len(runs), res.code, res.stderr)
	}
	a := audit{run: map[string]string{}}
	for i, col := range runColumns {
		a.run[col] = runs[0][i]
	}
	a.run["duration_ms"] = runs[0][len(runColumns)-1]
	wantCode := map[string]int{"complete": exitOK, "partial": exitPartial, "interrupted": exitInterrupted, "failed": exitFatal}
	if code, ok := wantCode[a.run["status"]]; !ok || code != res.code {
		t.Errorf("exit %d but the runs row says %q", res.code, a.run["status"])
	}
	for _, r := range query(t, res.out, "coverage", "account_id, region, status, error_code, error_message, task_definitions, findings, api_calls, throttled_calls") {
		c := covRow{account: r[0], region: r[1], status: r[2], code: r[3], message: r[4]}
		for i, p := range []*int64{&c.taskDefinitions, &c.findings, &c.apiCalls, &c.throttled} {
			*p, _ = strconv.ParseInt(r[5+i], 10, 64)
		}
		a.coverage = append(a.coverage, c)
	}
	var all []findRow
	for _, r := range query(t, res.out, "findings", "account_id, region, family, CAST(revision AS VARCHAR), container_name, result, reason, rule_id") {
		f := findRow{r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]}
		all = append(all, f)
		if r[7] == check.HostAccessRuleID {
			a.hostAccess = append(a.hostAccess, f)
		} else {
			a.findings = append(a.findings, f)
		}
	}
	checkSecrets(t, res, want.secrets)

	if a.run["status"] == "failed" {
		// The organization could not be listed: nothing but the runs row.
		if len(a.coverage) > 0 || len(all) > 0 || a.num("accounts") != 0 {
			t.Errorf("a failed run wrote %d coverage and %d findings rows for %d accounts", len(a.coverage), len(all), a.num("accounts"))
		}
		return a
	}

	regions := want.regions
	if len(regions) == 0 {
		for _, r := range want.org.Regions() {
			regions = append(regions, r.Name)
		}
	}
	slices.Sort(regions)
	byTarget := map[[2]string]covRow{}
	byAccount := map[string][]string{}
	for _, c := range a.coverage {
		key := [2]string{c.account, c.region}
		if _, dup := byTarget[key]; dup {
			t.Errorf("two coverage rows for %s %q", c.account, c.region)
		}
		byTarget[key] = c
		byAccount[c.account] = append(byAccount[c.account], c.region)
		switch c.status {
		case "scanned":
			if c.code != "" || c.message != "" {
				t.Errorf("scanned target %s %s carries an error: %s %s", c.account, c.region, c.code, c.message)
			}
		case "denied", "failed", "skipped":
			if c.code == "" || c.message == "" {
				t.Errorf("%s %q is %s without a reason: code %q, message %q", c.account, c.region, c.status, c.code, c.message)
			}
		default:
			t.Errorf("%s %q: unknown coverage status %q", c.account, c.region, c.status)
		}
	}
	for _, acct := range want.org.Accounts() {
		got := byAccount[acct.ID]
		slices.Sort(got)
		switch {
		case len(got) == 0:
			t.Errorf("account %s (%s) is missing from coverage: a silent gap", acct.ID, acct.Name)
		case slices.Equal(got, []string{""}):
		case !slices.Equal(got, regions):
			t.Errorf("account %s has coverage rows for regions %q, want one account row or one row for each of %q", acct.ID, got, regions)
		}
		delete(byAccount, acct.ID)
	}
	for id := range byAccount {
		t.Errorf("coverage row for account %s, which the organization does not have", id)
	}

	// Findings, target by target, rule by rule: the host-access rule's rows
	// are keyed with its rule id after the container.
	hostAccess := strings.Contains(a.run["rule_options"], "host-access=")
	if !hostAccess && len(a.hostAccess) > 0 {
		t.Errorf("%d host-access rows from a run with the rule off (%s)", len(a.hostAccess), a.run["rule_options"])
	}
	rows := map[[2]string][]findRow{}
	for _, f := range all {
		key := [2]string{f.account, f.region}
		if f.rule == check.HostAccessRuleID {
			f.container += " " + check.HostAccessRuleID
		}
		rows[key] = append(rows[key], f)
		if f.result == "ERROR" && f.reason == "" {
			t.Errorf("ERROR row without a reason: %+v", f)
		}
	}
	for key, fs := range rows {
		c, ok := byTarget[key]
		if !ok {
			t.Errorf("%d findings for %s %q, which has no coverage row", len(fs), key[0], key[1])
			continue
		}
		verdicts, revisions := expectedVerdicts(want.org, key[0], key[1], want.revisions)
		if hostAccess {
			maps.Copy(verdicts, expectedHostAccess(want.org, key[0], key[1], want.revisions))
		}
		var got []string
		for _, f := range fs {
			id := f.family + " " + f.revision + " " + f.container
			got = append(got, id+" "+f.result)
			switch exp, known := verdicts[id]; {
			case f.result == "PASS" && c.status != "scanned":
				t.Errorf("PASS from %s %s, whose coverage is %s (%s): %s", key[0], key[1], c.status, c.code, id)
			case f.result != exp && f.result != "ERROR":
				t.Errorf("wrong verdict in %s %s: %q is %s, want %s (known %v)", key[0], key[1], id, f.result, exp, known)
			}
		}
		if c.findings != int64(len(fs)) {
			t.Errorf("coverage of %s %q counts %d findings; the dataset has %d", key[0], key[1], c.findings, len(fs))
		}
		if c.status == "scanned" {
			var exp []string
			for id, v := range verdicts {
				exp = append(exp, id+" "+v)
			}
			slices.Sort(exp)
			slices.Sort(got)
			if !slices.Equal(got, exp) {
				t.Errorf("findings of %s %s differ from the fixture's expectations\n got: %q\nwant: %q", key[0], key[1], got, exp)
			}
			if c.taskDefinitions != int64(revisions) {
				t.Errorf("coverage of %s %s counts %d task definitions, want %d", key[0], key[1], c.taskDefinitions, revisions)
			}
		}
	}
	for key, c := range byTarget {
		if c.status != "scanned" || len(rows[key]) > 0 {
			continue
		}
		if verdicts, _ := expectedVerdicts(want.org, key[0], key[1], want.revisions); len(verdicts) > 0 {
			t.Errorf("%s %s is scanned but has no findings; want %d", key[0], key[1], len(verdicts))
		}
	}

	// The runs row agrees with the datasets.
	var targets, scanned, notScanned, accountsNotScanned, tds, throttled, calls int64
	for _, c := range a.coverage {
		if c.region != "" {
			targets++
		}
		switch c.status {
		case "scanned":
			scanned++
		case "denied", "failed":
			if c.region == "" {
				accountsNotScanned++
			} else {
				notScanned++
			}
		}
		tds += c.taskDefinitions
		throttled += c.throttled
		calls += c.apiCalls
	}
	results := map[string]int64{}
	for _, f := range all {
		results[f.result]++
	}
	for col, n := range map[string]int64{
		"accounts": int64(len(want.org.Accounts())), "targets": targets, "targets_scanned": scanned,
		"targets_not_scanned": notScanned, "accounts_not_scanned": accountsNotScanned, "task_definitions": tds, "findings": int64(len(all)),
		"fail": results["FAIL"], "pass": results["PASS"], "not_applicable": results["NOT_APPLICABLE"], "errors": results["ERROR"],
	} {
		if a.num(col) != n {
			t.Errorf("runs row: %s = %s, the datasets say %d", col, a.run[col], n)
		}
	}
	// Organizations, STS and EC2 calls are counted in the runs row only.
	if a.num("api_calls") < calls || a.num("throttled_calls") < throttled {
		t.Errorf("runs row counts %s calls (%s throttled), fewer than its targets' %d (%d)", a.run["api_calls"], a.run["throttled_calls"], calls, throttled)
	}
	return a
}

// checkSecrets reads every column of every dataset, and the summary and
// log: every string is valid UTF-8 of bounded length, and carries no secret.
func checkSecrets(t *testing.T, res scanResult, extra []string) {
	t.Helper()
	secrets := append([]string{simorg.SecretAccessKey, simorg.PlantedSecret, faultsSecret}, extra...)
	for _, ds := range []string{"findings", "coverage", "runs"} {
		for _, r := range query(t, res.out, ds, "*") {
			for i, v := range r {
				if !utf8.ValidString(v) || len(v) > output.MaxText {
					t.Errorf("%s column %d: %d bytes, valid UTF-8 %v: %.80q", ds, i, len(v), utf8.ValidString(v), v)
				}
				for _, s := range secrets {
					if strings.Contains(v, s) {
						t.Errorf("%s carries the secret %q: %.200q", ds, s, v)
					}
				}
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(res.stdout+res.stderr, s) {
			t.Errorf("the summary or the log carries the secret %q", s)
		}
	}
}

// expectedVerdicts returns the fixture's verdict for every row a target's
// findings should have, keyed "family revision container" as written
// (output.Text of what crosses the wire), and how many revisions can be
// described. A revision that cannot be described, or has no containers,
// is one ERROR row with no container.
func expectedVerdicts(org *simorg.Org, account, region, revisions string) (map[string]string, int) {
	out := map[string]string{}
	described := 0
	for _, td := range listed(org, account, region, revisions) {
		prefix := fmt.Sprintf("%s %d ", written(td.Family), td.Revision)
		if td.Vanishes || td.DescribeError != nil {
			out[prefix] = "ERROR"
			continue
		}
		described++
		if len(td.Containers) == 0 {
			out[prefix] = "ERROR"
		}
		for _, c := range td.Containers {
			out[prefix+written(c.Name)] = c.Expect
		}
	}
	return out, described
}

// listed returns the revisions of a target that a scan of --revisions
// active or all lists.
func listed(org *simorg.Org, account, region, revisions string) []simorg.TaskDefinition {
	var out []simorg.TaskDefinition
	for _, td := range org.TaskDefinitions(account, region) {
		if td.Status == simorg.StatusActive || (td.Status == simorg.StatusInactive && revisions == "all") {
			out = append(out, td)
		}
	}
	return out
}

// expectedHostAccess returns the fixture's host-access verdict for every
// row the host-access rule should add to a target's findings, keyed as
// expectedVerdicts keys them, then a space and the rule id. The rule reads
// host-network revisions only, but a revision that cannot be described or
// has no containers gets its ERROR row under both rules. A container whose
// fixture does not write expectHostAccess is PASS: the fixture's validation
// requires the field wherever the revision holds any setting the rule reads,
// so such a container has nothing to fail on.
func expectedHostAccess(org *simorg.Org, account, region, revisions string) map[string]string {
	out := map[string]string{}
	for _, td := range listed(org, account, region, revisions) {
		prefix := fmt.Sprintf("%s %d ", written(td.Family), td.Revision)
		if td.Vanishes || td.DescribeError != nil || len(td.Containers) == 0 {
			out[prefix+" "+check.HostAccessRuleID] = "ERROR"
			continue
		}
		if td.NetworkMode != "host" {
			continue
		}
		for _, c := range td.Containers {
			exp := c.ExpectHostAccess
			if exp == "" {
				exp = "PASS"
			}
			out[prefix+written(c.Name)+" "+check.HostAccessRuleID] = exp
		}
	}
	return out
}

// written is what becomes of a string the simulator sends: JSON on the
// wire (invalid UTF-8 becomes U+FFFD), then output.Text.
func written(s string) string {
	b, _ := json.Marshal(s)
	var wire string
	json.Unmarshal(b, &wire)
	return output.Text(wire)
}

// loadFixture reads a fixture file into its struct, for a test to adjust.
func loadFixture(t *testing.T, path string) simorg.Fixture {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f simorg.Fixture
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	return f
}

func newOrg(t *testing.T, f simorg.Fixture) *simorg.Org {
	t.Helper()
	org, err := simorg.New(f)
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// faultsOrg is testdata/faults.json: five active accounts (one with an
// opt-in region it has not enabled), a suspended one, a region no account
// has enabled, a vanishing revision, planted secrets; nothing denied, so a
// clean run is complete.
func faultsOrg(t *testing.T) *simorg.Org {
	t.Helper()
	return newOrg(t, loadFixture(t, "testdata/faults.json"))
}

func serve(t *testing.T, org *simorg.Org, opts simorg.Options) *simorg.Server {
	t.Helper()
	srv, err := simorg.Start(org, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func wantExit(t *testing.T, res scanResult, code int) {
	t.Helper()
	if res.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, code, res.stdout, res.stderr)
	}
}

// onlyRun returns res with an output directory that holds only res's run,
// for checkRun, when several runs share one output.
func onlyRun(t *testing.T, res scanResult) scanResult {
	t.Helper()
	id := runIDOf(t, res)
	dir := filepath.Join(t.TempDir(), "findings")
	files, _ := filepath.Glob(filepath.Join(res.out, "*", "dt=*", id+".parquet"))
	if len(files) != 4 { // findings, coverage, usage, runs
		t.Fatalf("run %s has %d files, want 4", id, len(files))
	}
	for _, f := range files {
		rel, _ := filepath.Rel(res.out, f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res.out = dir
	return res
}

// waitFor polls cond until it holds, failing the test if 20 s pass first.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("the scan never reached the point where the fault was to strike")
}
