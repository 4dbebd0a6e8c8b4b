package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ecsaudit/ecsaudit/securityhub"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// hubState returns every Security Hub finding of the organization's
// accounts in region, by Id.
func hubState(hub *simorg.SecurityHub, org *simorg.Org, region string) map[string]simorg.HubFinding {
	m := map[string]simorg.HubFinding{}
	for _, a := range org.Accounts() {
		for _, f := range hub.Findings(a.ID, region) {
			m[f.ID] = f
		}
	}
	return m
}

func description(f simorg.HubFinding) string {
	var doc struct{ Description string }
	json.Unmarshal(f.Raw, &doc)
	return doc.Description
}

// TestSecurityHubNights: night 1 imports every FAIL, PASS and ERROR as
// ASFF into each account's Security Hub; by night 2 the team deregistered
// a failing revision and decided that an unset user passes. Night 2
// resolves the findings that now pass, archives the gone revision's, and
// sends only findings that say something new; the Parquet output is the same as without
// --securityhub, and no call was throttled at the client's budget.
func TestSecurityHubNights(t *testing.T) {
	t.Parallel()
	hub := simorg.NewSecurityHub()
	night1 := simorg.Default()
	srv1, err := simorg.Start(night1, simorg.Options{SecurityHub: hub, SecurityHubLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv1.Close()
	out := t.TempDir()
	r1 := runScan(t, srv1, []string{"AWS_REGION=us-east-1"}, "--output", out, "--securityhub", "--unset-user", "fail")
	if r1.code != exitPartial { // the demo organization has a role that cannot be assumed
		t.Fatalf("night 1: exit %d\n%s", r1.code, r1.stderr)
	}
	if th := srv1.Stats().Throttled; th["BatchImportFindings"]+th["GetFindings"]+th["BatchUpdateFindings"] != 0 {
		t.Errorf("night 1 throttled: %v", th)
	}

	// Every FAIL, PASS and ERROR row is a finding; NOT_APPLICABLE is not.
	state := hubState(hub, night1, "us-east-1")
	rows := query(t, out, "findings", "account_id, region, task_definition_arn, container_name, rule_id, result")
	want := 0
	for _, r := range rows {
		if r[5] == "NOT_APPLICABLE" || !strings.HasPrefix(r[2], "arn:") {
			continue
		}
		want++
		f, ok := state[securityhub.FindingID(r[2], r[3], r[4])]
		if !ok {
			t.Errorf("no finding for %v", r)
			continue
		}
		if f.AwsAccountID != r[0] || f.ResourceRegion != r[1] || f.ComplianceStatus != string(securityhub.Compliance(r[5])) ||
			f.ProductARN != securityhub.ProductARN("aws", "us-east-1", r[0]) || f.WorkflowStatus != "NEW" {
			t.Errorf("finding of %v: %+v", r, f)
		}
	}
	if want == 0 || len(state) != want {
		t.Fatalf("%d findings in Security Hub, %d rows to import", len(state), want)
	}
	for _, f := range state {
		if strings.Contains(string(f.Raw), `"Environment"`) || strings.Contains(string(f.Raw), `"Secrets"`) {
			t.Fatalf("environment or secrets sent: %s", f.Raw)
		}
	}

	// Night 2: ledger:3 (FAIL) deregistered; unset users pass.
	var fx simorg.Fixture
	if err := json.Unmarshal(simorg.DefaultFixture(), &fx); err != nil {
		t.Fatal(err)
	}
	const gone = "arn:aws:ecs:us-east-1:333333333333:task-definition/ledger:3"
	for i, a := range fx.Accounts {
		for j, td := range a.TaskDefinitions["us-east-1"] {
			if a.ID == "333333333333" && td.Family == "ledger" && td.Revision == 3 {
				fx.Accounts[i].TaskDefinitions["us-east-1"][j].Status = simorg.StatusInactive
			}
		}
	}
	night2, err := simorg.New(fx)
	if err != nil {
		t.Fatal(err)
	}
	srv2, err := simorg.Start(night2, simorg.Options{SecurityHub: hub, SecurityHubLimits: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	r2 := runScan(t, srv2, []string{"AWS_REGION=us-east-1"}, "--output", out, "--securityhub", "--unset-user", "pass")
	if r2.code != exitPartial {
		t.Fatalf("night 2: exit %d\n%s", r2.code, r2.stderr)
	}
	after := hubState(hub, night2, "us-east-1")
	var resolved, archived int
	for id, f := range after {
		before := state[id]
		switch {
		case before.ComplianceStatus == "FAILED" && f.ComplianceStatus == "PASSED":
			resolved++
			if f.WorkflowStatus != "RESOLVED" || f.ProductFields[securityhub.FieldContainer] == "" {
				t.Errorf("%s passes now: workflow %s", id, f.WorkflowStatus)
			}
		case f.RecordState == "ARCHIVED":
			archived++
			if f.ResourceID != gone {
				t.Errorf("%s archived, but its revision %s is still there", id, f.ResourceID)
			}
		}
		// Sent again exactly when it says something else now.
		changed := f.ComplianceStatus != before.ComplianceStatus || f.RecordState != before.RecordState || description(f) != description(before)
		if sent := f.Imports > before.Imports; sent != changed {
			t.Errorf("%s: sent again %v, changed %v", id, sent, changed)
		}
	}
	// log-router (payments-api:3), web (web:3), batch (batch:3) and
	// sidecar (fraud-scorer:2) had no user and are not privileged.
	// ledger:3's one container had a finding under each rule.
	if resolved != 4 || archived != 2 {
		t.Errorf("night 2: %d resolved (want 4), %d archived (want 2)", resolved, archived)
	}
	if th := srv2.Stats().Throttled; th["BatchImportFindings"]+th["GetFindings"]+th["BatchUpdateFindings"] != 0 {
		t.Errorf("night 2 throttled: %v", th)
	}
	exports := query(t, out, "exports", "run_id, account_id, status, imported, archived, resolved")
	var n2 int
	for _, e := range exports {
		if e[0] == runIDOf(t, r2) {
			n2++
			if e[2] != "imported" {
				t.Errorf("night 2 export %v", e)
			}
		}
	}
	if n2 == 0 {
		t.Errorf("no exports rows for night 2: %v", exports)
	}
}

// TestSecurityHubFailureIsPartial: when Security Hub rejects every
// finding, the run still writes all of its Parquet output, exits 3
// (partial), and the exports dataset says why.
func TestSecurityHubFailureIsPartial(t *testing.T) {
	t.Parallel()
	org := simorg.Generate(simorg.Spec{Seed: 3, Accounts: 3, Regions: 1, RevisionsPerRegion: 10, NonCompliantShare: 0.5})
	hub := simorg.NewSecurityHub()
	hub.FailNextFindings(1 << 30)
	srv, err := simorg.Start(org, simorg.Options{SecurityHub: hub})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	plain := runScan(t, srv, nil)
	res := runScan(t, srv, []string{"AWS_REGION=us-east-1"}, "--securityhub")
	if plain.code != exitOK || res.code != exitPartial {
		t.Fatalf("exit %d without, %d with Security Hub failing; want %d and %d\n%s", plain.code, res.code, exitOK, exitPartial, res.stderr)
	}
	got, want := verdicts(t, res.out, runIDOf(t, res)), verdicts(t, plain.out, runIDOf(t, plain))
	if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("findings differ when Security Hub fails: %d vs %d rows", len(got), len(want))
	}
	if st := query(t, res.out, "runs", "status"); len(st) != 1 || st[0][0] != "partial" {
		t.Errorf("runs row %v, want partial", st)
	}
	var failed int
	for _, e := range query(t, res.out, "exports", "status, error_code, failed") {
		if e[0] == "failed" && e[1] == "InternalException" && e[2] != "0" {
			failed++
		}
	}
	if failed == 0 {
		t.Errorf("no exports row says why")
	}
}
