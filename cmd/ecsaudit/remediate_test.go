package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/internal/clitest"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// runCLI runs the binary with args against srv (nil: none) in a clean
// environment.
func runCLI(t *testing.T, srv *simorg.Server, args ...string) scanResult {
	t.Helper()
	cmd := exec.Command(clitest.Binary(t), args...)
	cmd.Env = clitest.Env(t.TempDir(), "AWS_ACCESS_KEY_ID="+simorg.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+simorg.SecretAccessKey)
	if srv != nil {
		cmd.Env = append(cmd.Env, "AWS_ENDPOINT_URL="+srv.URL())
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return scanResult{code: clitest.ExitCode(t, cmd.Run()), stdout: stdout.String(), stderr: stderr.String()}
}

// describe reads a revision and its tags with the audit role, as the SDK
// returns them.
func describe(t *testing.T, srv *simorg.Server, arn string) (*ecstypes.TaskDefinition, []ecstypes.Tag) {
	t.Helper()
	parts := strings.Split(arn, ":")
	cfg, err := srv.ClientConfig(context.Background(), parts[3])
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = assume.Credentials(sts.NewFromConfig(cfg), "aws", parts[4], assume.Options{RoleName: "ecsaudit-read", SessionName: "remediate-test"})
	out, err := ecs.NewFromConfig(cfg).DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(arn), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatalf("describe %s: %v", arn, err)
	}
	return out.TaskDefinition, out.Tags
}

