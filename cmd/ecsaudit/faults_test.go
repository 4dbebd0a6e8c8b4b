package main

// The fault suite (issue 6): never a wrong PASS, never a silent gap, never a
// leaked secret. Each test runs the real binary against a simulated
// organization with one kind of fault injected, applies checkRun (in
// faults_check_test.go) — the invariants every run keeps whatever went
// wrong — and then asserts what is particular to its fault.

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// ecsOps are the ECS operations the scanner calls: the task-definition
// reads and the reads of what runs.
var ecsOps = []string{"ListTaskDefinitions", "ListTaskDefinitionFamilies", "DescribeTaskDefinition",
	"ListClusters", "ListServices", "DescribeServices", "ListTasks", "DescribeTasks"}

// TestFaultECSThrottlingStorm: a bucket of one token refilled twice a
// second per (account, region), against a client budget far above it. The
// retryer rides it out: every verdict right, and every throttled attempt
// the simulator answered is counted in coverage and in the runs row.
func TestFaultECSThrottlingStorm(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	// The bucket throttles a fast client; ThrottleFirst makes sure of a
	// storm even when a loaded machine runs the client too slowly for it.
	srv := serve(t, org, simorg.Options{ECSLimit: simorg.Limit{Burst: 1, Rate: 2}, ThrottleFirst: 3})
	res := runScan(t, srv, nil, "--ecs-rate", "200", "--ecs-burst", "50", "--concurrency", "8")
	wantExit(t, res, exitOK)
	a := checkRun(t, res, expectation{org: org})

	stats := srv.Stats()
	var simThrottled, simCalls, throttled, calls int64
	for _, op := range ecsOps {
		simThrottled += stats.Throttled[op]
		simCalls += stats.Calls[op]
	}
	for _, c := range a.coverage {
		throttled += c.throttled
		calls += c.apiCalls
	}
	if simThrottled == 0 {
		t.Fatal("the simulator throttled nothing; the storm did not happen")
	}
	if throttled != simThrottled || calls != simCalls {
		t.Errorf("coverage counts %d calls, %d throttled; the simulator answered %d, %d throttled", calls, throttled, simCalls, simThrottled)
	}
	if a.num("throttled_calls") != stats.TotalThrottled() {
		t.Errorf("runs row counts %d throttled calls, the simulator throttled %d", a.num("throttled_calls"), stats.TotalThrottled())
	}
}

// TestFaultOrganizationsThrottlingStorm: Organizations answers most calls
// with TooManyRequestsException. Every account is still found and placed
// in its OU, and the throttled calls are counted in the runs row. When the
// retries run out, the run fails as a whole (exit 1) rather than scanning
// part of an organization it could not list.
func TestFaultOrganizationsThrottlingStorm(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	t.Run("retried", func(t *testing.T) {
		t.Parallel()
		srv := serve(t, org, simorg.Options{OrganizationsLimit: simorg.Limit{Burst: 1, Rate: 4}, ThrottleFirst: 3})
		res := runScan(t, srv, nil)
		wantExit(t, res, exitOK)
		a := checkRun(t, res, expectation{org: org})
		stats := srv.Stats()
		if stats.TotalThrottled() == 0 {
			t.Fatal("the simulator throttled nothing; the storm did not happen")
		}
		if a.num("throttled_calls") != stats.TotalThrottled() {
			t.Errorf("runs row counts %d throttled calls, the simulator throttled %d", a.num("throttled_calls"), stats.TotalThrottled())
		}
		for _, r := range query(t, res.out, "coverage", "DISTINCT account_id, ou_names") {
			if r[0] == "110000000003" && r[1] != "Root/Workloads/Prod" {
				t.Errorf("ou_names of 110000000003 = %q", r[1])
			}
		}
	})
	t.Run("exhausted", func(t *testing.T) {
		t.Parallel()
		// Every Organizations call is throttled, however slowly they come.
		srv := serve(t, org, simorg.Options{ThrottleFirst: 1 << 20})
		res := runScan(t, srv, nil, "--max-attempts", "1")
		wantExit(t, res, exitFatal)
		checkRun(t, res, expectation{org: org})
		if n := srv.Stats().Calls["DescribeTaskDefinition"]; n > 0 {
			t.Errorf("%d task definitions described for an organization that could not be listed", n)
		}
	})
}

