package job

import (
	"context"
	"testing"
	"time"

	"github.com/ecsaudit/ecsaudit/accounts"
	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
)

// TestCacheNeverCrossesRules: verdicts an earlier run reached under another
// rule version, or under other rule options, are never carried; the same
// rule's are.
func TestCacheNeverCrossesRules(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"
	control, unsetFails, awsConfig := check.Options{Compat: check.Control}, check.Options{Compat: check.Control, UnsetUserFails: true}, check.Options{Compat: check.AWSConfig}
	tests := []struct {
		name        string
		ruleVersion string
		written     check.Options
		now         check.Options
		carried     bool
	}{
		{"same rule and options", check.RuleVersion, control, control, true},
		{"an older rule version", "1", control, control, false},
		{"a newer rule version", check.RuleVersion + "0", control, control, false},
		{"unset user failing then, not now", check.RuleVersion, unsetFails, control, false},
		{"passing then, failing now", check.RuleVersion, control, unsetFails, false},
		{"aws-config then, control now", check.RuleVersion, awsConfig, control, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := output.Dir(t.TempDir())
			started := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
			w := output.NewWriter(dir, "earlier", started)
			finding := output.Finding{RunID: "earlier", AccountID: "123456789012", Region: "us-east-1", TaskDefinitionARN: arn,
				Family: "web", Revision: 1, ContainerName: "c", Result: string(check.Pass), RuleVersion: tt.ruleVersion, RuleID: check.RuleID}
			cov := output.Coverage{RunID: "earlier", AccountID: "123456789012", Region: "us-east-1", Status: Scanned, TaskDefinitions: 1, Findings: 1}
			if err := w.Findings(ctx, []output.Finding{finding}); err != nil {
				t.Fatal(err)
			}
			if err := w.Coverage(ctx, []output.Coverage{cov}); err != nil {
				t.Fatal(err)
			}
			run := output.Run{RunID: "earlier", AttemptID: "earlier", StartedAt: started, Status: StatusComplete,
				RuleVersion: tt.ruleVersion, RuleOptions: tt.written.String(), ShardCount: 1}
			if err := w.Commit(ctx, run); err != nil {
				t.Fatal(err)
			}
			c, err := loadCache(ctx, dir, "tonight", tt.now, func(string) bool { return true })
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			rows, err := c.rows(target{account: accounts.Account{ID: "123456789012"}, region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(rows[arn]) > 0; got != tt.carried {
				t.Errorf("carried = %v, want %v (written under %s %q, now %s %q)", got, tt.carried, tt.ruleVersion, tt.written, check.RuleVersion, tt.now)
			}
		})
	}
}
