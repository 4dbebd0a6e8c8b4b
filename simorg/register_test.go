package simorg

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// assumeRemediation assumes the remediation role in account.
func assumeRemediation(t *testing.T, srv *Server, account string) aws.Credentials {
	t.Helper()
	client := sts.NewFromConfig(managementConfig(t, srv, "us-east-1"))
	out, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::" + account + ":role/ecsaudit-remediate"),
		RoleSessionName: aws.String("simorg-test"),
	})
	if err != nil {
		t.Fatalf("AssumeRole ecsaudit-remediate in %s: %v", account, err)
	}
	c := out.Credentials
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
}

// TestExtraFieldsServedVerbatim: a fixture's extra members reach the SDK as
// the fields they name, and its tags come back with include TAGS.
func TestExtraFieldsServedVerbatim(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1"))
	out, err := client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String("payments-api:3"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	td := out.TaskDefinition
	if got := aws.ToString(td.TaskRoleArn); got != "arn:aws:iam::333333333333:role/payments-api-task" {
		t.Errorf("taskRoleArn = %q", got)
	}
	if len(td.Volumes) != 1 || aws.ToString(td.Volumes[0].Host.SourcePath) != "/etc/pki/payments" {
		t.Errorf("volumes = %+v", td.Volumes)
	}
	api := td.ContainerDefinitions[0]
	if api.HealthCheck == nil || aws.ToInt32(api.HealthCheck.StartPeriod) != 60 || api.HealthCheck.Command[1] != "curl -fsk https://localhost:8443/health || exit 1" {
		t.Errorf("healthCheck = %+v", api.HealthCheck)
	}
	if api.DockerLabels["com.example.tier"] != "api" || api.LogConfiguration.LogDriver != types.LogDriverAwsfirelens {
		t.Errorf("dockerLabels %v, logConfiguration %+v", api.DockerLabels, api.LogConfiguration)
	}
	if aws.ToString(api.User) != "0" || api.Cpu != 512 {
		t.Errorf("user %q cpu %d: the fixture's own fields must stay", aws.ToString(api.User), api.Cpu)
	}
	if len(out.Tags) != 2 || aws.ToString(out.Tags[1].Value) != "cc-4711" {
		t.Errorf("tags = %+v", out.Tags)
	}
}

func TestExtraRejectsOwnedMembers(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(`{"organizationId": "o-abcdefghij", "managementAccountId": "111111111111",
	  "regions": [{"name": "us-east-1"}],
	  "accounts": [{"id": "111111111111", "name": "m", "taskDefinitions": {"us-east-1": [
	    {"family": "f", "revision": 1, "extra": {"revision": 7}, "containers": [
	      {"name": "c", "image": "i", "expect": "PASS", "extra": {"user": "root"}}]}]}}]}`))
	if err == nil || !strings.Contains(err.Error(), `extra: "revision"`) || !strings.Contains(err.Error(), `containers[0].extra: "user"`) {
		t.Fatalf("Parse = %v, want both owned members rejected", err)
	}
}

// TestRegisterTaskDefinition: only the remediation role registers; the new
// revision is the family's next, listed and described to the audit role as
// it was registered, with every member kept; the Org itself does not change.
func TestRegisterTaskDefinition(t *testing.T) {
	t.Parallel()
	org := Default()
	srv := start(t, org, Options{})
	ctx := context.Background()
	in := &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("metrics"), NetworkMode: types.NetworkModeHost, PidMode: types.PidModeHost,
		TaskRoleArn: aws.String("arn:aws:iam::444444444444:role/cwagent-task"),
		Volumes:     []types.Volume{{Name: aws.String("proc"), Host: &types.HostVolumeProperties{SourcePath: aws.String("/proc")}}},
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("agent"), Image: aws.String("cwagent:1"), User: aws.String("1000:1000"),
			DockerLabels: map[string]string{"a": "b"}, Memory: aws.Int32(256),
		}},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("observability")}},
	}

	scan := ecs.NewFromConfig(assumedConfig(t, srv, "444444444444", "eu-west-1", noRetries))
	_, err := scan.RegisterTaskDefinition(ctx, in)
	wantCode(t, err, "AccessDeniedException")

	remediate := ecs.NewFromConfig(sdkConfig(t, srv, "eu-west-1", assumeRemediation(t, srv, "444444444444"), noRetries))
	_, err = remediate.ListClusters(ctx, &ecs.ListClustersInput{})
	wantCode(t, err, "AccessDeniedException")

	out, err := remediate.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	const want = "arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:2"
	if got := aws.ToString(out.TaskDefinition.TaskDefinitionArn); got != want {
		t.Fatalf("registered %s, want %s", got, want)
	}
	list, err := scan.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("metrics")})
	if err != nil || !slices.Equal(list.TaskDefinitionArns, []string{"arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:1", want}) {
		t.Fatalf("listed %v (%v)", list.TaskDefinitionArns, err)
	}
	d, err := scan.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("metrics"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	td := d.TaskDefinition
	c := td.ContainerDefinitions[0]
	switch {
	case td.Revision != 2, td.PidMode != types.PidModeHost, aws.ToString(td.TaskRoleArn) != "arn:aws:iam::444444444444:role/cwagent-task",
		len(td.Volumes) != 1, aws.ToString(c.User) != "1000:1000", c.Privileged != nil, c.DockerLabels["a"] != "b",
		aws.ToInt32(c.Memory) != 256, len(d.Tags) != 1 || aws.ToString(d.Tags[0].Key) != "team":
		t.Errorf("described %+v, container %+v, tags %+v", td, c, d.Tags)
	}
	if _, ok := org.TaskDefinition("444444444444", "eu-west-1", "metrics", 2); ok {
		t.Error("the Org changed: registered revisions belong to the server")
	}
	if got := srv.Registered("444444444444", "eu-west-1"); len(got) != 1 || got[0].ARN != want {
		t.Errorf("Registered = %+v", got)
	}
	// Another server of the same Org has not seen the registration.
	other := ecs.NewFromConfig(assumedConfig(t, start(t, org, Options{}), "444444444444", "eu-west-1"))
	if _, err := other.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(want)}); errorCode(err) != "ClientException" {
		t.Errorf("another server describes %s: %v", want, err)
	}
}
