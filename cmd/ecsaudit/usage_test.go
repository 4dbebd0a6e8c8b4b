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
		{"concurrency negative", []string{"--concurrency", "-1"}, nil, "concurrency"},
		{"concurrency too high", []string{"--concurrency", "1025"}, nil, "concurrency"},
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
		return map[string]string{"ECSAUDIT_CONCURRENCY": "-1"}[k] // invalid if used
	}
	out := filepath.Join(t.TempDir(), "out")
	code := run(context.Background(), []string{"scan", "--output", out, "--concurrency", "4", "--log-level", "loud"}, getenv, &stdout, &stderr)
	// The flag's 4 replaced the environment's invalid -1, so the error is the log level's.
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

// TestFiltersThatNameNothing: --accounts, --ou and --regions values that
// name nothing in the (simulated) organization or its partition stop the
// run with exit 2 and one line naming them, before anything is written;
// unknown ids in the exclude lists only earn a warning.
func TestFiltersThatNameNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string // in the error line
	}{
		{"unknown account", []string{"--accounts", "333333333333,999999999999"}, []string{"--accounts 999999999999"}},
		{"unknown OU", []string{"--ou", "ou-s1m0-zzzzzzzz"}, []string{"--ou ou-s1m0-zzzzzzzz"}},
		{"unknown region", []string{"--regions", "us-east-1,xx-north-9"}, []string{"--regions xx-north-9"}},
		{"all three", []string{"--accounts", "999999999998", "--ou", "r-zzzz", "--regions", "xx-north-9"},
			[]string{"999999999998", "r-zzzz", "xx-north-9"}},
		{"excluded away", []string{"--accounts", "333333333333", "--exclude-accounts", "333333333333"}, []string{"select no account"}},
		{"excluded OU away", []string{"--ou", "ou-s1m0-prod0001", "--exclude-ou", "ou-s1m0-workload"}, []string{"select no account"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			var stdout, stderr bytes.Buffer
			args := append([]string{"scan", "--simulate", "--log-level", "error", "--output", out}, tt.args...)
			code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			line := stderr.String()
			if strings.Count(line, "\n") != 1 || !strings.HasPrefix(line, "ecsaudit: ") {
				t.Errorf("stderr %q: want one line", line)
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr %q does not name %q", line, w)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("something was written: %v", entries)
			}
		})
	}
	t.Run("unknown excluded ids warn", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "out")
		var stdout, stderr bytes.Buffer
		args := []string{"scan", "--simulate", "--log-level", "warn", "--log-format", "text", "--output", out,
			"--accounts", "444444444444", "--regions", "us-east-1", "--exclude-accounts", "999999999999", "--exclude-ou", "ou-s1m0-zzzzzzzz"}
		code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
		if code != exitOK {
			t.Fatalf("exit %d; stderr: %s", code, stderr.String())
		}
		for _, w := range []string{"--exclude-accounts", "999999999999", "--exclude-ou", "ou-s1m0-zzzzzzzz"} {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("stderr %q does not warn about %q", stderr.String(), w)
			}
		}
	})
}
