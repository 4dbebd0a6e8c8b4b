package infra

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ecsaudit/ecsaudit/accounts"
)

// TestJobTaskRole checks the job's task role can do what the job does and
// nothing more: read the organization, assume the scan role by name inside
// the organization, read and write run files under the output prefix, and
// use the bucket's key through S3.
func TestJobTaskRole(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "job.yaml", nil)
	role, err := tmpl.GetIAMRoleWithName("TaskRole")
	if err != nil {
		t.Fatal(err)
	}
	if role.RoleName == nil || *role.RoleName != "ecsaudit-job" {
		t.Errorf("RoleName = %v, want ecsaudit-job (what the scan roles trust)", role.RoleName)
	}
	if role.Path != nil && *role.Path != "/" {
		t.Errorf("Path = %q: aws:PrincipalArn in the scan roles' trust has no path", *role.Path)
	}
	trust, identity := rolePolicies(t, tmpl, "TaskRole")
	assertServiceTrust(t, trust, "ecs-tasks.amazonaws.com")

	runFiles := "${FindingsBucket.Arn}/ecsaudit/*"
	orgRead := grant{Resources: []string{"*"}}
	want := map[string]grant{
		"organizations:ListAccounts":                     orgRead,
		"organizations:ListAccountsForParent":            orgRead,
		"organizations:ListOrganizationalUnitsForParent": orgRead,
		"organizations:ListRoots":                        orgRead,
		"ec2:DescribeRegions":                            orgRead, // checks --regions names regions of the partition
		"sts:AssumeRole": {
			Resources: []string{"arn:${AWS::Partition}:iam::*:role/ecsaudit-read"},
			Condition: map[string]map[string]any{"StringEquals": {"aws:ResourceOrgID": "o-exampleorg1"}},
		},
		"s3:PutObject":            {Resources: []string{runFiles}},
		"s3:AbortMultipartUpload": {Resources: []string{runFiles}},
		"s3:GetObject":            {Resources: []string{runFiles}},
		"s3:ListBucket": {
			Resources: []string{"${FindingsBucket.Arn}"},
			Condition: map[string]map[string]any{"StringLike": {"s3:prefix": []any{"ecsaudit", "ecsaudit/*"}}},
		},
		"kms:GenerateDataKey": {
			Resources: []string{"${Key.Arn}"},
			Condition: map[string]map[string]any{"StringEquals": {"kms:ViaService": "s3.${AWS::Region}.${AWS::URLSuffix}"}},
		},
		"kms:Decrypt": {
			Resources: []string{"${Key.Arn}"},
			Condition: map[string]map[string]any{"StringEquals": {"kms:ViaService": "s3.${AWS::Region}.${AWS::URLSuffix}"}},
		},
	}
	got := allowed(t, identity...)
	if !jsonEqual(got, want) {
		t.Errorf("task role grants =\n%s\nwant\n%s", mustJSON(got), mustJSON(want))
	}

	// Renaming the scan role moves the AssumeRole resource with it.
	renamed := allowed(t, func() []policyDocument {
		_, id := rolePolicies(t, render(t, "job.yaml", map[string]any{"ScanRoleName": "audit-reader"}), "TaskRole")
		return id
	}()...)
	if r := renamed["sts:AssumeRole"].Resources; !slices.Equal(r, []string{"arn:${AWS::Partition}:iam::*:role/audit-reader"}) {
		t.Errorf("with ScanRoleName=audit-reader the task role may assume %q", r)
	}
}

