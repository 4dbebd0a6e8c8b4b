package remediate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecsaudit/ecsaudit/taskdefs"
)

// TestWriteRemovesStaleFiles: a revision that an earlier plan fixed and
// this one cannot keeps no register file from before.
func TestWriteRemovesStaleFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "r")
	it := Item{Account: "444444444444", Region: "eu-west-1", ARN: "arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:1",
		Family: "metrics", Revision: 1, Status: "ACTIVE", Action: Register, UsageKnown: true,
		Original: taskdefs.Definition{"family": "metrics"}, Desired: taskdefs.Definition{"family": "metrics", "pidMode": "host"}}
	if err := Write(dir, []Item{it}, "h"); err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(dir, "444444444444", "eu-west-1", "metrics-1.register.json")
	if _, err := os.Stat(reg); err != nil {
		t.Fatal(err)
	}
	it.Action, it.Desired = Blocked, nil
	if err := Write(dir, []Item{it}, "h"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(reg); !os.IsNotExist(err) {
		t.Errorf("stale register file: %v", err)
	}
}

func TestPlanMarkdownDeregister(t *testing.T) {
	t.Parallel()
	active := Item{Account: "555555555555", Region: "us-east-1", ARN: "arn:aws:ecs:us-east-1:555555555555:task-definition/experiment:1",
		Family: "experiment", Revision: 1, Status: "ACTIVE", Action: Deregister, UsageKnown: true, UsageNote: "usage of run r"}
	inactive := active
	inactive.ARN, inactive.Revision, inactive.Status = "arn:aws:ecs:us-east-1:555555555555:task-definition/experiment:3", 3, "INACTIVE"
	md := planMarkdown([]Item{active, inactive}, "h")
	if !strings.Contains(md, "aws ecs deregister-task-definition --region us-east-1 --task-definition arn:aws:ecs:us-east-1:555555555555:task-definition/experiment:1\n") {
		t.Errorf("no deregister command for the ACTIVE revision:\n%s", md)
	}
	if strings.Contains(md, "--task-definition arn:aws:ecs:us-east-1:555555555555:task-definition/experiment:3") ||
		!strings.Contains(md, "it is INACTIVE already") {
		t.Errorf("the INACTIVE revision must not be deregistered again:\n%s", md)
	}
}

func TestCheckNames(t *testing.T) {
	t.Parallel()
	if err := CheckNames("444444444444", "eu-west-1", "metrics_v2-a"); err != nil {
		t.Error(err)
	}
	for _, bad := range [][3]string{{"444444444444", "eu-west-1", "../../etc"}, {"4444", "eu-west-1", "f"}, {"444444444444", "../x", "f"}, {"444444444444", "eu-west-1", ""}} {
		if CheckNames(bad[0], bad[1], bad[2]) == nil {
			t.Errorf("CheckNames%q accepted", bad)
		}
	}
}
