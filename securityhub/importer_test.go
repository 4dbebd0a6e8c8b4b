package securityhub

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	sh "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecsaudit/ecsaudit/budget"
	"github.com/ecsaudit/ecsaudit/internal/simtest"
	"github.com/ecsaudit/ecsaudit/internal/virtualclock"
	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/simorg"
)

const (
	acct   = "333333333333"
	region = "us-east-1"
)

func row(arn, container, result, severity string) output.Finding {
	return output.Finding{
		AccountID: acct, Region: region, TaskDefinitionARN: arn, Family: "web", Revision: 1, Status: "ACTIVE",
		NetworkMode: "host", ContainerName: container, Image: "nginx", RuleID: "ECSAUDIT.HOSTNET.1", RuleVersion: "1",
		Result: result, Reason: "reason of " + container + " " + result, Severity: severity,
		ScannedAt: time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC),
	}
}

var scannedUS = []output.Coverage{{AccountID: acct, Region: region, Status: "scanned"}}

// newImporter imports as each account's audit role, as the binary does.
func newImporter(t *testing.T, srv *simorg.Server, cfg aws.Config, now time.Time) *Importer {
	t.Helper()
	stsClient := sts.NewFromConfig(cfg)
	return New(Config{
		Region: region,
		Now:    func() time.Time { return now },
		Client: func(partition, account string) API {
			c := cfg.Copy()
			c.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, srv.Org().RoleARN(account)))
			return sh.NewFromConfig(c)
		},
	})
}

func byID(srv *simorg.Server) map[string]simorg.HubFinding {
	m := map[string]simorg.HubFinding{}
	for _, f := range srv.SecurityHub().Findings(acct, region) {
		m[f.ID] = f
	}
	return m
}

// TestLifecycle: the first night creates findings, the next sends only
// what changed, resolves what went from FAILED to PASSED, archives what is
// gone from a scanned target and keeps what is in a target not scanned.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	srv, cfg := simtest.Start(t, simorg.Default(), simorg.Options{SecurityHubLimits: true}, region)
	ctx := context.Background()
	const (
		rev1 = "arn:aws:ecs:us-east-1:333333333333:task-definition/web:1"
		rev2 = "arn:aws:ecs:us-east-1:333333333333:task-definition/web:2"
		euw1 = "arn:aws:ecs:eu-west-1:333333333333:task-definition/web:1"
	)
	na := row(rev1, "sidecar", "NOT_APPLICABLE", "INFORMATIONAL")
	night1 := []output.Finding{
		row(rev1, "app", "FAIL", "HIGH"), row(rev1, "log", "PASS", "INFORMATIONAL"), na,
		row(rev2, "", "ERROR", "MEDIUM"),
	}
	gone := row(euw1, "app", "FAIL", "CRITICAL")
	gone.Region = "eu-west-1"
	night1 = append(night1, gone)

	im := newImporter(t, srv, cfg, time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC))
	im.Add(night1, scannedUS)
	srv.SecurityHub().FailNextFindings(1) // one transient rejection: sent again
	exports, err := im.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(exports) != 1 || exports[0].Imported != 4 || exports[0].Failed != 0 || exports[0].Status != "imported" {
		t.Fatalf("night 1 exports %+v", exports)
	}
	held := byID(srv)
	app := FindingID(rev1, "app", "ECSAUDIT.HOSTNET.1")
	if f := held[app]; f.ComplianceStatus != "FAILED" || f.SeverityLabel != "HIGH" || f.ResourceType != "AwsEcsTaskDefinition" ||
		f.ResourceID != rev1 || f.AwsAccountID != acct || f.ProductARN != ProductARN("aws", region, acct) || f.ProductFields[FieldContainer] != "app" {
		t.Errorf("app finding: %+v", f)
	}
	if f := held[FindingID(rev2, "", "ECSAUDIT.HOSTNET.1")]; f.ComplianceStatus != "WARNING" {
		t.Errorf("ERROR row: compliance %q, want WARNING", f.ComplianceStatus)
	}
	if _, ok := held[FindingID(rev1, "sidecar", "ECSAUDIT.HOSTNET.1")]; ok || len(held) != 4 {
		t.Errorf("%d findings; NOT_APPLICABLE must not be sent", len(held))
	}
	if strings.Contains(string(held[app].Raw), "Environment") {
		t.Errorf("a finding carries container environment: %s", held[app].Raw)
	}

	// The same rows again: nothing to send.
	srv.ResetStats()
	im = newImporter(t, srv, cfg, time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC))
	im.Add(night1, scannedUS)
	if exports, err = im.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if n := srv.Stats().Calls["BatchImportFindings"]; n != 0 || exports[0].Unchanged != 4 {
		t.Fatalf("unchanged night: %d imports, exports %+v", n, exports)
	}

	// Night 3: app passes now (a rule change), rev2 is gone from the
	// scanned target, eu-west-1 was not scanned.
	night3 := []output.Finding{row(rev1, "app", "PASS", "INFORMATIONAL"), row(rev1, "log", "PASS", "INFORMATIONAL"), na}
	im = newImporter(t, srv, cfg, time.Date(2026, 11, 3, 3, 0, 0, 0, time.UTC))
	im.Add(night3, scannedUS)
	if exports, err = im.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if e := exports[0]; e.Imported != 1 || e.Unchanged != 1 || e.Archived != 1 || e.Resolved != 1 {
		t.Fatalf("night 3 exports %+v", e)
	}
	held = byID(srv)
	if f := held[app]; f.ComplianceStatus != "PASSED" || f.WorkflowStatus != "RESOLVED" || f.RecordState != "ACTIVE" || f.CreatedAt != "2026-11-01T02:00:00Z" {
		t.Errorf("app after the fix: %+v", f)
	}
	if f := held[FindingID(rev2, "", "ECSAUDIT.HOSTNET.1")]; f.RecordState != "ARCHIVED" {
		t.Errorf("gone revision: record state %q", f.RecordState)
	}
	if f := held[FindingID(euw1, "app", "ECSAUDIT.HOSTNET.1")]; f.RecordState != "ACTIVE" || f.ComplianceStatus != "FAILED" {
		t.Errorf("finding of a target not scanned changed: %+v", f)
	}
	if srv.Stats().TotalThrottled() != 0 {
		t.Errorf("throttled at the client's budget: %v", srv.Stats().Throttled)
	}
}

