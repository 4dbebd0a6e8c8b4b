package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput: every malformed flag or environment value gets exactly one
// line on stderr, exit code 2, and nothing written.
func TestBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // in the error line
	}{
		{"unknown flag", []string{"--nope"}, nil, "nope"},
		{"stray argument", []string{"extra"}, nil, "extra"},
		{"concurrency zero", []string{"--concurrency", "0"}, nil, "concurrency"},
		{"concurrency not a number", []string{"--concurrency", "many"}, nil, "concurrency"},
		{"rate negative", []string{"--ecs-rate", "-1"}, nil, "ecs-rate"},
		{"rate NaN", []string{"--ecs-rate", "NaN"}, nil, "ecs-rate"},
		{"burst zero", []string{"--ecs-burst", "0"}, nil, "ecs-burst"},
		{"region upper case", []string{"--regions", "EU-west-1"}, nil, "region"},
		{"region injection", []string{"--regions", "us-east-1/../x"}, nil, "region"},
		{"role name with slash", []string{"--role-name", "path/role"}, nil, "role name"},
		{"role name too long", []string{"--role-name", strings.Repeat("r", 65)}, nil, "role name"},
		{"external id one char", []string{"--external-id", "x"}, nil, "external id"},
		{"external id with space", []string{"--external-id", "has space"}, nil, "external id"},
		{"account id short", []string{"--accounts", "12345"}, nil, "account id"},
		{"excluded account id letters", []string{"--exclude-accounts", "12345678901a"}, nil, "account id"},
		{"ou id malformed", []string{"--ou", "ou-x"}, nil, "OU id"},
		{"excluded ou id malformed", []string{"--exclude-ou", "root"}, nil, "OU id"},
		{"revisions", []string{"--revisions", "newest"}, nil, "revisions"},
		{"unset user", []string{"--unset-user", "maybe"}, nil, "unset-user"},
		{"compat", []string{"--compat", "prowler"}, nil, "compat"},
		{"output scheme", []string{"--output", "ftp://host/x"}, nil, "output"},
		{"s3 bucket name", []string{"--output", "s3://Bad_Bucket/x"}, nil, "bucket"},
		{"s3 without bucket", []string{"--output", "s3://"}, nil, "bucket"},
		{"s3 flags without s3", []string{"--s3-path-style"}, nil, "s3"},
		{"bucket owner", []string{"--output", "s3://bucket/x", "--expected-bucket-owner", "me"}, nil, "expected-bucket-owner"},
		{"grace negative", []string{"--grace", "-1s"}, nil, "grace"},
		{"call timeout too short", []string{"--call-timeout", "500ms"}, nil, "call-timeout"},
		{"call timeout too long", []string{"--call-timeout", "11m"}, nil, "call-timeout"},
		{"env call timeout", nil, map[string]string{"ECSAUDIT_CALL_TIMEOUT": "0s"}, "call-timeout"},
		{"log level", []string{"--log-level", "loud"}, nil, "log-level"},
		{"s3 with one slash", []string{"--output", "s3:/bucket/x"}, nil, "output"},
		{"shard without a run id", []string{"--shard", "1/4"}, nil, "run-id"},
		{"shard malformed", []string{"--shard", "4/4"}, nil, "shard"},
		{"env concurrency", nil, map[string]string{"ECSAUDIT_CONCURRENCY": "abc"}, "ECSAUDIT_CONCURRENCY"},
		{"env role name", nil, map[string]string{"ECSAUDIT_ROLE_NAME": "a b"}, "role name"},
		{"env regions", nil, map[string]string{"ECSAUDIT_REGIONS": "mars-1"}, "region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			getenv := func(k string) string { return tt.env[k] }
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"scan", "--output", out}, tt.args...), getenv, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			line := stderr.String()
			if strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "ecsaudit: ") || !strings.Contains(line, tt.want) {
				t.Errorf("stderr %q: want one line naming %q", line, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Errorf("something was written: %v", entries)
			}
		})
	}
}

// TestFlagWinsOverEnvironment checks the binding order documented in --help.
func TestFlagWinsOverEnvironment(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		return map[string]string{"ECSAUDIT_CONCURRENCY": "0"}[k] // invalid if used
	}
	out := filepath.Join(t.TempDir(), "out")
	code := run(context.Background(), []string{"scan", "--output", out, "--concurrency", "4", "--log-level", "loud"}, getenv, &stdout, &stderr)
	// The flag's 4 replaced the environment's invalid 0, so the error is the log level's.
	if code != exitUsage || !strings.Contains(stderr.String(), "log-level") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

// TestListNamesEachValueOnce: a region or account given twice is scanned once.
func TestListNamesEachValueOnce(t *testing.T) {
	t.Parallel()
	var l list
	if err := l.Set(" us-east-1,eu-west-1,,us-east-1 , eu-west-1"); err != nil {
		t.Fatal(err)
	}
	if got := l.String(); got != "us-east-1,eu-west-1" {
		t.Fatalf("list %q", got)
	}
}