// TestRemediateEndToEnd: scan, remediate with --apply, scan again. Every
// new revision passes, differs from its original only in the failing
// containers' privileged and user, and a second --apply registers nothing.
func TestRemediateEndToEnd(t *testing.T) {
	t.Parallel()
	srv := serve(t, simorg.Default(), simorg.Options{})
	first := runScan(t, srv, nil)
	wantExit(t, first, exitPartial) // the demo organization denies some targets
	out := filepath.Join(t.TempDir(), "remediation")

	res := runCLI(t, srv, "remediate", "--output", first.out, "--out", out, "--user", "1000:1000", "--apply")
	wantExit(t, res, exitOK)
	// Written by hand from simorg/default.json: the failing revisions that
	// something runs, each family's next revision number.
	fixed := map[string]string{ // original → new
		"arn:aws:ecs:us-east-1:333333333333:task-definition/payments-api:3":    "arn:aws:ecs:us-east-1:333333333333:task-definition/payments-api:4",
		"arn:aws:ecs:us-east-1:333333333333:task-definition/payments-worker:2": "arn:aws:ecs:us-east-1:333333333333:task-definition/payments-worker:4",
		"arn:aws:ecs:us-east-1:333333333333:task-definition/ledger:4":          "arn:aws:ecs:us-east-1:333333333333:task-definition/ledger:5",
		"arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:1":         "arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:2",
		"arn:aws:ecs:us-east-1:444444444444:task-definition/web:3":             "arn:aws:ecs:us-east-1:444444444444:task-definition/web:4",
		"arn:aws:ecs:us-east-1:555555555555:task-definition/experiment:2":      "arn:aws:ecs:us-east-1:555555555555:task-definition/experiment:4",
	}
	// The failing containers, by original revision (default.json's FAIL
	// expectations), and the user each must run as: the chosen one, or its
	// own when that is not root (payments-worker's fails for privileged only).
	changed := map[string]map[string]string{
		"payments-api:3": {"api": "1000:1000"}, "payments-worker:2": {"worker": "1000"}, "ledger:4": {"migrate": "1000:1000"},
		"metrics:1": {"agent": "1000:1000"}, "web:3": {"debug": "1000:1000"}, "experiment:2": {"exp": "1000:1000"},
	}
	var registered []string
	for _, a := range []string{"333333333333", "444444444444", "555555555555"} {
		for _, r := range []string{"us-east-1", "eu-west-1", "ap-southeast-2"} {
			for _, td := range srv.Registered(a, r) {
				registered = append(registered, td.ARN)
			}
		}
	}
	var want []string
	for _, n := range fixed {
		want = append(want, n)
		if !strings.Contains(res.stdout, "(registered "+n+")") {
			t.Errorf("stdout does not say it registered %s:\n%s", n, res.stdout)
		}
	}
	slices.Sort(registered)
	slices.Sort(want)
	if !slices.Equal(registered, want) {
		t.Fatalf("registered %v\nwant %v", registered, want)
	}

	// Field by field: the new revision is the original but for the failing
	// containers' privileged and user.
	for orig, neu := range fixed {
		a, aTags := describe(t, srv, orig)
		b, bTags := describe(t, srv, neu)
		key := orig[strings.LastIndexByte(orig, '/')+1:]
		for i := range b.ContainerDefinitions {
			c := &b.ContainerDefinitions[i]
			user, ok := changed[key][aws.ToString(c.Name)]
			if !ok {
				continue
			}
			if c.Privileged != nil || aws.ToString(c.User) != user {
				t.Errorf("%s container %s: privileged %v, user %q; want absent and %s", neu, *c.Name, c.Privileged, aws.ToString(c.User), user)
			}
			c.Privileged, c.User = nil, nil
			a.ContainerDefinitions[i].Privileged, a.ContainerDefinitions[i].User = nil, nil
		}
		va, vb := reflect.ValueOf(*a), reflect.ValueOf(*b)
		readOnly := []string{"TaskDefinitionArn", "Revision", "Status", "RequiresAttributes", "Compatibilities", "RegisteredAt", "RegisteredBy", "DeregisteredAt", "DeleteRequestedAt"}
		compared := 0
		for i := range va.NumField() {
			name := va.Type().Field(i).Name
			if !va.Type().Field(i).IsExported() || slices.Contains(readOnly, name) {
				continue
			}
			compared++
			if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
				t.Errorf("%s: %s = %+v, original %s has %+v", neu, name, vb.Field(i).Interface(), orig, va.Field(i).Interface())
			}
		}
		if compared < 15 {
			t.Errorf("compared only %d fields", compared)
		}
		if !reflect.DeepEqual(aTags, bTags) {
			t.Errorf("%s tags %+v, original %+v", neu, bTags, aTags)
		}
	}
	a, _ := describe(t, srv, "arn:aws:ecs:us-east-1:333333333333:task-definition/payments-api:4")
	if aws.ToString(a.TaskRoleArn) != "arn:aws:iam::333333333333:role/payments-api-task" || a.ContainerDefinitions[0].HealthCheck == nil {
		t.Errorf("payments-api:4 lost the fixture's extra members: %+v", a)
	}

	// Scan again: every container of every new revision passes the
	// control. (The host-access rule is not the remediation's: metrics:2
	// keeps metrics:1's pidMode host and host mounts, faithfully.)
	second := runScan(t, srv, nil, "--output", first.out, "--full")
	runID := runIDOf(t, second)
	rows := query(t, first.out, "findings", "run_id, task_definition_arn, container_name, result, rule_id")
	hostAccess := map[string]string{}
	for _, r := range rows {
		if r[0] == runID && r[4] == check.HostAccessRuleID && r[3] == "FAIL" && slices.Contains(want, r[1]) {
			hostAccess[r[1]] = r[3]
		}
	}
	if len(hostAccess) != 1 || hostAccess["arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:2"] != "FAIL" {
		t.Errorf("new revisions failing the host-access rule: %v, want metrics:2 alone, as metrics:1", hostAccess)
	}
	rows = slices.DeleteFunc(rows, func(r []string) bool { return r[4] != check.RuleID })
	seen := map[string]int{}
	for _, r := range rows {
		if r[0] != runID || !slices.Contains(want, r[1]) {
			continue
		}
		seen[r[1]]++
		if r[3] != "PASS" {
			t.Errorf("%s container %s: %s, want PASS", r[1], r[2], r[3])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("the second scan found %d of the %d new revisions: %v", len(seen), len(want), seen)
	}

	// Apply again: nothing new.
	again := runCLI(t, srv, "remediate", "--output", first.out, "--out", out, "--user", "1000:1000", "--apply")
	wantExit(t, again, exitOK)
	n := 0
	for _, a := range []string{"333333333333", "444444444444", "555555555555"} {
		for _, r := range []string{"us-east-1", "eu-west-1"} {
			n += len(srv.Registered(a, r))
		}
	}
	if n != len(want) || strings.Count(again.stdout, "(already registered ") != len(want) {
		t.Errorf("second apply: %d registered in all, want %d; stdout:\n%s", n, len(want), again.stdout)
	}
}