// TestFailureIsReported: findings rejected on every attempt, and an
// account whose calls are denied, make Finish fail with rows that say why.
func TestFailureIsReported(t *testing.T) {
	t.Parallel()
	srv, cfg := simtest.Start(t, simorg.Default(), simorg.Options{DenyRegions: map[string][]string{"444444444444": {region}}}, region)
	other := row("arn:aws:ecs:us-east-1:444444444444:task-definition/api:1", "api", "FAIL", "HIGH")
	other.AccountID = "444444444444"
	im := newImporter(t, srv, cfg, time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC))
	im.Add([]output.Finding{row("arn:aws:ecs:us-east-1:333333333333:task-definition/web:1", "app", "FAIL", "HIGH"), other}, scannedUS)
	srv.SecurityHub().FailNextFindings(attempts)
	exports, err := im.Finish(context.Background())
	if err == nil {
		t.Fatal("Finish succeeded")
	}
	if len(exports) != 2 {
		t.Fatalf("exports %+v", exports)
	}
	if e := exports[0]; e.AccountID != acct || e.Status != "failed" || e.Failed != 1 || e.ErrorCode != "InternalException" {
		t.Errorf("rejected findings: %+v", e)
	}
	if e := exports[1]; e.AccountID != "444444444444" || e.Status != "failed" || e.ErrorCode != "AccessDeniedException" {
		t.Errorf("denied account: %+v", e)
	}
}

// TestBudgetKeepsUnderTheLimit: 35 batches for one account, more than
// the bucket's burst of 30, go through the documented bucket without a
// throttle (a client without the budget is throttled: see simorg's
// TestSecurityHubThrottles), and in batches of at most 100.
func TestBudgetKeepsUnderTheLimit(t *testing.T) {
	t.Parallel()
	// The budgets and the buckets share a virtual clock, so the times the
	// server sees are the times the budgets chose, however loaded the
	// machine. It starts now: signatures are checked on the real clock.
	clock := virtualclock.New(time.Now())
	srv, cfg := simtest.Start(t, simorg.Default(), simorg.Options{SecurityHubLimits: true, Clock: clock.Now}, region)
	var rows []output.Finding
	for i := range 3456 {
		rows = append(rows, row(fmt.Sprintf("arn:aws:ecs:us-east-1:333333333333:task-definition/f%d:1", i), "app", "FAIL", "HIGH"))
	}
	im := newImporter(t, srv, cfg, time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC))
	im.imports, im.reads, im.updates = budget.NewOnClock(importRate, importBurst, clock), budget.NewOnClock(readRate, readBurst, clock), budget.NewOnClock(updateRate, updateBurst, clock)
	im.Add(rows, scannedUS)
	exports, err := im.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if exports[0].Imported != 3456 || st.Calls["BatchImportFindings"] != 35 || st.TotalThrottled() != 0 || exports[0].ThrottledCalls != 0 {
		t.Fatalf("imported %d in %d calls, %d throttled", exports[0].Imported, st.Calls["BatchImportFindings"], st.TotalThrottled())
	}
}
