package infra

import (
	"regexp"
	"slices"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/cloudformation"
)

// scanActions is everything the scan role may do: read task definitions,
// what runs them (clusters, services, tasks) and the enabled regions.
// Nothing else, in particular no write.
var scanActions = []string{
	"ec2:DescribeRegions",
	"ecs:DescribeServices",
	"ecs:DescribeTaskDefinition",
	"ecs:DescribeTasks",
	"ecs:ListClusters",
	"ecs:ListServices",
	"ecs:ListTaskDefinitionFamilies",
	"ecs:ListTaskDefinitions",
	"ecs:ListTasks",
}

// TestScanRoleIsReadOnly checks the scan role's permissions are exactly the
// read-only set, and that the template holds nothing but the role.
func TestScanRoleIsReadOnly(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "scan-role.yaml", nil)
	if got := sortedKeys(tmpl.Resources); !slices.Equal(got, []string{"ScanRole"}) {
		t.Fatalf("resources = %q, want only ScanRole", got)
	}
	role, err := tmpl.GetIAMRoleWithName("ScanRole")
	if err != nil {
		t.Fatal(err)
	}
	if role.RoleName == nil || *role.RoleName != "ecsaudit-read" {
		t.Errorf("RoleName = %v, want the default ecsaudit-read", role.RoleName)
	}
	_, identity := rolePolicies(t, tmpl, "ScanRole")
	grants := allowed(t, identity...)
	if got := sortedKeys(grants); !slices.Equal(got, scanActions) {
		t.Errorf("scan role actions = %q, want exactly %q", got, scanActions)
	}
	for _, d := range identity {
		for _, s := range d.Statement {
			if s.Effect != "Allow" {
				t.Errorf("statement %q: Effect %s; the role needs no Deny (it is granted nothing else)", s.Sid, s.Effect)
			}
		}
	}

	renamed := render(t, "scan-role.yaml", map[string]any{"ScanRoleName": "audit-reader"})
	role, err = renamed.GetIAMRoleWithName("ScanRole")
	if err != nil {
		t.Fatal(err)
	}
	if role.RoleName == nil || *role.RoleName != "audit-reader" {
		t.Errorf("RoleName with ScanRoleName=audit-reader is %v", role.RoleName)
	}
}

// TestScanRoleSecurityHubImport: with SecurityHubImport the scan role may
// also import, read and resolve its own account's findings in Security
// Hub, and nothing more; without it, the role is as read-only as above.
func TestScanRoleSecurityHubImport(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "scan-role.yaml", map[string]any{"SecurityHubImport": "true"})
	_, identity := rolePolicies(t, tmpl, "ScanRole")
	pol, err := tmpl.GetIAMPolicyWithName("SecurityHubImportPolicy")
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Roles) != 1 || pol.Roles[0] != "${ScanRole}" {
		t.Errorf("SecurityHubImportPolicy is attached to %s, want the scan role", mustJSON(pol.Roles))
	}
	for _, p := range policies(t, tmpl) {
		if p.Resource == "SecurityHubImportPolicy" {
			identity = append(identity, p.Doc)
		}
	}
	grants := allowed(t, identity...)
	hub := grant{Resources: []string{"arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:hub/default"}}
	want := map[string]grant{
		"securityhub:BatchImportFindings": {Resources: []string{"arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/${AWS::AccountId}/default"}},
		"securityhub:GetFindings":         hub,
		"securityhub:BatchUpdateFindings": hub,
	}
	for _, a := range scanActions {
		want[a] = grant{Resources: []string{"*"}}
	}
	if !jsonEqual(grants, want) {
		t.Errorf("scan role grants with SecurityHubImport =\n%s\nwant\n%s", mustJSON(grants), mustJSON(want))
	}
	set := render(t, "scan-role-stackset.yaml", map[string]any{"SecurityHubImport": "true"})
	if got := mustJSON(set.Resources["ScanRoleStackSet"]); !regexp.MustCompile(`"ParameterKey":\s*"SecurityHubImport",\s*"ParameterValue":\s*"true"`).MatchString(got) {
		t.Errorf("the StackSet does not pass SecurityHubImport on:\n%s", got)
	}
}