// TestRemediateFiles: the plan's files, their modes, and what they hold.
func TestRemediateFiles(t *testing.T) {
	t.Parallel()
	srv := serve(t, simorg.Default(), simorg.Options{})
	out := filepath.Join(t.TempDir(), "remediation")
	res := runCLI(t, srv, "remediate", "--out", out, "--user-map", writeTemp(t, `{"metrics": {"agent": "cwagent"}}`),
		"--arn", "arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:1",
		"--arn", "arn:aws:ecs:us-east-1:333333333333:task-definition/ledger:4,arn:aws:ecs:us-east-1:333333333333:task-definition/ledger:1")
	wantExit(t, res, exitOK)
	if !strings.Contains(res.stdout, "environment values") || strings.Contains(res.stdout+res.stderr, "sim0rg-PLANTED") {
		t.Errorf("stdout must warn about environment values and never print them:\n%s\n%s", res.stdout, res.stderr)
	}
	base := filepath.Join(out, "444444444444", "eu-west-1", "metrics-1")
	for _, p := range []string{out, filepath.Join(out, "444444444444"), filepath.Dir(base)} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v (%v), want 0700", p, st.Mode().Perm(), err)
		}
	}
	for _, p := range []string{base + ".register.json", base + ".diff", base + ".backout.md", filepath.Join(out, "plan.md")} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, want mode 0600", p, err)
		}
	}
	diff, _ := os.ReadFile(base + ".diff")
	var changes []string
	for _, l := range strings.Split(string(diff), "\n") {
		if (strings.HasPrefix(l, "-") || strings.HasPrefix(l, "+")) && !strings.HasPrefix(l, "---") && !strings.HasPrefix(l, "+++") {
			changes = append(changes, l[:1]+strings.TrimSpace(l[1:]))
		}
	}
	if want := []string{`-"privileged": true,`, `-"user": "0",`, `+"user": "cwagent",`}; !slices.Equal(changes, want) {
		t.Errorf("diff changes %q, want %q", changes, want)
	}
	reg, _ := os.ReadFile(base + ".register.json")
	for _, s := range []string{`"DD_API_KEY"`, `"sim0rg-PLANTED-s3cr3t-9f2c71d4"`, `"pidMode": "host"`, `"key": "team"`, `"family": "metrics"`} {
		if !bytes.Contains(reg, []byte(s)) {
			t.Errorf("register file lacks %s", s)
		}
	}
	for _, s := range []string{`"revision"`, `"taskDefinitionArn"`, `"registeredAt"`, `"compatibilities"`, `"status"`} {
		if bytes.Contains(reg, []byte(s)) {
			t.Errorf("register file has read-only %s", s)
		}
	}
	plan, _ := os.ReadFile(filepath.Join(out, "plan.md"))
	for _, s := range []string{
		"aws ecs update-service --region eu-west-1 --cluster dev-eu --service metrics --task-definition metrics:<new revision>",
		"linuxParameters.capabilities.add", "`awsvpc`",
		// ledger:4's migrate runs as root:root and the map chose no user for it.
		"## ledger:4 in 333333333333 us-east-1 — blocked", "needs a non-root user: none chosen",
		// ledger:1 runs nowhere.
		"aws ecs deregister-task-definition --region us-east-1 --task-definition arn:aws:ecs:us-east-1:333333333333:task-definition/ledger:1",
	} {
		if !bytes.Contains(plan, []byte(s)) {
			t.Errorf("plan.md lacks %q", s)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "333333333333", "us-east-1", "ledger-4.register.json")); err == nil {
		t.Error("a blocked revision got a register file")
	}
	back, _ := os.ReadFile(base + ".backout.md")
	if !bytes.Contains(back, []byte("aws ecs update-service --region eu-west-1 --cluster dev-eu --service metrics --task-definition arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:1")) {
		t.Errorf("backout lacks the update-service back to the original:\n%s", back)
	}
	if len(srv.Registered("444444444444", "eu-west-1")) != 0 {
		t.Error("registered without --apply")
	}
}