// TestFaultServerErrorsAndResets: a fifth of all calls, of every service,
// answer 5xx, and another fifth lose their connection. Every one is
// retried: the verdicts are exactly right and the run is complete.
func TestFaultServerErrorsAndResets(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	srv := serve(t, org, simorg.Options{ErrorShare: 0.2, ResetShare: 0.2, Seed: 6})
	res := runScan(t, srv, nil, "--revisions", "all")
	wantExit(t, res, exitOK)
	checkRun(t, res, expectation{org: org, revisions: "all"})
	if s := srv.Stats(); s.Injected5xx == 0 || s.Resets == 0 {
		t.Fatalf("injected %d 5xx and %d resets; want some of each", s.Injected5xx, s.Resets)
	}
}

// TestFaultRetriesExhausted: every DescribeTaskDefinition answers 5xx, so
// the retries run out. Each listed revision is an ERROR row, each target
// with revisions is failed, no PASS anywhere, and the run is partial.
func TestFaultRetriesExhausted(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	srv := serve(t, org, simorg.Options{ErrorShare: 1, FaultOperations: []string{"DescribeTaskDefinition"}})
	res := runScan(t, srv, nil, "--max-attempts", "2")
	wantExit(t, res, exitPartial)
	a := checkRun(t, res, expectation{org: org})
	if a.run["status"] != "partial" {
		t.Errorf("runs status %q, want partial", a.run["status"])
	}
	listed := 0
	for _, c := range a.coverage {
		verdicts, _ := expectedVerdicts(org, c.account, c.region, "active")
		revisions := map[string]bool{}
		for id := range verdicts {
			revisions[id[:strings.LastIndexByte(id, ' ')]] = true
		}
		listed += len(revisions)
		if c.status == "scanned" && len(revisions) > 0 {
			t.Errorf("%s %s is scanned though none of its %d revisions could be described", c.account, c.region, len(revisions))
		}
		if c.status == "failed" && c.code != "ServerException" && c.code != "ServiceUnavailable" {
			t.Errorf("%s %s failed with %q, want the 5xx's code", c.account, c.region, c.code)
		}
	}
	for _, f := range a.findings {
		if f.result != "ERROR" || f.container != "" {
			t.Errorf("a revision that was never described has a %s row for container %q", f.result, f.container)
		}
	}
	if len(a.findings) != listed {
		t.Errorf("%d ERROR rows, want one for each of the %d listed revisions", len(a.findings), listed)
	}
}

// TestFaultSomeDescribesFail: with no retries, some describes of a target
// fail and others succeed. The target is failed, its failures are ERROR
// rows, and it contributes no PASS: a target not fully scanned never looks
// compliant in part.
func TestFaultSomeDescribesFail(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	srv := serve(t, org, simorg.Options{ErrorShare: 0.4, FaultOperations: []string{"DescribeTaskDefinition"}, Seed: 3})
	res := runScan(t, srv, nil, "--max-attempts", "1")
	wantExit(t, res, exitPartial)
	a := checkRun(t, res, expectation{org: org})
	mixed := 0
	for _, c := range a.coverage {
		if c.status == "failed" && c.taskDefinitions > 0 {
			mixed++
		}
	}
	if mixed == 0 {
		t.Fatal("no target had both described and failed revisions; the test proves nothing")
	}
}

// TestFaultWarmRunsAfterPartialRun: the incremental cache carries verdicts
// between runs, and a target not fully scanned writes no PASS rows. Night
// 1 is clean; night 2 has new revisions and loses some of their describes;
// night 3 is clean again. Each night keeps every invariant — no PASS from a
// failed target, carried rows included — and night 3's verdicts are
// complete: nothing is carried from a partly written revision.
func TestFaultWarmRunsAfterPartialRun(t *testing.T) {
	t.Parallel()
	spec := simorg.Spec{Seed: 9, Accounts: 6, Regions: 2, RevisionsPerRegion: 12, ContainersPerTaskDefinition: 3, NonCompliantShare: 0.2}
	night1 := simorg.Generate(spec)
	spec.NewRevisionsShare = 1.0 / 3
	later := simorg.Generate(spec)
	out := filepath.Join(t.TempDir(), "findings")
	// Of 12 targets, each with 4 new revisions to describe, some fail and
	// some do not (each has a 0.52 chance to see no fault).
	faulty := simorg.Options{ErrorShare: 0.15, FaultOperations: []string{"DescribeTaskDefinition"}, Seed: 1}
	for i, night := range []struct {
		org  *simorg.Org
		opts simorg.Options
		exit int
	}{{night1, simorg.Options{}, exitOK}, {later, faulty, exitPartial}, {later, simorg.Options{}, exitOK}} {
		srv := serve(t, night.org, night.opts)
		res := runScan(t, srv, nil, "--output", out, "--max-attempts", "1")
		res.out = out // the later --output wins
		wantExit(t, res, night.exit)
		a := checkRun(t, onlyRun(t, res), expectation{org: night.org})
		if i == 1 && a.num("targets_not_scanned") == 0 {
			t.Fatal("night 2: no target failed")
		}
		if i > 0 && a.num("task_definitions_carried") == 0 {
			t.Fatalf("night %d carried nothing", i+1)
		}
	}
}