// TestScanRoleTrust checks who may assume the scan role: principals of the
// job account only, and of those only the job's task role
// (aws:PrincipalArn), only from inside the organization
// (aws:PrincipalOrgID), and, when the stack was given one, only with the
// external id.
func TestScanRoleTrust(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		params     map[string]any
		externalID any // nil: no sts:ExternalId condition
	}{
		{"without external id", nil, nil},
		{"with external id", map[string]any{"ExternalId": "ecsaudit-7f3a"}, "ecsaudit-7f3a"},
		{"other task role", map[string]any{"JobTaskRoleName": "audit-job"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			params := withFixture("scan-role.yaml", tc.params)
			tmpl := render(t, "scan-role.yaml", tc.params)
			trust, _ := rolePolicies(t, tmpl, "ScanRole")
			if len(trust.Statement) != 1 {
				t.Fatalf("trust policy has %d statements, want 1", len(trust.Statement))
			}
			s := trust.Statement[0]
			if s.Effect != "Allow" || !slices.Equal(s.Action, []string{"sts:AssumeRole"}) {
				t.Errorf("trust statement allows %s %q, want Allow sts:AssumeRole", s.Effect, s.Action)
			}
			account := params["JobAccountId"].(string)
			if got, want := principalAWS(t, s.Principal), "arn:${AWS::Partition}:iam::"+account+":root"; got != want {
				t.Errorf("principal = %q, want the job account %q", got, want)
			}
			taskRole := "ecsaudit-job"
			if r, ok := params["JobTaskRoleName"].(string); ok {
				taskRole = r
			}
			want := map[string]map[string]any{
				"ArnEquals": {"aws:PrincipalArn": "arn:${AWS::Partition}:iam::" + account + ":role/" + taskRole},
				"StringEquals": {
					"aws:PrincipalOrgID": params["OrganizationId"],
				},
			}
			if tc.externalID != nil {
				want["StringEquals"]["sts:ExternalId"] = tc.externalID
			}
			if got := conditionWithoutNulls(s.Condition); !jsonEqual(got, want) {
				t.Errorf("trust conditions =\n%s\nwant\n%s", mustJSON(got), mustJSON(want))
			}
		})
	}
}