// TestJobExecutionAndSchedulerRoles checks the two service roles of the job
// stack: the execution role pulls from the job's repository and writes to
// its log group only; the scheduler role runs the job's task definition in
// the job's cluster, passes only the job's two roles, and writes its dead
// letters.
func TestJobExecutionAndSchedulerRoles(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "job.yaml", nil)

	trust, identity := rolePolicies(t, tmpl, "TaskExecutionRole")
	assertServiceTrust(t, trust, "ecs-tasks.amazonaws.com")
	wantExec := map[string]grant{
		"ecr:GetAuthorizationToken":       {Resources: []string{"*"}},
		"ecr:BatchCheckLayerAvailability": {Resources: []string{"${Repository.Arn}"}},
		"ecr:BatchGetImage":               {Resources: []string{"${Repository.Arn}"}},
		"ecr:GetDownloadUrlForLayer":      {Resources: []string{"${Repository.Arn}"}},
		"logs:CreateLogStream":            {Resources: []string{"${LogGroup.Arn}"}},
		"logs:PutLogEvents":               {Resources: []string{"${LogGroup.Arn}"}},
	}
	if got := allowed(t, identity...); !jsonEqual(got, wantExec) {
		t.Errorf("execution role grants =\n%s\nwant\n%s", mustJSON(got), mustJSON(wantExec))
	}

	trust, identity = rolePolicies(t, tmpl, "SchedulerRole")
	assertServiceTrust(t, trust, "scheduler.amazonaws.com")
	wantScheduler := map[string]grant{
		"ecs:RunTask": {
			Resources: []string{"${TaskDefinition}"},
			Condition: map[string]map[string]any{"ArnEquals": {"ecs:cluster": "${Cluster.Arn}"}},
		},
		"iam:PassRole": {
			Resources: []string{"${TaskExecutionRole.Arn}", "${TaskRole.Arn}"},
			Condition: map[string]map[string]any{"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
		},
		"sqs:SendMessage": {Resources: []string{"${DeadLetterQueue.Arn}"}},
	}
	if got := allowed(t, identity...); !jsonEqual(got, wantScheduler) {
		t.Errorf("scheduler role grants =\n%s\nwant\n%s", mustJSON(got), mustJSON(wantScheduler))
	}

	roles := sortedKeys(tmpl.GetAllIAMRoleResources())
	if want := []string{"SchedulerRole", "TaskExecutionRole", "TaskRole"}; !slices.Equal(roles, want) {
		t.Errorf("job roles = %q, want %q (a new role needs its own test)", roles, want)
	}
}

// TestOrgDelegationPolicy checks the Organizations delegation policy grants
// the job account exactly the read-only actions its task role uses.
func TestOrgDelegationPolicy(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "org-delegation.yaml", nil)
	var docs []policyDocument
	for _, p := range policies(t, tmpl) {
		if p.Kind != orgPolicy {
			t.Errorf("%s: unexpected %s policy", p.Resource, p.Kind)
		}
		docs = append(docs, p.Doc)
		for _, s := range p.Doc.Statement {
			if got := principalAWS(t, s.Principal); got != "arn:${AWS::Partition}:iam::111122223333:root" {
				t.Errorf("delegation principal = %q, want the job account", got)
			}
		}
	}
	delegated := sortedKeys(allowed(t, docs...))

	_, identity := rolePolicies(t, render(t, "job.yaml", nil), "TaskRole")
	var used []string
	for _, a := range sortedKeys(allowed(t, identity...)) {
		if strings.HasPrefix(a, "organizations:") {
			used = append(used, a)
		}
	}
	if !slices.Equal(delegated, used) {
		t.Errorf("delegation policy grants %q, the task role uses %q", delegated, used)
	}
	// Least privilege: the code calls accounts.List's ListAccounts and the
	// methods of accounts.TreeAPI, nothing else of Organizations.
	calls := []string{"organizations:ListAccounts"}
	tree := reflect.TypeFor[accounts.TreeAPI]()
	for i := range tree.NumMethod() {
		calls = append(calls, "organizations:"+tree.Method(i).Name)
	}
	if slices.Sort(calls); !slices.Equal(used, calls) {
		t.Errorf("the task role grants %q, the code calls %q", used, calls)
	}
}

func assertServiceTrust(t *testing.T, trust policyDocument, service string) {
	t.Helper()
	if len(trust.Statement) != 1 {
		t.Fatalf("trust policy has %d statements, want 1", len(trust.Statement))
	}
	s := trust.Statement[0]
	p, _ := s.Principal.(map[string]any)
	if s.Effect != "Allow" || !slices.Equal(s.Action, []string{"sts:AssumeRole"}) || p["Service"] != service || len(p) != 1 {
		t.Errorf("trust = %s, want only %s to assume the role", mustJSON(s), service)
	}
	if got := s.Condition["StringEquals"]["aws:SourceAccount"]; got != "${AWS::AccountId}" {
		t.Errorf("trust condition aws:SourceAccount = %v, want this account (confused deputy)", got)
	}
}

func principalAWS(t *testing.T, principal any) string {
	t.Helper()
	p, ok := principal.(map[string]any)
	if !ok || len(p) != 1 {
		t.Fatalf("principal %v, want {AWS: arn}", principal)
	}
	s, ok := p["AWS"].(string)
	if !ok {
		t.Fatalf("principal %v, want one AWS arn", principal)
	}
	return s
}