// TestFaultSlowResponses: a fifth of all responses take 20 s, beyond the
// 1 s --call-timeout. Each slow attempt is abandoned and retried, so the
// verdicts are right and the run finishes long before one slow response.
func TestFaultSlowResponses(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	// Slow is ten minutes, so that the bound below cannot flip on a loaded
	// machine: a scan that waited for one slow answer takes longer than it.
	srv := serve(t, org, simorg.Options{SlowShare: 0.2, SlowDelay: 10 * time.Minute, Seed: 2})
	start := time.Now()
	res := runScan(t, srv, nil, "--call-timeout", "1s")
	wantExit(t, res, exitOK)
	checkRun(t, res, expectation{org: org})
	if srv.Stats().Slow == 0 {
		t.Fatal("no response was slow")
	}
	if d := time.Since(start); d > 5*time.Minute {
		t.Errorf("the scan took %v: slow attempts were not cut off at --call-timeout", d)
	}
}

// TestFaultTimeoutsExhausted: every DescribeTaskDefinition is slower than
// --call-timeout on every attempt: ERROR rows, failed targets that say
// Timeout, no PASS, a partial run.
func TestFaultTimeoutsExhausted(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	srv := serve(t, org, simorg.Options{SlowShare: 1, SlowDelay: 20 * time.Second, FaultOperations: []string{"DescribeTaskDefinition"}})
	res := runScan(t, srv, nil, "--call-timeout", "1s", "--max-attempts", "2", "--regions", "us-east-1")
	wantExit(t, res, exitPartial)
	a := checkRun(t, res, expectation{org: org, regions: []string{"us-east-1"}})
	for _, c := range a.coverage {
		if c.region != "" && c.status != "failed" {
			t.Errorf("%s %s is %s, want failed", c.account, c.region, c.status)
		}
		if c.region != "" && c.code != "Timeout" {
			t.Errorf("%s %s: error code %q, want Timeout", c.account, c.region, c.code)
		}
	}
	for _, f := range a.findings {
		if f.result != "ERROR" {
			t.Errorf("%s row from a describe that timed out: %+v", f.result, f)
		}
	}
}