// TestScanRoleStackSet checks the StackSet deploys the scan role the way the
// management-account stack does: service-managed, to the target OUs and
// their future accounts, in one region, with the same parameters.
func TestScanRoleStackSet(t *testing.T) {
	t.Parallel()
	params := withFixture("scan-role-stackset.yaml", nil)
	tmpl := render(t, "scan-role-stackset.yaml", nil)
	sets := tmpl.GetAllCloudFormationStackSetResources()
	if len(sets) != 1 {
		t.Fatalf("%d StackSets, want 1", len(sets))
	}
	var set *cloudformation.StackSet
	for _, s := range sets {
		set = s
	}
	if set.PermissionModel != "SERVICE_MANAGED" {
		t.Errorf("PermissionModel = %q", set.PermissionModel)
	}
	if set.CallAs == nil || *set.CallAs != "DELEGATED_ADMIN" {
		t.Errorf("CallAs = %v, want DELEGATED_ADMIN by default", set.CallAs)
	}
	if a := set.AutoDeployment; a == nil || a.Enabled == nil || !*a.Enabled {
		t.Error("AutoDeployment is not enabled: accounts that join the OUs later would get no scan role")
	}
	if !slices.Contains(set.Capabilities, "CAPABILITY_NAMED_IAM") {
		t.Errorf("Capabilities = %q, want CAPABILITY_NAMED_IAM (the role has a fixed name)", set.Capabilities)
	}
	if set.TemplateURL == nil || *set.TemplateURL != params["ScanRoleTemplateURL"] {
		t.Errorf("TemplateURL = %v, want the ScanRoleTemplateURL parameter", set.TemplateURL)
	}
	op := set.OperationPreferences
	if op == nil || op.FailureTolerancePercentage == nil || op.MaxConcurrentPercentage == nil || op.RegionConcurrencyType == nil {
		t.Errorf("OperationPreferences = %+v, want failure tolerance, concurrency and region concurrency", op)
	}
	if len(set.StackInstancesGroup) != 1 {
		t.Fatalf("%d stack instance groups, want 1", len(set.StackInstancesGroup))
	}
	group := set.StackInstancesGroup[0]
	if !slices.Equal(group.Regions, []string{"${AWS::Region}"}) {
		t.Errorf("Regions = %q, want just the StackSet's own region (IAM is global)", group.Regions)
	}
	if group.DeploymentTargets == nil || !slices.Equal(group.DeploymentTargets.OrganizationalUnitIds, []string{"ou-ab12-11111111", "ou-ab12-22222222"}) {
		t.Errorf("DeploymentTargets = %+v, want the TargetOrganizationalUnitIds", group.DeploymentTargets)
	}

	selfSet := render(t, "scan-role-stackset.yaml", map[string]any{"CallAs": "SELF"}).GetAllCloudFormationStackSetResources()
	for _, s := range selfSet {
		if s.CallAs == nil || *s.CallAs != "SELF" {
			t.Errorf("CallAs with CallAs=SELF is %v", s.CallAs)
		}
	}

	// Every parameter the StackSet passes exists in scan-role.yaml, and every
	// scan-role.yaml parameter without a default is passed.
	passed := stackSetParameters(t, set, "scan-role.yaml")
	if passed["JobAccountId"] != params["JobAccountId"] || passed["OrganizationId"] != params["OrganizationId"] {
		t.Errorf("StackSet passes %v, want the fixture's JobAccountId and OrganizationId", passed)
	}
	if _, ok := passed["ExternalId"]; ok {
		t.Error("StackSet passes an ExternalId although none was given")
	}
	withExt := render(t, "scan-role-stackset.yaml", map[string]any{"ExternalId": "ecsaudit-7f3a"})
	for _, s := range withExt.GetAllCloudFormationStackSetResources() {
		if !slices.ContainsFunc(s.Parameters, func(p cloudformation.StackSet_Parameter) bool {
			return p.ParameterKey == "ExternalId" && p.ParameterValue == "ecsaudit-7f3a"
		}) {
			t.Errorf("StackSet with ExternalId passes %+v, want ExternalId=ecsaudit-7f3a", s.Parameters)
		}
	}
}

// TestSharedParameterDefaults checks that the names the templates must
// agree on have the same defaults everywhere, so a deployment with defaults
// lines up: the job's task role is the one the scan roles trust, and the
// role the job (single task or Batch shards) assumes is the one the
// StackSet creates.
func TestSharedParameterDefaults(t *testing.T) {
	t.Parallel()
	for _, shared := range []struct {
		param, want string
		templates   []string
	}{
		{"ScanRoleName", "ecsaudit-read", []string{"scan-role.yaml", "scan-role-stackset.yaml", "job.yaml", "batch.yaml"}},
		{"JobTaskRoleName", "ecsaudit-job", []string{"scan-role.yaml", "scan-role-stackset.yaml", "job.yaml"}},
		{"ExternalId", "", []string{"scan-role.yaml", "scan-role-stackset.yaml", "job.yaml", "batch.yaml"}},
		{"DatabaseName", "ecsaudit", []string{"job.yaml", "quicksight.yaml"}},
		{"AthenaWorkGroupName", "ecsaudit", []string{"job.yaml", "quicksight.yaml"}},
	} {
		for _, name := range shared.templates {
			tmpl, err := parse(templateBytes(t, name))
			if err != nil {
				t.Fatal(err)
			}
			p, ok := tmpl.Parameters[shared.param]
			if !ok {
				t.Errorf("%s: no parameter %s", name, shared.param)
				continue
			}
			if p.Default != shared.want {
				t.Errorf("%s: %s defaults to %v, want %q", name, shared.param, p.Default, shared.want)
			}
		}
	}
}