func writeTemp(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRemediateBadInput: one line, exit 2, nothing written.
func TestRemediateBadInput(t *testing.T) {
	t.Parallel()
	srv := serve(t, simorg.Default(), simorg.Options{})
	const arn = "arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:1"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing to remediate", nil, "give --arn or --output"},
		{"root user", []string{"--arn", arn, "--user", "0:1000"}, "is root"},
		{"s3 out", []string{"--arn", arn, "--out", "s3://bucket/plans"}, "never S3"},
		{"bad arn", []string{"--arn", "arn:aws:ecs:eu-west-1:444444444444:service/x"}, "want arn:aws:ecs:"},
		{"unknown account", []string{"--arn", arn, "--accounts", "999999999999"}, "999999999999 is no account"},
		{"bad user map", []string{"--arn", arn, "--user-map", writeTemp(t, `{"metrics": {"agent": "root"}}`)}, "user map metrics/agent"},
		{"apply from the environment is ignored, unknown flag is not", []string{"--arn", arn, "--aply"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "remediation")
			res := runCLI(t, srv, append([]string{"remediate", "--out", out}, tt.args...)...)
			lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
			if res.code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", res.code, res.stderr, tt.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
}

// TestApplyNeedsTheFlag: ECSAUDIT_APPLY does not apply.
func TestApplyNeedsTheFlag(t *testing.T) {
	t.Parallel()
	srv := serve(t, simorg.Default(), simorg.Options{})
	cmd := exec.Command(clitest.Binary(t), "remediate", "--out", filepath.Join(t.TempDir(), "r"), "--user", "1000",
		"--arn", "arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:1")
	cmd.Env = clitest.Env(t.TempDir(), "AWS_ACCESS_KEY_ID="+simorg.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+simorg.SecretAccessKey,
		"AWS_ENDPOINT_URL="+srv.URL(), "ECSAUDIT_APPLY=true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if n := len(srv.Registered("444444444444", "eu-west-1")); n != 0 {
		t.Errorf("ECSAUDIT_APPLY=true registered %d revisions", n)
	}
}

// TestApplyWithoutTheRoleIsPartial: a remediation role that cannot be
// assumed fails the apply, not the plan: exit 3, the error on stderr, the
// plan and the register file written, nothing registered.
func TestApplyWithoutTheRoleIsPartial(t *testing.T) {
	t.Parallel()
	srv := serve(t, simorg.Default(), simorg.Options{})
	out := filepath.Join(t.TempDir(), "remediation")
	res := runCLI(t, srv, "remediate", "--out", out, "--user", "1000", "--apply", "--remediation-role-name", "not-deployed",
		"--arn", "arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:1")
	wantExit(t, res, exitPartial)
	if !strings.Contains(res.stderr, "AccessDenied") {
		t.Errorf("stderr does not say why: %s", res.stderr)
	}
	for _, p := range []string{"plan.md", "444444444444/eu-west-1/metrics-1.register.json"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if n := len(srv.Registered("444444444444", "eu-west-1")); n != 0 {
		t.Errorf("%d revisions registered", n)
	}
}