// TestFaultDenied: roles that cannot be assumed (by the fixture and by the
// server), regions a service control policy denies (both ways), opt-in
// regions an account has not enabled. Each is a coverage row with its
// reason, the rest is scanned right, and the run is partial.
func TestFaultDenied(t *testing.T) {
	t.Parallel()
	f := loadFixture(t, "testdata/faults.json")
	for i := range f.Accounts {
		switch f.Accounts[i].ID {
		case "110000000006":
			f.Accounts[i].DenyAssume = true
		case "110000000003":
			f.Accounts[i].DeniedRegions = []string{"eu-west-1"}
		}
	}
	user := "root"
	f.Accounts = append(f.Accounts, simorg.AccountFixture{
		Account: simorg.Account{ID: "110000000007", Name: "eu-only"},
		TaskDefinitions: map[string][]simorg.TaskDefinition{"eu-west-1": {{Family: "eu", Revision: 1, NetworkMode: "host",
			Containers: []simorg.Container{{Name: "eu", Image: "eu:1", User: &user, Expect: "FAIL"}}}}},
	})
	org := newOrg(t, f)
	srv := serve(t, org, simorg.Options{
		DenyAssume: []string{"110000000004"},
		// us-east-1 is the job's home region: denying it denies the
		// account's DescribeRegions, so without --regions no region of it
		// is known (TestFaultHomeRegionDeniedWithRegions has the remedy).
		DenyRegions: map[string][]string{"110000000002": {"eu-west-1"}, "110000000007": {"us-east-1"}, "*": {"ap-southeast-2"}},
	})
	res := runScan(t, srv, nil)
	wantExit(t, res, exitPartial)
	a := checkRun(t, res, expectation{org: org})
	want := []string{
		"110000000001 af-south-1 skipped RegionNotOptedIn",
		"110000000001 ap-southeast-2 denied AccessDeniedException",
		"110000000001 eu-west-1 scanned ",
		"110000000001 us-east-1 scanned ",
		"110000000002 af-south-1 skipped RegionNotOptedIn",
		"110000000002 ap-southeast-2 denied AccessDeniedException",
		"110000000002 eu-west-1 denied AccessDeniedException",
		"110000000002 us-east-1 scanned ",
		"110000000003 af-south-1 skipped RegionNotOptedIn",
		"110000000003 ap-southeast-2 skipped RegionNotOptedIn",
		"110000000003 eu-west-1 denied AccessDeniedException",
		"110000000003 us-east-1 scanned ",
		"110000000004  denied AccessDenied",
		"110000000005  skipped AccountSuspended",
		"110000000006  denied AccessDenied",
		"110000000007  denied UnauthorizedOperation",
	}
	var got []string
	for _, c := range a.coverage {
		got = append(got, strings.Join([]string{c.account, c.region, c.status, c.code}, " "))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("coverage\n got: %q\nwant: %q", got, want)
	}
	for _, f := range a.findings {
		if f.account == "110000000004" || f.account == "110000000006" || f.account == "110000000007" || (f.account == "110000000003" && f.region == "eu-west-1") {
			t.Errorf("finding from a denied target: %+v", f)
		}
	}
	if c, _ := a.covOf("110000000004", ""); !strings.Contains(c.message, "arn:aws:iam::110000000004:role/ecsaudit-read") {
		t.Errorf("denied account's message does not name the role: %q", c.message)
	}
}

// TestFaultHomeRegionDeniedWithRegions: an SCP confines an account to
// eu-west-1, denying the job's home region. With --regions, the account is
// asked for its regions in eu-west-1 instead, and scanned there; the home
// region is a denied target, not a lost account.
func TestFaultHomeRegionDeniedWithRegions(t *testing.T) {
	t.Parallel()
	f := loadFixture(t, "testdata/faults.json")
	user := "root"
	f.Accounts = append(f.Accounts, simorg.AccountFixture{
		Account: simorg.Account{ID: "110000000007", Name: "eu-only"},
		TaskDefinitions: map[string][]simorg.TaskDefinition{"eu-west-1": {{Family: "eu", Revision: 1, NetworkMode: "host",
			Containers: []simorg.Container{{Name: "eu", Image: "eu:1", User: &user, Expect: "FAIL"}}}}},
	})
	org := newOrg(t, f)
	srv := serve(t, org, simorg.Options{DenyRegions: map[string][]string{"110000000007": {"us-east-1"}}})
	regions := []string{"us-east-1", "eu-west-1"}
	res := runScan(t, srv, nil, "--regions", strings.Join(regions, ","))
	wantExit(t, res, exitPartial)
	a := checkRun(t, res, expectation{org: org, regions: regions})
	for _, want := range []string{"110000000007 eu-west-1 scanned ", "110000000007 us-east-1 denied AccessDeniedException"} {
		found := false
		for _, c := range a.coverage {
			found = found || strings.Join([]string{c.account, c.region, c.status, c.code}, " ") == want
		}
		if !found {
			t.Errorf("no coverage row %q in %+v", want, a.coverage)
		}
	}
	var fails int
	for _, f := range a.findings {
		if f.account == "110000000007" && f.result == "FAIL" {
			fails++
		}
	}
	if fails != 1 {
		t.Errorf("%d FAIL rows from the eu-only account, want 1", fails)
	}
}

