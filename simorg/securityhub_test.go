package simorg

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

// hubFinding builds a minimal valid ASFF finding of account in region.
func testFinding(account, region, id, compliance string) types.AwsSecurityFinding {
	return types.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"), Id: aws.String(id),
		ProductArn:  aws.String(fmt.Sprintf("arn:aws:securityhub:%s:%s:product/%s/default", region, account, account)),
		GeneratorId: aws.String("TEST.1"), AwsAccountId: aws.String(account),
		Types:     []string{"Software and Configuration Checks"},
		CreatedAt: aws.String("2026-01-01T00:00:00Z"), UpdatedAt: aws.String("2026-01-01T00:00:00Z"),
		Severity: &types.Severity{Label: types.SeverityLabelHigh},
		Title:    aws.String("t"), Description: aws.String("d"),
		Compliance: &types.Compliance{Status: types.ComplianceStatus(compliance)},
		Resources:  []types.Resource{{Type: aws.String("AwsEcsTaskDefinition"), Id: aws.String("arn:aws:ecs:" + region + ":" + account + ":task-definition/x:1")}},
	}
}

// TestSecurityHubLifecycle drives the simulated Security Hub with the real
// SDK client: import, the account rule, format errors, paging, workflow.
func TestSecurityHubLifecycle(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	ctx := context.Background()
	const acct, region = "333333333333", "us-east-1"
	client := securityhub.NewFromConfig(assumedConfig(t, srv, acct, region))

	var batch []types.AwsSecurityFinding
	for i := range 5 {
		batch = append(batch, testFinding(acct, region, fmt.Sprintf("f-%d", i), "FAILED"))
	}
	bad := testFinding(acct, region, "bad", "FAILED")
	bad.Description = aws.String(strings.Repeat("x", 1025)) // the SDK checks presence, not length
	out, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: append(batch, bad)})
	if err != nil {
		t.Fatal(err)
	}
	if *out.SuccessCount != 5 || *out.FailedCount != 1 || *out.FailedFindings[0].Id != "bad" || *out.FailedFindings[0].ErrorCode != "InvalidInput" {
		t.Fatalf("import: %d ok, %d failed %+v", *out.SuccessCount, *out.FailedCount, out.FailedFindings)
	}

	// Another account's finding, or another product: the whole call is denied.
	other := testFinding("444444444444", region, "x", "FAILED")
	_, err = client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{other}})
	wantCode(t, err, "AccessDeniedException")
	other.AwsAccountId = aws.String(acct)
	_, err = client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{other}})
	wantCode(t, err, "AccessDeniedException")

	// Paging with a filter, through the SDK's paginator.
	p := securityhub.NewGetFindingsPaginator(client, &securityhub.GetFindingsInput{
		MaxResults: aws.Int32(2),
		Filters:    &types.AwsSecurityFindingFilters{Id: []types.StringFilter{{Comparison: types.StringFilterComparisonPrefix, Value: aws.String("f-")}}},
	})
	var ids []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range page.Findings {
			ids = append(ids, *f.Id)
			if f.Workflow.Status != types.WorkflowStatusNew || *f.Region != region || f.RecordState != types.RecordStateActive {
				t.Errorf("%s: workflow %s region %s record %s", *f.Id, f.Workflow.Status, *f.Region, f.RecordState)
			}
		}
	}
	if fmt.Sprint(ids) != "[f-0 f-1 f-2 f-3 f-4]" {
		t.Fatalf("paged ids %v", ids)
	}
	// A filter the simulator does not implement is an error, never ignored.
	_, err = client.GetFindings(ctx, &securityhub.GetFindingsInput{Filters: &types.AwsSecurityFindingFilters{
		Title: []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String("t")}}}})
	wantCode(t, err, "InvalidInputException")

	// The customer resolves f-0; a provider update to FAILED reopens it
	// (PASSED → FAILED resets RESOLVED to NEW), one to PASSED does not.
	upd, err := client.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []types.AwsSecurityFindingIdentifier{{Id: aws.String("f-0"), ProductArn: batch[0].ProductArn}, {Id: aws.String("nope"), ProductArn: batch[0].ProductArn}},
		Workflow:           &types.WorkflowUpdate{Status: types.WorkflowStatusResolved},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(upd.ProcessedFindings) != 1 || len(upd.UnprocessedFindings) != 1 {
		t.Fatalf("update: %d processed, %d unprocessed", len(upd.ProcessedFindings), len(upd.UnprocessedFindings))
	}
	status := func(id string) (string, string) {
		for _, f := range srv.SecurityHub().Findings(acct, region) {
			if f.ID == id {
				return f.ComplianceStatus, f.WorkflowStatus
			}
		}
		return "", ""
	}
	for _, step := range []struct{ compliance, wantWorkflow string }{{"PASSED", "RESOLVED"}, {"FAILED", "NEW"}} {
		if _, err := client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{testFinding(acct, region, "f-0", step.compliance)}}); err != nil {
			t.Fatal(err)
		}
		if c, w := status("f-0"); c != step.compliance || w != step.wantWorkflow {
			t.Errorf("after import %s: compliance %s workflow %s, want workflow %s", step.compliance, c, w, step.wantWorkflow)
		}
	}
	// Regions are separate stores.
	if n := len(srv.SecurityHub().Findings(acct, "ap-southeast-2")); n != 0 {
		t.Errorf("%d findings leaked into ap-southeast-2", n)
	}
}

// TestSecurityHubThrottles: with the documented buckets on, a burst over
// 30 BatchImportFindings calls is throttled with Security Hub's own error.
func TestSecurityHubThrottles(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{SecurityHubLimits: true})
	cfg := assumedConfig(t, srv, "333333333333", "us-east-1", config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }))
	client := securityhub.NewFromConfig(cfg)
	f := testFinding("333333333333", "us-east-1", "f", "FAILED")
	// The bucket holds 30 and refills 10/s: never emptied by 1000 calls
	// only if they took over 97 s. Stop at the first throttle.
	var throttled int
	for i := 0; i < 1000 && throttled == 0; i++ {
		_, err := client.BatchImportFindings(context.Background(), &securityhub.BatchImportFindingsInput{Findings: []types.AwsSecurityFinding{f}})
		if err != nil {
			wantCode(t, err, "TooManyRequestsException")
			if !retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
				t.Fatalf("the SDK does not classify %v as throttling", err)
			}
			throttled++
		}
	}
	if throttled == 0 || srv.Stats().Throttled["BatchImportFindings"] != int64(throttled) {
		t.Fatalf("throttled %d, server counted %d", throttled, srv.Stats().Throttled["BatchImportFindings"])
	}
}
