package simorg

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func defaultFixtureValue(t *testing.T) Fixture {
	t.Helper()
	var f Fixture
	if err := json.Unmarshal(DefaultFixture(), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNewNamesTheBadField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Fixture)
		want   string
	}{
		{"organization ID", func(f *Fixture) { f.OrganizationID = "org-1" }, "organizationId"},
		{"management account outside the accounts", func(f *Fixture) { f.ManagementAccountID = "999999999999" }, "managementAccountId"},
		{"partition", func(f *Fixture) { f.Partition = "aws-mars" }, "partition"},
		{"region name", func(f *Fixture) { f.Regions[1].Name = "Ireland" }, "regions[1].name"},
		{"opt-in status", func(f *Fixture) { f.Regions[0].OptInStatus = "maybe" }, "regions[0].optInStatus"},
		{"nested OU ID", func(f *Fixture) { f.OrganizationalUnits[1].Children[0].ID = "prod" }, "organizationalUnits[1].children[0].id"},
		{"account ID", func(f *Fixture) { f.Accounts[2].ID = "3333" }, "accounts[2].id"},
		{"duplicate account", func(f *Fixture) { f.Accounts[3].ID = f.Accounts[2].ID }, "accounts[3].id"},
		{"account parent", func(f *Fixture) { f.Accounts[1].Parent = "ou-s1m0-missing0" }, "accounts[1].parent"},
		{"account state", func(f *Fixture) { f.Accounts[0].State = "GONE" }, "accounts[0].state"},
		{"denied region", func(f *Fixture) { f.Accounts[2].DeniedRegions = []string{"mars-1"} }, "accounts[2].deniedRegions[0]"},
		{"opting out of a default region", func(f *Fixture) { f.Accounts[2].NotOptedInRegions = []string{"us-east-1"} }, "accounts[2].notOptedInRegions[0]"},
		{"task definitions in an unknown region", func(f *Fixture) {
			f.Accounts[0].TaskDefinitions["us-west-9"] = f.Accounts[0].TaskDefinitions["us-east-1"]
		}, `accounts[0].taskDefinitions["us-west-9"]`},
		{"network mode", func(f *Fixture) { f.Accounts[2].TaskDefinitions["us-east-1"][1].NetworkMode = "HOST" }, `accounts[2].taskDefinitions["us-east-1"][1].networkMode`},
		{"duplicate revision", func(f *Fixture) { f.Accounts[2].TaskDefinitions["us-east-1"][1].Revision = 1 }, `accounts[2].taskDefinitions["us-east-1"][1].revision`},
		{"status", func(f *Fixture) { f.Accounts[2].TaskDefinitions["us-east-1"][0].Status = "DEAD" }, `accounts[2].taskDefinitions["us-east-1"][0].status`},
		{"no containers", func(f *Fixture) { f.Accounts[2].TaskDefinitions["us-east-1"][0].Containers = nil }, `accounts[2].taskDefinitions["us-east-1"][0].containers`},
		{"container image", func(f *Fixture) { f.Accounts[2].TaskDefinitions["us-east-1"][1].Containers[1].Image = "" }, `accounts[2].taskDefinitions["us-east-1"][1].containers[1].image`},
		{"unknown verdict", func(f *Fixture) { f.Accounts[2].TaskDefinitions["us-east-1"][1].Containers[0].Expect = "MAYBE" }, `accounts[2].taskDefinitions["us-east-1"][1].containers[0].expect`},
		{"verdict missing", func(f *Fixture) { f.Accounts[2].TaskDefinitions["us-east-1"][1].Containers[0].Expect = "" }, "written by hand"},
		{"host-access verdict missing", func(f *Fixture) {
			td := &f.Accounts[2].TaskDefinitions["us-east-1"][1]
			td.PidMode, td.Containers[1].ExpectHostAccess = "host", ""
		}, `accounts[2].taskDefinitions["us-east-1"][1].containers[1].expectHostAccess: is required`},
		{"host-access verdict off host networking", func(f *Fixture) {
			f.Accounts[2].TaskDefinitions["us-east-1"][3].Containers[0].ExpectHostAccess = "PASS"
		}, `accounts[2].taskDefinitions["us-east-1"][3].containers[0].expectHostAccess`},
		{"host-access verdict unknown", func(f *Fixture) {
			f.Accounts[2].TaskDefinitions["us-east-1"][1].Containers[0].ExpectHostAccess = "NOT_APPLICABLE"
		}, `accounts[2].taskDefinitions["us-east-1"][1].containers[0].expectHostAccess`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := defaultFixtureValue(t)
			tt.mutate(&f)
			_, err := New(f)
			if err == nil {
				t.Fatal("New accepted an invalid fixture")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}

func TestParseRejectsMalformedJSON(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, json, want string }{
		{"unknown field", `{"organizationId":"o-abcdefghij","netwrokMode":"host"}`, "netwrokMode"},
		{"wrong type", `{"organizationId":"o-abcdefghij","accounts":[{"id":"111111111111","name":"m","denyAssume":"yes"}]}`, "denyAssume"},
		{"trailing data", `{"organizationId":"o-abcdefghij"} {}`, "trailing"},
		{"not JSON", `organizationId: o-abcdefghij`, "parse fixture"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "org.json")
	if err := os.WriteFile(good, DefaultFixture(), 0o600); err != nil {
		t.Fatal(err)
	}
	org, err := Load(good)
	if err != nil || org.ID() != "o-sim1demo42" || org.RevisionCount() != Default().RevisionCount() {
		t.Fatalf("Load = %v, %v", org, err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, bytes.Replace(DefaultFixture(), []byte(`"o-sim1demo42"`), []byte(`"o-x"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "organizationId") {
		t.Errorf("Load(bad) = %v, want an error naming the file and the field", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestFixtureDefaults(t *testing.T) {
	t.Parallel()
	org, err := Parse([]byte(`{"organizationId":"o-abcdefghij","managementAccountId":"123456789012",
		"regions":[{"name":"us-east-1"}],"accounts":[{"id":"123456789012","name":"m"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := org.Account("123456789012")
	if org.RoleName() != DefaultRoleName || org.Partition() != "aws" || org.RootID() != "r-abcd" ||
		a.State != StateActive || a.Parent != "r-abcd" || a.Email == "" || org.Regions()[0].OptInStatus != OptInNotRequired {
		t.Errorf("defaults: role %q partition %q root %q account %+v regions %+v", org.RoleName(), org.Partition(), org.RootID(), a, org.Regions())
	}
}

// TestDefaultOrg checks the demo organization keeps what the demo and the
// tests rely on.
func TestDefaultOrg(t *testing.T) {
	t.Parallel()
	raw := defaultFixtureValue(t)
	for _, a := range raw.Accounts {
		for region, tds := range a.TaskDefinitions {
			for _, td := range tds {
				for _, c := range td.Containers {
					if c.Expect == "" {
						t.Errorf("%s %s %s:%d container %s has no expect annotation", a.ID, region, td.Family, td.Revision, c.Name)
					}
				}
			}
		}
	}
	if n := bytes.Count(DefaultFixture(), []byte(PlantedSecret)); n < 3 {
		t.Errorf("PlantedSecret appears %d times, want at least 3", n)
	}

	org := Default()
	seen := map[string]bool{}
	for _, a := range org.Accounts() {
		for _, r := range org.Regions() {
			for _, td := range org.TaskDefinitions(a.ID, r.Name) {
				for _, c := range td.Containers {
					seen[caseOf(td, c)] = true
				}
			}
		}
	}
	for _, want := range []string{"NOT_APPLICABLE absent", "NOT_APPLICABLE bridge", "NOT_APPLICABLE awsvpc", "FAIL privileged",
		"FAIL root", "FAIL 0", "FAIL 00", "FAIL +0", "FAIL -0:1000", "PASS 1000:0", "PASS unset", "PASS ROOT", "PASS  root", "ERROR"} {
		if !seen[want] {
			t.Errorf("no container covers %q; have %v", want, seen)
		}
	}
	if n := org.RevisionCount(); n < 35 || n > 45 {
		t.Errorf("RevisionCount = %d, want about 40", n)
	}
	if org.RegionStatus("444444444444", "af-south-1") != NotOptedIn || !org.RegionDenied("333333333333", "eu-west-1") {
		t.Error("the default org lost its not-opted-in or its SCP-denied region")
	}
	if a, _ := org.Account("222222222222"); !a.DenyAssume {
		t.Error("the default org lost its account whose role cannot be assumed")
	}
}

// caseOf names the row of the rule a container exercises.
func caseOf(td TaskDefinition, c Container) string {
	switch {
	case td.Vanishes:
		return "ERROR"
	case td.NetworkMode == "":
		return c.Expect + " absent"
	case td.NetworkMode != "host":
		return c.Expect + " " + td.NetworkMode
	case c.Privileged != nil && *c.Privileged:
		return c.Expect + " privileged"
	case c.User == nil:
		return c.Expect + " unset"
	}
	return c.Expect + " " + *c.User
}

func TestOrgDoesNotShareTheFixture(t *testing.T) {
	t.Parallel()
	f := defaultFixtureValue(t)
	org, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	*f.Accounts[2].TaskDefinitions["us-east-1"][1].Containers[0].User = "root"
	f.Accounts[2].DeniedRegions[0] = "us-east-1"
	td, _ := org.TaskDefinition("333333333333", "us-east-1", "payments-api", 2)
	if *td.Containers[0].User != "1000:1000" || org.RegionDenied("333333333333", "us-east-1") {
		t.Error("changing the fixture after New changed the Org")
	}
	*td.Containers[0].User = "root"
	again, _ := org.TaskDefinition("333333333333", "us-east-1", "payments-api", 2)
	if *again.Containers[0].User != "1000:1000" {
		t.Error("changing a returned task definition changed the Org")
	}
}