// TestFaultCredentialsExpireMidScan: the role's sessions live 2 s and the
// scan takes several times that. Credentials are refreshed before they
// expire, every target is scanned, and no request is sent with expired
// credentials.
func TestFaultCredentialsExpireMidScan(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	lifetime := 2 * time.Second
	srv := serve(t, org, simorg.Options{SessionLifetime: lifetime, Latency: 100 * time.Millisecond})
	res := runScan(t, srv, nil, "--concurrency", "2", "--ecs-rate", "4", "--ecs-burst", "1")
	wantExit(t, res, exitOK)
	a := checkRun(t, res, expectation{org: org})
	if d := time.Duration(a.num("duration_ms")) * time.Millisecond; d < 2*lifetime {
		t.Fatalf("the scan took %v, not long enough to outlive %v sessions", d, lifetime)
	}
	stats := srv.Stats()
	perAccount := map[string]int{}
	for _, rec := range stats.Assumes {
		perAccount[rec.Account]++
	}
	for _, c := range a.coverage {
		if c.status != "scanned" && c.status != "skipped" {
			t.Errorf("%s %s is %s (%s: %s)", c.account, c.region, c.status, c.code, c.message)
		}
	}
	refreshed := 0
	for _, n := range perAccount {
		refreshed = max(refreshed, n)
	}
	if refreshed < 2 {
		t.Errorf("no account's role was assumed twice (%v): the credentials were never refreshed", perAccount)
	}
	var ecsCalls int64
	for _, op := range ecsOps {
		ecsCalls += stats.Calls[op]
	}
	t.Logf("%d AssumeRole calls for %d ECS calls in %v", len(stats.Assumes), ecsCalls, time.Duration(a.num("duration_ms"))*time.Millisecond)
	if len(stats.Assumes) > int(ecsCalls)/2 {
		t.Errorf("%d AssumeRole calls for %d ECS calls: the cache is not caching", len(stats.Assumes), ecsCalls)
	}
	// A request signed in time can arrive after expiry on a loaded machine
	// (and is retried with fresh credentials); one signed after expiry
	// means the cache did not refresh ahead.
	if stats.SignedExpired > 0 {
		t.Errorf("%d requests were signed with credentials already expired (errors: %v)", stats.SignedExpired, stats.Errors)
	}
}

// TestFaultCredentialsRevokedMidScan: in the middle of the scan every
// session the simulator issued expires at once, as with clock skew or an
// early revocation; the cache still believes them good for an hour. AWS's
// ExpiredTokenException must make the job assume the role afresh and carry
// on: every target scanned.
func TestFaultCredentialsRevokedMidScan(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	srv := serve(t, org, simorg.Options{Latency: 100 * time.Millisecond})
	_, wait := startScan(t, srv, nil, "--concurrency", "2", "--ecs-rate", "4", "--ecs-burst", "1")
	waitFor(t, func() bool { return srv.Stats().Calls["DescribeTaskDefinition"] >= 4 })
	srv.ExpireSessions()
	res := wait()
	wantExit(t, res, exitOK)
	a := checkRun(t, res, expectation{org: org})
	for _, c := range a.coverage {
		if c.status != "scanned" && c.status != "skipped" {
			t.Errorf("%s %s is %s (%s: %s)", c.account, c.region, c.status, c.code, c.message)
		}
	}
	if n := srv.Stats().Errors["ExpiredTokenException"]; n == 0 {
		t.Fatal("no request met an expired session; the revocation came too late to test anything")
	}
}

// TestFaultEmptyOrganizationsPages: the first Organizations pages come
// back empty with a NextToken. Every account is still found and placed.
func TestFaultEmptyOrganizationsPages(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	srv := serve(t, org, simorg.Options{EmptyPages: 8})
	res := runScan(t, srv, nil)
	wantExit(t, res, exitOK)
	checkRun(t, res, expectation{org: org})
	if n := srv.Stats().EmptyPages; n != 8 {
		t.Fatalf("%d empty pages served, want 8", n)
	}
	for _, r := range query(t, res.out, "coverage", "DISTINCT account_id, ou_names") {
		if r[0] == "110000000003" && r[1] != "Root/Workloads/Prod" {
			t.Errorf("ou_names of 110000000003 = %q", r[1])
		}
	}
}

