package job

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/smithy-go"

	"github.com/ecsaudit/ecsaudit/accounts"
	"github.com/ecsaudit/ecsaudit/check"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	api := func(code string) error {
		return fmt.Errorf("operation error: %w", &smithy.GenericAPIError{Code: code, Message: "msg " + code})
	}
	tests := []struct {
		err          error
		status, code string
	}{
		{api("AccessDenied"), Denied, "AccessDenied"},
		{api("AccessDeniedException"), Denied, "AccessDeniedException"},
		{api("UnrecognizedClientException"), Denied, "UnrecognizedClientException"},
		{api("UnauthorizedOperation"), Denied, "UnauthorizedOperation"},
		{api("ThrottlingException"), Failed, "ThrottlingException"},
		{api("ServerException"), Failed, "ServerException"},
		{fmt.Errorf("describe: %w", context.Canceled), Failed, "Interrupted"},
		{fmt.Errorf("describe: %w", context.DeadlineExceeded), Failed, "Timeout"},
		{errors.New("dial tcp: connection refused"), Failed, "RequestFailed"},
	}
	for _, tt := range tests {
		status, code, msg := classify(tt.err)
		if status != tt.status || code != tt.code || msg == "" {
			t.Errorf("classify(%v) = %s, %s, %q; want %s, %s", tt.err, status, code, msg, tt.status, tt.code)
		}
	}
}

func TestErrorRowIsNeverPass(t *testing.T) {
	t.Parallel()
	tg := target{account: accounts.Account{ID: "123456789012", Name: "a"}, region: "eu-west-1"}
	for _, tt := range []struct {
		ref, arn, family string
		rev              int32
	}{
		{"arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7", "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7", "web", 7},
		{"web", "", "web", 0}, // --revisions latest describes by family
	} {
		rows := errorRows(tg, tt.ref, "ThrottlingException: Rate exceeded", check.Options{HostAccess: true})
		if len(rows) != 2 || rows[0].RuleID != check.RuleID || rows[1].RuleID != check.HostAccessRuleID || rows[1].RuleVersion != check.HostAccessRuleVersion {
			t.Fatalf("errorRows(%q): %d rows %+v, want one ERROR per rule", tt.ref, len(rows), rows)
		}
		for _, f := range rows {
			if f.Result != string(check.Error) || f.TaskDefinitionARN != tt.arn || f.Family != tt.family || f.Revision != tt.rev || !strings.Contains(f.Reason, "Rate exceeded") {
				t.Errorf("errorRows(%q) = %+v", tt.ref, f)
			}
		}
	}
}

func TestFindingRows(t *testing.T) {
	t.Parallel()
	tg := target{account: accounts.Account{ID: "123456789012", Name: "bad\xffname", OUNames: "Root/Prod"}, region: "us-east-1"}
	yes, root := true, "root"
	td := check.TaskDefinition{ARN: "arn:x", Family: "f", Revision: 1, Status: "ACTIVE", NetworkMode: "host", Containers: []check.Container{
		{Name: "a", Image: "i", Privileged: &yes},
		{Name: strings.Repeat("n", 10000), User: &root},
		{Name: "c"},
	}}
	rows := findingRows(tg, td, check.Options{})
	if len(rows) != 3 {
		t.Fatalf("%d rows for 3 containers", len(rows))
	}
	if rows[0].Privileged == nil || !*rows[0].Privileged || rows[0].User != nil || rows[0].Result != "FAIL" {
		t.Errorf("row 0: %+v", rows[0])
	}
	if rows[1].User == nil || *rows[1].User != "root" || rows[1].Result != "FAIL" || len(rows[1].ContainerName) > 4096 {
		t.Errorf("row 1: user %v result %s name length %d", rows[1].User, rows[1].Result, len(rows[1].ContainerName))
	}
	if !rows[2].UserUnset || rows[2].Result != "PASS" || rows[2].Privileged != nil {
		t.Errorf("row 2: %+v", rows[2])
	}
	for _, r := range rows {
		if !utf8.ValidString(r.AccountName) || r.OUNames != "Root/Prod" || r.Region != "us-east-1" || r.RuleVersion != check.RuleVersion {
			t.Errorf("row context: %+v", r)
		}
	}
	// No containers: one ERROR row, never silence.
	empty := findingRows(tg, check.TaskDefinition{ARN: "arn:y", NetworkMode: ""}, check.Options{})
	if len(empty) != 1 || empty[0].Result != "ERROR" || empty[0].NetworkMode != "bridge" {
		t.Errorf("no containers: %+v", empty)
	}

	// The host-access rule adds its own rows after the control's, under its
	// own rule id and version, and leaves the control's rows as they were.
	td.PIDMode = "host"
	both := findingRows(tg, td, check.Options{HostAccess: true})
	if len(both) != 6 {
		t.Fatalf("%d rows for 3 containers under two rules", len(both))
	}
	for i, r := range both {
		rule, version, result := check.RuleID, check.RuleVersion, rows[i%3].Result
		if i >= 3 {
			rule, version, result = check.HostAccessRuleID, check.HostAccessRuleVersion, "FAIL" // pidMode host fails every container
		}
		if r.RuleID != rule || r.RuleVersion != version || r.Result != result || r.ContainerName != rows[i%3].ContainerName {
			t.Errorf("row %d: %s v%s %s %.20q, want %s v%s %s", i, r.RuleID, r.RuleVersion, r.Result, r.ContainerName, rule, version, result)
		}
	}
	if got := findingRows(tg, check.TaskDefinition{ARN: "arn:z", NetworkMode: "bridge", Containers: td.Containers}, check.Options{HostAccess: true}); len(got) != 3 {
		t.Errorf("bridge task definition: %d rows, want the control's 3 only", len(got))
	}
	if got := findingRows(tg, check.TaskDefinition{ARN: "arn:y"}, check.Options{HostAccess: true}); len(got) != 2 || got[1].RuleID != check.HostAccessRuleID || got[1].Result != "ERROR" {
		t.Errorf("no containers under two rules: %+v", got)
	}
}

func TestStateCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"SUSPENDED": "Suspended", "PENDING_CLOSURE": "PendingClosure", "": ""} {
		if got := stateCode(in); got != want {
			t.Errorf("stateCode(%q) = %q, want %q", in, got, want)
		}
	}
}
