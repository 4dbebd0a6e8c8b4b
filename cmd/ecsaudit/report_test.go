package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecsaudit/ecsaudit/internal/clitest"
)

// planted is the value the demo organization hides in container
// environments and secrets; no output may ever show it.
const planted = "sim0rg-PLANTED-s3cr3t-9f2c71d4"

// report runs `ecsaudit report` on the binary and returns its exit code,
// stdout and stderr.
func reportRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(clitest.Binary(t), append([]string{"report"}, args...)...)
	cmd.Env = clitest.Env(t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return clitest.ExitCode(t, cmd.Run()), stdout.String(), stderr.String()
}

// TestReportDemo: after the demo scan, the report shows the demo
// organization's posture. The numbers are the demo's, counted by hand from
// simorg/default.json: 13 failing containers in 13 task definitions, 15
// passing, 10 not applicable, one revision that cannot be described; the
// security account's role cannot be assumed and an SCP denies prod's
// eu-west-1.
func TestReportDemo(t *testing.T) {
	t.Parallel()
	res := runScan(t, nil, nil, "--simulate")
	if res.code != exitPartial {
		t.Fatalf("scan: exit %d\n%s", res.code, res.stderr)
	}
	code, stdout, stderr := reportRun(t, "--output", res.out, "--format", "json")
	if code != 0 || stderr != "" {
		t.Fatalf("report: exit %d, stderr %q", code, stderr)
	}
	var rep struct {
		Totals  map[string]int64 `json:"totals"`
		RuleID  string           `json:"rule_id"`
		Failing []struct {
			Family       string `json:"family"`
			Revision     int    `json:"revision"`
			InUse        *bool  `json:"in_use"`
			RunningTasks int64  `json:"running_tasks"`
			Containers   []struct{ Name, Reason string }
		} `json:"failing"`
		Errors []struct{ Family string } `json:"errors"`
		Gaps   []struct {
			AccountID string `json:"account_id"`
			Region    string `json:"region"`
		} `json:"coverage_gaps"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("report json: %v\n%s", err, stdout)
	}
	// The control's containers, counted by hand in default.json.
	want := map[string]int64{"FAIL": 13, "PASS": 21, "NOT_APPLICABLE": 10, "ERROR": 1, "STALE": 0}
	for k, v := range want {
		if rep.Totals[k] != v {
			t.Errorf("totals[%s] = %d, want %d (all: %v)", k, rep.Totals[k], v, rep.Totals)
		}
	}
	if len(rep.Failing) != 13 || len(rep.Errors) != 1 || rep.Errors[0].Family != "node-exporter" {
		t.Errorf("%d failing task definitions, errors %v; want 13 and node-exporter", len(rep.Failing), rep.Errors)
	}
	if len(rep.Gaps) != 2 || rep.Gaps[0].AccountID != "222222222222" || rep.Gaps[1].Region != "eu-west-1" {
		t.Errorf("coverage gaps %+v: want the security account and prod's eu-west-1", rep.Gaps)
	}
	// Failing and running first: payments-api:3 runs 3 tasks, the most;
	// the six running ones come before the seven unused.
	if rep.RuleID != "ECSAUDIT.HOSTNET.1" || len(rep.Failing) != 13 || rep.Failing[0].Family != "payments-api" || rep.Failing[0].RunningTasks != 3 ||
		rep.Failing[5].InUse == nil || !*rep.Failing[5].InUse || rep.Failing[6].InUse == nil || *rep.Failing[6].InUse {
		t.Errorf("rule %s, failing order %+v: want the control's, running first", rep.RuleID, rep.Failing)
	}

	// The host-access rule's posture: node-exporter:3, ci-runner:1,
	// net-tools:1 and metrics:1 fail, 7 containers; metrics:1 alone runs.
	code, stdout, stderr = reportRun(t, "--output", res.out, "--format", "json", "--rule", "host-access")
	if code != 0 || stderr != "" {
		t.Fatalf("report --rule host-access: exit %d, stderr %q", code, stderr)
	}
	rep.Failing = nil
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.RuleID != "ECSAUDIT.HOSTNET.2" || rep.Totals["FAIL"] != 7 || rep.Totals["ERROR"] != 1 || len(rep.Failing) != 4 ||
		rep.Failing[0].Family != "metrics" || rep.Failing[0].InUse == nil || !*rep.Failing[0].InUse {
		t.Errorf("host-access report: rule %s, totals %v, failing %+v", rep.RuleID, rep.Totals, rep.Failing)
	}

	for _, format := range []string{"text", "json", "markdown", "csv", "html"} {
		out := filepath.Join(t.TempDir(), "report."+format)
		code, stdout, stderr := reportRun(t, "--output", res.out, "--format", format, "--out", out)
		b, err := os.ReadFile(out)
		if code != 0 || stdout != "" || stderr != "" || err != nil {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q, %v", format, code, stdout, stderr, err)
		}
		if strings.Contains(string(b), planted) || strings.Contains(string(b), "DB_PASSWORD") {
			t.Errorf("%s: an environment or secret value reached the report", format)
		}
		for _, s := range []string{"ledger", "node-exporter", "222222222222"} {
			if !strings.Contains(string(b), s) {
				t.Errorf("%s: no %q in the report", format, s)
			}
		}
	}
}

// TestReportBadInput: bad input is one line on stderr, exit 2, nothing
// written.
func TestReportBadInput(t *testing.T) {
	t.Parallel()
	existing := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown format", []string{"--output", existing, "--format", "pdf", "--out", "OUT"}, "format"},
		{"missing output", []string{"--output", filepath.Join(existing, "nope"), "--format", "html", "--out", "OUT"}, "no such directory"},
		{"html without out", []string{"--output", existing, "--format", "html"}, "--out"},
		{"limit zero", []string{"--output", existing, "--limit", "0", "--out", "OUT"}, "limit"},
		{"trend days", []string{"--output", existing, "--trend-days", "0"}, "trend-days"},
		{"output scheme", []string{"--output", "ftp://x/y"}, "output"},
		{"s3 bucket name", []string{"--output", "s3://Bad_Bucket/x"}, "bucket"},
		{"s3 flags without s3", []string{"--output", existing, "--s3-path-style"}, "s3"},
		{"stray argument", []string{"--output", existing, "extra"}, "extra"},
		{"out in a missing directory", []string{"--output", existing, "--out", filepath.Join(existing, "no", "r.html")}, "out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			args := []string{"report"}
			for _, a := range tt.args {
				if a == "OUT" {
					a = filepath.Join(dir, "report.html")
				}
				args = append(args, a)
			}
			code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitUsage, stderr.String())
			}
			line := stderr.String()
			if strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "ecsaudit: ") || !strings.Contains(line, tt.want) {
				t.Errorf("stderr %q: want one line naming %q", line, tt.want)
			}
			if entries, _ := os.ReadDir(dir); stdout.Len() != 0 || len(entries) != 0 {
				t.Errorf("something was written: stdout %q, files %v", stdout.String(), entries)
			}
		})
	}
}
