package infra

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
)

// TestTemplatesParse proves every embedded template is well-formed for
// goformation's CloudFormation schema (unknown properties and wrong types
// fail, see TestParseRejectsBrokenTemplates), both as goformation resolves
// intrinsics by default and as rendered with the fixture parameters.
func TestTemplatesParse(t *testing.T) {
	t.Parallel()
	want := []string{"batch.yaml", "job.yaml", "org-delegation.yaml", "quicksight.yaml", "remediate-role-stackset.yaml", "remediate-role.yaml", "scan-role-stackset.yaml", "scan-role.yaml"}
	if got := templateNames(t); !slices.Equal(got, want) {
		t.Errorf("embedded templates = %q, want %q (update docs/deploy.md and the tests with the list)", got, want)
	}
	for _, name := range templateNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := parse(templateBytes(t, name))
			if err != nil {
				t.Fatalf("goformation: %v", err)
			}
			if len(tmpl.Resources) == 0 {
				t.Error("no resources")
			}
			if tmpl.AWSTemplateFormatVersion != "2010-09-09" {
				t.Errorf("AWSTemplateFormatVersion = %q", tmpl.AWSTemplateFormatVersion)
			}
			if strings.TrimSpace(tmpl.Description) == "" {
				t.Error("no Description")
			}
			rendered := render(t, name, nil)
			if len(rendered.Resources) == 0 {
				t.Error("no resources after rendering")
			}
		})
	}
}

// TestParseRejectsBrokenTemplates shows that the parse in TestTemplatesParse
// is a schema check, not just YAML: goformation.Open fails on an unknown
// property, a wrong type and an unknown resource type.
func TestParseRejectsBrokenTemplates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file, wantErr string
	}{
		{"broken-unknown-property.yaml", `unknown field "VersioningConfigurations"`},
		{"broken-wrong-type.yaml", "cannot unmarshal string into Go struct field"},
		{"broken-unknown-type.yaml", "Unmarshal(nil)"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", tc.file)
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
			goformationMu.Lock()
			_, err := goformation.Open(path)
			goformationMu.Unlock()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("goformation.Open(%s) error = %v, want one containing %q", tc.file, err, tc.wantErr)
			}
		})
	}
}

// TestParameterValuesAreAllowed checks every parameter's default, and every
// fixture value the tests deploy with, against the parameter's own
// AllowedPattern, AllowedValues and bounds: a default CloudFormation would
// reject, or a pattern that rejects a realistic value, fails here instead
// of at deploy time.
func TestParameterValuesAreAllowed(t *testing.T) {
	t.Parallel()
	for _, name := range templateNames(t) {
		tmpl, err := parse(templateBytes(t, name))
		if err != nil {
			t.Fatal(err)
		}
		for pname, p := range tmpl.Parameters {
			values := map[string]any{}
			if p.Default != nil {
				values["default"] = p.Default
			}
			if v, ok := fixtureParameters[name][pname]; ok {
				values["fixture value"] = v
			}
			for what, v := range values {
				s := fmt.Sprint(v)
				if p.AllowedPattern != nil {
					re, err := regexp.Compile(`^(?:` + *p.AllowedPattern + `)$`)
					if err != nil {
						t.Errorf("%s: %s AllowedPattern: %v", name, pname, err)
					} else if !re.MatchString(s) {
						t.Errorf("%s: %s %s %q does not match AllowedPattern %s", name, pname, what, s, *p.AllowedPattern)
					}
				}
				if p.MaxLength != nil && len(s) > *p.MaxLength {
					t.Errorf("%s: %s %s is longer than MaxLength %d", name, pname, what, *p.MaxLength)
				}
				if len(p.AllowedValues) > 0 && !slices.ContainsFunc(p.AllowedValues, func(a any) bool { return fmt.Sprint(a) == s }) {
					t.Errorf("%s: %s %s %q is not one of %v", name, pname, what, s, p.AllowedValues)
				}
				if p.Type == "Number" {
					n, err := strconv.ParseFloat(s, 64)
					if err != nil {
						t.Errorf("%s: %s %s %q is not a number", name, pname, what, s)
						continue
					}
					if (p.MinValue != nil && n < *p.MinValue) || (p.MaxValue != nil && n > *p.MaxValue) {
						t.Errorf("%s: %s %s %v is outside [%v, %v]", name, pname, what, n, p.MinValue, p.MaxValue)
					}
				}
			}
		}
	}
}

// TestCfnLint runs cfn-lint (from $ECSAUDIT_CFN_LINT or PATH; the machine
// image ships it) over every template: it knows CloudFormation's current
// resource schemas, GetAtt attributes and intrinsic function rules, which
// goformation's generated structs lag. Errors and warnings both fail. The
// broken template shows it is not a no-op.
func TestCfnLint(t *testing.T) {
	t.Parallel()
	bin := os.Getenv("ECSAUDIT_CFN_LINT")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("cfn-lint"); err != nil {
			t.Fatalf("cfn-lint is not on PATH (%v); install it or set ECSAUDIT_CFN_LINT", err)
		}
	}
	var files []string
	for _, name := range templateNames(t) {
		files = append(files, filepath.Join("cloudformation", name))
	}
	out, err := exec.Command(bin, files...).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint %s: %v\n%s", strings.Join(files, " "), err, out)
	}

	out, err = exec.Command(bin, filepath.Join("testdata", "broken-unknown-property.yaml")).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode()&2 == 0 || !strings.Contains(string(out), "E3002") {
		t.Errorf("cfn-lint on the broken template: %v\n%s\nwant error E3002 (unknown property)", err, out)
	}
}
