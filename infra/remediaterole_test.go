package infra

import (
	"slices"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/cloudformation"
)

// TestRemediationRoleGrants checks the remediation role may do exactly
// this: register task definitions of its own account, tag them only as it
// registers them, read what idempotence needs, and pass its own account's
// roles to ECS tasks only. No service update, no deregistration.
func TestRemediationRoleGrants(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "remediate-role.yaml", nil)
	if got := sortedKeys(tmpl.Resources); !slices.Equal(got, []string{"RemediationRole"}) {
		t.Fatalf("resources = %q, want only RemediationRole", got)
	}
	_, identity := rolePolicies(t, tmpl, "RemediationRole")
	taskDefs := []string{"arn:${AWS::Partition}:ecs:*:${AWS::AccountId}:task-definition/*"}
	want := map[string]grant{
		"ecs:RegisterTaskDefinition": {Resources: taskDefs},
		"ecs:TagResource": {Resources: taskDefs, Condition: map[string]map[string]any{
			"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}},
		"ecs:ListTaskDefinitions":    {Resources: []string{"*"}},
		"ecs:DescribeTaskDefinition": {Resources: []string{"*"}},
		"iam:PassRole": {Resources: []string{"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"}, Condition: map[string]map[string]any{
			"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
	}
	if got := allowed(t, identity...); !jsonEqual(got, want) {
		t.Errorf("remediation role grants =\n%s\nwant\n%s", mustJSON(got), mustJSON(want))
	}
	narrow := render(t, "remediate-role.yaml", map[string]any{"PassableRoleNames": "ecs-*"})
	_, identity = rolePolicies(t, narrow, "RemediationRole")
	if got := allowed(t, identity...)["iam:PassRole"].Resources; !slices.Equal(got, []string{"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/ecs-*"}) {
		t.Errorf("PassRole with PassableRoleNames=ecs-* = %q", got)
	}

	trust, _ := rolePolicies(t, tmpl, "RemediationRole")
	if len(trust.Statement) != 1 {
		t.Fatalf("trust policy has %d statements, want 1", len(trust.Statement))
	}
	s := trust.Statement[0]
	if got := principalAWS(t, s.Principal); got != "arn:${AWS::Partition}:iam::111122223333:root" {
		t.Errorf("principal = %q, want the operator account", got)
	}
	wantTrust := map[string]map[string]any{
		"ArnEquals":    {"aws:PrincipalArn": "arn:${AWS::Partition}:iam::111122223333:role/platform-admin"},
		"StringEquals": {"aws:PrincipalOrgID": "o-exampleorg1"},
	}
	if got := conditionWithoutNulls(s.Condition); !jsonEqual(got, wantTrust) {
		t.Errorf("trust conditions =\n%s\nwant\n%s", mustJSON(got), mustJSON(wantTrust))
	}
}

// TestRemediationRoleStackSet: the StackSet deploys remediate-role.yaml,
// passing every parameter it declares without a default, and nothing it
// does not declare.
func TestRemediationRoleStackSet(t *testing.T) {
	t.Parallel()
	sets := render(t, "remediate-role-stackset.yaml", nil).GetAllCloudFormationStackSetResources()
	if len(sets) != 1 {
		t.Fatalf("%d StackSets, want 1", len(sets))
	}
	var set *cloudformation.StackSet
	for _, s := range sets {
		set = s
	}
	if set.PermissionModel != "SERVICE_MANAGED" || set.TemplateURL == nil || *set.TemplateURL != "https://example-bucket.s3.amazonaws.com/remediate-role.yaml" {
		t.Errorf("PermissionModel %q, TemplateURL %v", set.PermissionModel, set.TemplateURL)
	}
	passed := stackSetParameters(t, set, "remediate-role.yaml")
	if passed["OperatorRoleName"] != "platform-admin" || passed["PassableRoleNames"] != "*" {
		t.Errorf("StackSet passes %v", passed)
	}
}

// stackSetParameters returns the parameters a StackSet passes to the
// template it deploys, failing t for one the template does not declare
// and for a required one it does not pass.
func stackSetParameters(t *testing.T, set *cloudformation.StackSet, template string) map[string]string {
	t.Helper()
	role, err := parse(templateBytes(t, template))
	if err != nil {
		t.Fatal(err)
	}
	passed := map[string]string{}
	for _, p := range set.Parameters {
		if p.ParameterKey == "" {
			continue // removed by AWS::NoValue
		}
		if _, ok := role.Parameters[p.ParameterKey]; !ok {
			t.Errorf("StackSet passes %s, which %s does not declare", p.ParameterKey, template)
		}
		passed[p.ParameterKey] = p.ParameterValue
	}
	for name, p := range role.Parameters {
		if _, ok := passed[name]; !ok && p.Default == nil {
			t.Errorf("StackSet does not pass %s's required parameter %s", template, name)
		}
	}
	return passed
}
