package infra

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// cfnGuard returns the cfn-guard binary: $ECSAUDIT_CFN_GUARD, or the one
// scripts/cfn-guard.sh installs (from the npm registry, pinned). Neither
// available is a failure, not a skip: the rules are part of the proof.
func cfnGuard(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("ECSAUDIT_CFN_GUARD"); bin != "" {
		return bin
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", filepath.Join("..", "scripts", "cfn-guard.sh"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scripts/cfn-guard.sh: %v\n%s\n(set ECSAUDIT_CFN_GUARD to a cfn-guard 3 binary to use another)", err, stderr.String())
	}
	bin := strings.TrimSpace(stdout.String())
	if bin == "" {
		t.Fatalf("scripts/cfn-guard.sh printed no path\n%s", stderr.String())
	}
	return bin
}

// guardReport is cfn-guard's --structured JSON for one data file.
type guardReport struct {
	Name          string
	Status        string
	NotCompliant  []guardFailure `json:"not_compliant"`
	NotApplicable []string       `json:"not_applicable"`
	Compliant     []string
}

type guardFailure struct {
	Rule struct {
		Name   string
		Checks json.RawMessage
	}
}

// validate runs every rule in guard/ against one template.
func validate(t *testing.T, bin, template string) (guardReport, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "validate", "--rules", "guard", "--data", template,
		"--structured", "--output-format", "json", "--show-summary", "none")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("cfn-guard: %v", err)
		}
		code = exit.ExitCode()
	}
	if stderr.Len() > 0 {
		t.Errorf("cfn-guard wrote to stderr (a rule file that does not parse?):\n%s", stderr.String())
	}
	var reports []guardReport
	if err := json.Unmarshal(stdout.Bytes(), &reports); err != nil {
		t.Fatalf("cfn-guard output is not its structured JSON (%v):\n%s", err, stdout.String())
	}
	if len(reports) != 1 {
		t.Fatalf("cfn-guard reported on %d files, want 1", len(reports))
	}
	return reports[0], code
}

// guardRuleNames lists the named rules in guard/*.guard (not the
// parameterised helper rules).
func guardRuleNames(t *testing.T) []string {
	t.Helper()
	files, err := fs.Glob(GuardRules, "guard/*.guard")
	if err != nil || len(files) == 0 {
		t.Fatalf("no guard rules embedded: %v", err)
	}
	rule := regexp.MustCompile(`(?m)^rule\s+([a-z0-9_]+)\s*(?:when\b|\{)`)
	var names []string
	for _, f := range files {
		b, err := GuardRules.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range rule.FindAllStringSubmatch(string(b), -1) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names
}

// TestGuardRules runs cfn-guard with the project rules: every template
// passes, every rule is evaluated by at least one template (so none skips
// everything through a wrong query), and the deliberately bad template
// fails every rule, each container fault of the ECS task definition and
// the Batch job definitions included.
func TestGuardRules(t *testing.T) {
	t.Parallel()
	bin := cfnGuard(t)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "cfn-guard 3.") {
		t.Fatalf("%s --version = %q, %v; want cfn-guard 3", bin, out, err)
	}
	rules := guardRuleNames(t)
	want := []string{
		"batch_container_hardened",
		"ecs_container_hardened",
		"iam_no_wildcard_actions",
		"iam_no_wildcard_resource_on_write",
		"logs_retention_set",
		"s3_bucket_kms_encryption",
		"s3_bucket_public_access_blocked",
		"s3_bucket_tls_only",
	}
	if !slices.Equal(rules, want) {
		t.Errorf("guard rules = %q, want %q", rules, want)
	}

	applied := map[string]bool{}
	for _, name := range templateNames(t) {
		report, code := validate(t, bin, filepath.Join("cloudformation", name))
		if code != 0 || report.Status == "FAIL" || len(report.NotCompliant) > 0 {
			var failed []string
			for _, f := range report.NotCompliant {
				failed = append(failed, f.Rule.Name+": "+string(f.Rule.Checks))
			}
			t.Errorf("%s: cfn-guard exit %d, status %s, failed:\n%s", name, code, report.Status, strings.Join(failed, "\n"))
		}
		accounted := slices.Concat(report.Compliant, report.NotApplicable)
		slices.Sort(accounted)
		if !slices.Equal(accounted, rules) {
			t.Errorf("%s: cfn-guard evaluated %q, want every rule %q", name, accounted, rules)
		}
		for _, r := range report.Compliant {
			applied[r] = true
		}
	}
	for _, r := range rules {
		if !applied[r] {
			t.Errorf("rule %s applied to no template: it checks nothing", r)
		}
	}

	report, code := validate(t, bin, filepath.Join("testdata", "guard-bad.yaml"))
	if code == 0 || report.Status != "FAIL" {
		t.Errorf("bad template: exit %d, status %s; want a failure", code, report.Status)
	}
	var failed []string
	for _, f := range report.NotCompliant {
		failed = append(failed, f.Rule.Name)
	}
	slices.Sort(failed)
	if !slices.Equal(failed, rules) {
		t.Errorf("bad template failed %q, want every rule %q", failed, rules)
	}
	for _, f := range report.NotCompliant {
		var paths []string
		switch f.Rule.Name {
		case "ecs_container_hardened":
			for i, fault := range []string{"User", "Privileged", ""} {
				path := "/Resources/RootTask/Properties/ContainerDefinitions/" + string(rune('0'+i))
				if fault != "" {
					path += "/" + fault
				}
				paths = append(paths, path)
			}
		case "batch_container_hardened":
			for _, fault := range []string{"User", "Privileged", "ReadonlyRootFilesystem"} {
				paths = append(paths, "/Resources/RootJob/Properties/ContainerProperties/"+fault)
			}
			paths = append(paths, "/Resources/EcsPropertiesJob/Properties/EcsProperties")
		}
		for _, path := range paths {
			if !bytes.Contains(f.Rule.Checks, []byte(`"`+path+`"`)) {
				t.Errorf("%s did not report %s", f.Rule.Name, path)
			}
		}
	}
}
