package taskdefs_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsaudit/ecsaudit/taskdefs"
)

// describer answers DescribeTaskDefinition with one fixed revision.
type describer struct {
	td   *ecstypes.TaskDefinition
	tags []ecstypes.Tag
}

func (d describer) DescribeTaskDefinition(_ context.Context, in *ecs.DescribeTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	if len(in.Include) != 1 || in.Include[0] != ecstypes.TaskDefinitionFieldTags {
		return nil, io.ErrUnexpectedEOF
	}
	return &ecs.DescribeTaskDefinitionOutput{TaskDefinition: d.td, Tags: d.tags}, nil
}

// richRevision is a described revision with members of every shape:
// read-only ones, enums set and unset, maps whose keys must stay as they
// are, non-pointer numbers, nested structures, and tags.
func richRevision() describer {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	return describer{td: &ecstypes.TaskDefinition{
		TaskDefinitionArn: aws.String("arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:1"),
		Family:            aws.String("metrics"), Revision: 1, Status: ecstypes.TaskDefinitionStatusActive,
		Compatibilities:    []ecstypes.Compatibility{ecstypes.CompatibilityEc2},
		RequiresAttributes: []ecstypes.Attribute{{Name: aws.String("com.amazonaws.ecs.capability.privileged-container")}},
		RegisteredAt:       &now, RegisteredBy: aws.String("arn:aws:iam::444444444444:role/deployer"),
		NetworkMode: ecstypes.NetworkModeHost, PidMode: ecstypes.PidModeHost,
		TaskRoleArn: aws.String("arn:aws:iam::444444444444:role/cwagent-task"),
		Volumes: []ecstypes.Volume{{Name: aws.String("proc"), Host: &ecstypes.HostVolumeProperties{SourcePath: aws.String("/proc")}},
			{Name: aws.String("efs"), EfsVolumeConfiguration: &ecstypes.EFSVolumeConfiguration{FileSystemId: aws.String("fs-1"),
				TransitEncryption: ecstypes.EFSTransitEncryptionEnabled, AuthorizationConfig: &ecstypes.EFSAuthorizationConfig{Iam: ecstypes.EFSAuthorizationConfigIAMEnabled}}}},
		PlacementConstraints: []ecstypes.TaskDefinitionPlacementConstraint{},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("agent"), Image: aws.String("cwagent:1"), Privileged: aws.Bool(true), User: aws.String("0"),
			Essential:    aws.Bool(true),
			Environment:  []ecstypes.KeyValuePair{{Name: aws.String("DD_API_KEY"), Value: aws.String("planted-secret")}},
			Secrets:      []ecstypes.Secret{{Name: aws.String("TOKEN"), ValueFrom: aws.String("arn:aws:ssm:eu-west-1:444444444444:parameter/t")}},
			DockerLabels: map[string]string{"Com.Example.Tier": "agent"},
			HealthCheck:  &ecstypes.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(30)},
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs,
				Options: map[string]string{"awslogs-group": "/ecs/metrics", "Mode": "non-blocking"}},
			LinuxParameters: &ecstypes.LinuxParameters{InitProcessEnabled: aws.Bool(true),
				Capabilities: &ecstypes.KernelCapabilities{Add: []string{"SYS_PTRACE"}}},
			Ulimits:      []ecstypes.Ulimit{{Name: ecstypes.UlimitNameNofile, SoftLimit: 1024, HardLimit: 4096}},
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(9100), HostPort: aws.Int32(9100), Protocol: ecstypes.TransportProtocolTcp}},
			MountPoints:  []ecstypes.MountPoint{},
		}},
	}, tags: []ecstypes.Tag{{Key: aws.String("team"), Value: aws.String("observability")}, {Key: aws.String("aws:cloudformation:stack-name"), Value: aws.String("s")}}}
}

// TestDefinitionIsTheRegisterInput registers a Definition through the
// real SDK client and compares the body the SDK's serializer sends with
// the Definition: same member names, same values, nothing dropped.
func TestDefinitionIsTheRegisterInput(t *testing.T) {
	t.Parallel()
	full, err := taskdefs.DescribeFull(context.Background(), richRevision(), "metrics:1")
	if err != nil {
		t.Fatal(err)
	}
	d := full.Definition
	for _, k := range []string{"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities", "registeredAt", "registeredBy", "ipcMode"} {
		if _, ok := d[k]; ok {
			t.Errorf("definition has %q", k)
		}
	}
	if got := d["tags"]; !reflect.DeepEqual(got, []any{map[string]any{"key": "team", "value": "observability"}}) {
		t.Errorf("tags = %v, want team only (aws: tags are reserved)", got)
	}
	c := d["containerDefinitions"].([]any)[0].(map[string]any)
	if got := c["dockerLabels"]; !reflect.DeepEqual(got, map[string]any{"Com.Example.Tier": "agent"}) {
		t.Errorf("dockerLabels = %v: map keys must stay as they are", got)
	}
	if _, ok := c["cpu"]; ok || c["privileged"] != true || c["user"] != "0" {
		t.Errorf("container = %v", c)
	}

	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{"taskDefinition":{"taskDefinitionArn":"arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:2"}}`)
	}))
	defer srv.Close()
	client := ecs.New(ecs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})
	arn, err := taskdefs.Register(context.Background(), client, d)
	if err != nil || arn != "arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:2" {
		t.Fatalf("Register = %q, %v", arn, err)
	}
	var sent, want any
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(d.JSON(), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sent, want) {
		t.Errorf("the SDK sent\n%s\nthe definition is\n%s", body, d.JSON())
	}
}

func TestInputRejectsUnknownMembers(t *testing.T) {
	t.Parallel()
	d := taskdefs.Definition{"family": "f", "containerDefinitions": []any{}, "taskRoleARNs": "x"}
	if _, err := d.Input(); err == nil {
		t.Fatal("Input accepted a member RegisterTaskDefinition does not have")
	}
}