// TestFaultVanishingRevisions: revisions listed but gone when described —
// an ACTIVE one, and with --revisions all an INACTIVE one — are ERROR rows,
// never PASS and never missing; a deletion is an answer, so the target is
// still scanned.
func TestFaultVanishingRevisions(t *testing.T) {
	t.Parallel()
	org := faultsOrg(t)
	srv := serve(t, org, simorg.Options{})
	res := runScan(t, srv, nil, "--revisions", "all")
	wantExit(t, res, exitOK)
	a := checkRun(t, res, expectation{org: org, revisions: "all"})
	if c, _ := a.covOf("110000000002", "us-east-1"); c.status != "scanned" {
		t.Errorf("the target with vanished revisions is %s (%s)", c.status, c.message)
	}
	var gone []string
	for _, f := range a.findings {
		if f.family == "node-exporter" && f.revision == "3" || f.family == "legacy" && f.revision == "2" {
			gone = append(gone, f.family+":"+f.revision+" "+f.result)
			if !strings.Contains(f.reason, "ClientException") {
				t.Errorf("ERROR row for a vanished revision does not say why: %q", f.reason)
			}
		}
	}
	slices.Sort(gone)
	if want := []string{"legacy:2 ERROR", "node-exporter:3 ERROR"}; !slices.Equal(gone, want) {
		t.Errorf("rows of vanished revisions: %q, want %q", gone, want)
	}
}

// TestFaultDescribeErrorsAreNotDeletions: only ECS's "unable to describe"
// ClientException means a revision is gone. A ClientException with another
// message, an AccessDeniedException (an SCP or IAM denial of the one
// action) or a validation error is a failure: an ERROR row, the target not
// fully scanned with the reason and no PASS rows, the run partial (exit 3).
func TestFaultDescribeErrorsAreNotDeletions(t *testing.T) {
	t.Parallel()
	f := loadFixture(t, "testdata/faults.json")
	broken := map[string]simorg.DescribeError{
		"110000000002 us-east-1 log-router:2":   {Code: "ClientException", Message: "The request was rejected: the task definition family is being updated."},
		"110000000003 us-east-1 payments-api:3": {Code: "AccessDeniedException", Message: "User is not authorized to perform: ecs:DescribeTaskDefinition with an explicit deny in a service control policy"},
		"110000000004 us-east-1 etl:2":          {Code: "InvalidParameterException", Message: "The revision is not valid."},
	}
	for i, a := range f.Accounts {
		for region, tds := range a.TaskDefinitions {
			for j, td := range tds {
				if e, ok := broken[fmt.Sprintf("%s %s %s:%d", a.ID, region, td.Family, td.Revision)]; ok {
					f.Accounts[i].TaskDefinitions[region][j].DescribeError = &e
					for k := range td.Containers {
						f.Accounts[i].TaskDefinitions[region][j].Containers[k].Expect = "ERROR"
					}
				}
			}
		}
	}
	org := newOrg(t, f)
	srv := serve(t, org, simorg.Options{})
	res := runScan(t, srv, nil, "--regions", "us-east-1")
	wantExit(t, res, exitPartial)
	a := checkRun(t, res, expectation{org: org, regions: []string{"us-east-1"}})
	for key, e := range broken {
		account, _, _ := strings.Cut(key, " ")
		c, _ := a.covOf(account, "us-east-1")
		if c.status != "failed" || c.code != e.Code || !strings.Contains(c.message, "could not be described") {
			t.Errorf("%s: coverage %s %s %q, want failed %s", key, c.status, c.code, c.message, e.Code)
		}
		var rows int
		for _, fr := range a.findings {
			if fr.account == account && fr.result == "PASS" {
				t.Errorf("%s: a PASS row from a target not fully scanned: %+v", key, fr)
			}
			if fr.account == account && fr.result == "ERROR" && strings.Contains(fr.reason, e.Code+": "+e.Message[:20]) {
				rows++
			}
		}
		if rows != 1 {
			t.Errorf("%s: %d ERROR rows naming %s and its message, want 1", key, rows, e.Code)
		}
	}
	if c, _ := a.covOf("110000000001", "us-east-1"); c.status != "scanned" {
		t.Errorf("an unaffected target is %s", c.status)
	}
}

// TestFaultSIGTERMMidScan: SIGTERM in the middle of a run, with a short
// grace. The process exits 4, the runs row says interrupted, every account
// is still in coverage (targets never started as skipped/Interrupted), no
// file is half-written, and no target that did not finish has a PASS row.
func TestFaultSIGTERMMidScan(t *testing.T) {
	t.Parallel()
	org := simorg.Generate(simorg.Spec{Seed: 5, Accounts: 10, Regions: 2, RevisionsPerRegion: 12, NonCompliantShare: 0.3})
	// Faults on: retries race with cancellation in the binary the race
	// detector watches (under go test -race).
	srv := serve(t, org, simorg.Options{Latency: 150 * time.Millisecond, ErrorShare: 0.1, ResetShare: 0.05, Seed: 3})
	cmd, wait := startScan(t, srv, nil, "--concurrency", "3", "--grace", "300ms")
	// 40 describes: at most 3 targets are in flight, each describes 12
	// revisions, so at least one target has finished; 200 are to come.
	waitFor(t, func() bool { return srv.Stats().Calls["DescribeTaskDefinition"] >= 40 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	res := wait()
	wantExit(t, res, exitInterrupted)
	a := checkRun(t, res, expectation{org: org})
	var scanned, notStarted int
	for _, c := range a.coverage {
		switch {
		case c.status == "scanned":
			scanned++
		case c.code == "Interrupted" && c.status == "skipped":
			notStarted++
		case c.code == "Interrupted" && c.status != "failed":
			t.Errorf("%s %q: interrupted in flight but %s", c.account, c.region, c.status)
		}
	}
	if scanned == 0 || notStarted == 0 {
		t.Fatalf("%d targets scanned, %d never started: the signal did not land mid-scan", scanned, notStarted)
	}
	if !strings.Contains(res.stdout, ": interrupted") {
		t.Errorf("summary: %s", res.stdout)
	}
}

// TestFaultHostileData: what AWS returns is untrusted. Names of 10 KB,
// control characters and invalid UTF-8 in names, images and users, three
// hundred containers in one revision, missing fields. Nothing panics,
// every string is written as bounded, valid UTF-8 data, reasons and log
// lines carry no raw control characters, and every verdict is right.
func TestFaultHostileData(t *testing.T) {
	t.Parallel()
	org := newOrg(t, hostileFixture())
	srv := serve(t, org, simorg.Options{})
	res := runScan(t, srv, nil, "--log-level", "debug", "--log-format", "json")
	wantExit(t, res, exitOK)
	a := checkRun(t, res, expectation{org: org})
	if len(a.findings) < 300 {
		t.Errorf("%d findings; the revision with 300 containers alone has 300", len(a.findings))
	}
	for _, f := range a.findings {
		if strings.ContainsFunc(f.reason, isControl) {
			t.Errorf("reason with raw control characters: %q", f.reason)
		}
	}
	if !utf8.ValidString(res.stderr) || strings.ContainsFunc(strings.ReplaceAll(res.stderr, "\n", ""), isControl) {
		t.Error("the log has invalid UTF-8 or raw control characters")
	}
	// Long strings are cut to a valid prefix, not dropped or mangled.
	rows := query(t, res.out, "findings", `strlen(family), strlen(container_name), strlen(image), strlen("user"), "user", result`)
	found := false
	for _, r := range rows {
		if r[0] == fmt.Sprint(output.MaxText) && r[1] != "5" { // the 10 KB family's 10 KB container
			found = true
			if r[1] != "4095" || r[2] != "4095" || r[3] != "4095" || !strings.HasPrefix(hostileLong, r[4]) {
				t.Errorf("10 KB strings written as %v bytes; want valid prefixes of 4095", r[:4])
			}
		}
	}
	if !found {
		t.Error("no row of the 10 KB family")
	}
	names := query(t, res.out, "coverage", "DISTINCT account_name, ou_names")
	for _, r := range names {
		if strings.HasPrefix(r[0], "mgmt ") && !strings.Contains(r[0], "\x1b[31m") {
			t.Errorf("control characters in the account name were not kept as data: %q", r[0])
		}
	}
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// hostileLong is 10 KB of two-byte runes between one-byte ones, laid out
// so that the 4096-byte cut falls inside a rune.
var hostileLong = "x" + strings.Repeat("ab\u00e9", 2600)

// hostileFixture is an organization whose API answers are hostile.
func hostileFixture() simorg.Fixture {
	ctl := "evil\x00\x01\x1b[31mred\x1b[0m\t\r\n\u202egnp.exe\"'\\"
	bad := "bad\xff\xfe\xc0utf8"
	str := func(s string) *string { return &s }
	yes := true
	many := make([]simorg.Container, 300)
	for i := range many {
		many[i] = simorg.Container{Name: fmt.Sprintf("c%03d", i), Image: "img:1", Expect: "PASS"}
		switch i % 3 {
		case 0:
			many[i].User, many[i].Expect = str("root"), "FAIL"
		case 1:
			many[i].User = str("1000")
		}
		if i%10 == 0 {
			many[i].Privileged, many[i].Expect = &yes, "FAIL"
		}
	}
	tds := []simorg.TaskDefinition{
		{Family: "fam-" + ctl, Revision: 1, NetworkMode: "host", Unchecked: true, Containers: []simorg.Container{
			{Name: "name-" + ctl + bad, Image: "img-" + ctl + bad, User: str("1000" + ctl + bad), Expect: "PASS"},
			{Name: "root-" + ctl, Image: "img", User: str("root:" + ctl), Expect: "FAIL"},
			{Name: "bad-user", Image: "img", User: str(bad + "root"), Expect: "PASS"},
		}},
		{Family: strings.Repeat("f", 10000), Revision: 1, NetworkMode: "host", Unchecked: true, Containers: []simorg.Container{
			{Name: hostileLong, Image: hostileLong, User: str(hostileLong), Expect: "PASS"},
			{Name: "zeros", Image: "img", User: str(strings.Repeat("0", 10000)), Expect: "FAIL"},
			{Name: "nines", Image: "img", User: str(strings.Repeat("9", 10000)), Expect: "PASS"},
		}},
		{Family: "many", Revision: 1, NetworkMode: "host", Containers: many},
		{Family: "no-containers", Revision: 1, NetworkMode: "host", Unchecked: true},
		{Family: "blank", Revision: 1, NetworkMode: "host", Unchecked: true, Containers: []simorg.Container{{Expect: "PASS"}}},
		{Family: "no-mode", Revision: 1, Containers: []simorg.Container{{Name: "c", Image: "i", Privileged: &yes, User: str("root"), Expect: "NOT_APPLICABLE"}}},
	}
	return simorg.Fixture{
		OrganizationID: "o-hostile1234", ManagementAccountID: "120000000001",
		Regions:             []simorg.Region{{Name: "us-east-1"}},
		OrganizationalUnits: []simorg.OU{{ID: "ou-host-evil0001", Name: "OU " + ctl + bad + hostileLong}},
		Accounts: []simorg.AccountFixture{
			{Account: simorg.Account{ID: "120000000001", Name: "mgmt " + ctl + bad + hostileLong},
				TaskDefinitions: map[string][]simorg.TaskDefinition{"us-east-1": tds}},
			{Account: simorg.Account{ID: "120000000002", Name: hostileLong, Parent: "ou-host-evil0001"},
				TaskDefinitions: map[string][]simorg.TaskDefinition{"us-east-1": {
					{Family: "plain", Revision: 1, NetworkMode: "host", Containers: []simorg.Container{{Name: "c", Image: "i", User: str("root"), Expect: "FAIL"}}},
				}}},
		},
	}
}

// TestFaultSecretsNeverLeak: secrets planted in environment values and
// secret ARNs (the demo organization's and one more), the management
// secret key and the external id appear in no column of any dataset, nor
// in the summary or the debug log, in either log format, with every
// revision scanned.
func TestFaultSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	var f simorg.Fixture
	if err := json.Unmarshal(simorg.DefaultFixture(), &f); err != nil {
		t.Fatal(err)
	}
	const externalID = "flt-external-id-s3cr3t-88e0"
	const extra = "flt-second-s3cr3t-0c1d"
	f.ExternalID = externalID
	for i := range f.Accounts {
		for region, tds := range f.Accounts[i].TaskDefinitions {
			for k := range tds {
				for c := range tds[k].Containers {
					ctr := &tds[k].Containers[c]
					ctr.Environment = append(ctr.Environment, simorg.KeyValue{Name: "SECRET_" + region, Value: extra})
					ctr.Secrets = append(ctr.Secrets, simorg.Secret{Name: "TOKEN", ValueFrom: "arn:aws:secretsmanager:" + region + ":" + f.Accounts[i].ID + ":secret:" + extra})
				}
			}
		}
	}
	org := newOrg(t, f)
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, org, simorg.Options{})
			res := runScan(t, srv, []string{"ECSAUDIT_EXTERNAL_ID=" + externalID},
				"--revisions", "all", "--log-level", "debug", "--log-format", format)
			wantExit(t, res, exitPartial) // the demo organization denies some targets
			checkRun(t, res, expectation{org: org, revisions: "all", secrets: []string{externalID, extra}})
		})
	}
}
