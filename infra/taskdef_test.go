package infra

import (
	"slices"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/ecs"

	"github.com/ecsaudit/ecsaudit/check"
)

// jobTaskDefinition is the logical id of the job's task definition.
const jobTaskDefinition = "TaskDefinition"

// jobContainer returns the container that runs `ecsaudit scan`.
func jobContainer(t *testing.T, tmpl *cloudformation.Template) ecs.TaskDefinition_ContainerDefinition {
	t.Helper()
	td, err := tmpl.GetECSTaskDefinitionWithName(jobTaskDefinition)
	if err != nil {
		t.Fatal(err)
	}
	if len(td.ContainerDefinitions) != 1 {
		t.Fatalf("%d containers, want the job's one", len(td.ContainerDefinitions))
	}
	return td.ContainerDefinitions[0]
}

// toCheck converts a task definition as the template declares it into the
// check package's input, the way ecsaudit reads a registered one.
func toCheck(td *ecs.TaskDefinition) check.TaskDefinition {
	out := check.TaskDefinition{
		Family:      deref(td.Family),
		NetworkMode: deref(td.NetworkMode),
		Status:      "ACTIVE",
	}
	for _, c := range td.ContainerDefinitions {
		out.Containers = append(out.Containers, check.Container{
			Name:       c.Name,
			Image:      c.Image,
			Privileged: c.Privileged,
			User:       c.User,
		})
	}
	return out
}

// TestJobTaskPassesItsOwnCheck runs the job's own task definition through
// the control ecsaudit audits: under awsvpc it is not applicable, and were
// it moved to host networking it would pass, in every compatibility mode,
// because its user is set and is not root and it is not privileged.
func TestJobTaskPassesItsOwnCheck(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "job.yaml", nil)
	td, err := tmpl.GetECSTaskDefinitionWithName(jobTaskDefinition)
	if err != nil {
		t.Fatal(err)
	}
	asDeployed := toCheck(td)
	if asDeployed.NetworkMode != "awsvpc" {
		t.Fatalf("network mode %q, want awsvpc (Fargate)", asDeployed.NetworkMode)
	}
	asHost := asDeployed
	asHost.NetworkMode = "host"

	for _, opts := range []check.Options{
		{Compat: check.Control},
		{Compat: check.Control, UnsetUserFails: true},
		{Compat: check.AWSConfig},
	} {
		verdicts := check.Evaluate(asDeployed, opts)
		if len(verdicts) != len(td.ContainerDefinitions) {
			t.Fatalf("%+v: %d verdicts for %d containers", opts, len(verdicts), len(td.ContainerDefinitions))
		}
		for _, v := range verdicts {
			if v.Result != check.NotApplicable {
				t.Errorf("%+v: as deployed, container %s is %s (%s), want NOT_APPLICABLE", opts, v.Container, v.Result, v.Reason)
			}
		}
		for _, v := range check.Evaluate(asHost, opts) {
			if v.Result != check.Pass || v.UserUnset {
				t.Errorf("%+v: with host networking, container %s is %s (%s, user unset %v), want PASS with a user set", opts, v.Container, v.Result, v.Reason, v.UserUnset)
			}
		}
	}
}

// TestToCheckSeesRoot shows the conversion in TestJobTaskPassesItsOwnCheck
// carries what the rule reads: the same task definition with a root user
// or a privileged container fails under host networking.
func TestToCheckSeesRoot(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "job.yaml", nil)
	td, err := tmpl.GetECSTaskDefinitionWithName(jobTaskDefinition)
	if err != nil {
		t.Fatal(err)
	}
	for _, mutate := range []func(*ecs.TaskDefinition_ContainerDefinition){
		func(c *ecs.TaskDefinition_ContainerDefinition) { c.User = cloudformation.String("0:65532") },
		func(c *ecs.TaskDefinition_ContainerDefinition) { c.Privileged = cloudformation.Bool(true) },
	} {
		bad := *td
		bad.NetworkMode = cloudformation.String("host")
		bad.ContainerDefinitions = slices.Clone(td.ContainerDefinitions)
		mutate(&bad.ContainerDefinitions[0])
		for _, v := range check.Evaluate(toCheck(&bad), check.Options{Compat: check.Control}) {
			if v.Result != check.Fail {
				t.Errorf("mutated container %s: %s (%s), want FAIL", v.Container, v.Result, v.Reason)
			}
		}
	}
}

// TestJobTaskDefinitionIsHardened checks the task definition's shape:
// Fargate with awsvpc, a non-root numeric user, read-only root filesystem,
// not privileged, all capabilities dropped, a writable /tmp volume, the
// scan command writing to the stack's bucket, logs to the stack's group,
// and the stack's two roles.
func TestJobTaskDefinitionIsHardened(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "job.yaml", nil)
	td, err := tmpl.GetECSTaskDefinitionWithName(jobTaskDefinition)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(td.RequiresCompatibilities, []string{"FARGATE"}) || deref(td.NetworkMode) != "awsvpc" {
		t.Errorf("compatibilities %q, network mode %q: want FARGATE with awsvpc", td.RequiresCompatibilities, deref(td.NetworkMode))
	}
	if deref(td.TaskRoleArn) != "${TaskRole.Arn}" || deref(td.ExecutionRoleArn) != "${TaskExecutionRole.Arn}" {
		t.Errorf("roles %q, %q: want the stack's TaskRole and TaskExecutionRole", deref(td.TaskRoleArn), deref(td.ExecutionRoleArn))
	}
	c := jobContainer(t, tmpl)
	if deref(c.User) != "65532:65532" {
		t.Errorf("User = %q, want 65532:65532 (distroless nonroot)", deref(c.User))
	}
	if !isTrue(c.ReadonlyRootFilesystem) {
		t.Error("root filesystem is writable")
	}
	if c.Privileged == nil || *c.Privileged {
		t.Errorf("Privileged = %v, want an explicit false", c.Privileged)
	}
	if c.LinuxParameters == nil || c.LinuxParameters.Capabilities == nil || !slices.Equal(c.LinuxParameters.Capabilities.Drop, []string{"ALL"}) || len(c.LinuxParameters.Capabilities.Add) != 0 {
		t.Errorf("LinuxParameters = %+v, want every capability dropped and none added", c.LinuxParameters)
	}
	if want := []string{"scan", "--output", "s3://${FindingsBucket}/ecsaudit"}; !slices.Equal(c.Command, want) {
		t.Errorf("Command = %q, want %q", c.Command, want)
	}
	if c.Image != "${Repository.RepositoryUri}:v1.2.3" {
		t.Errorf("Image = %q, want the stack's repository at ImageTag", c.Image)
	}

	// /tmp is the only writable path: a task volume without a host path
	// (Fargate ephemeral storage), mounted read-write.
	if len(c.MountPoints) != 1 || deref(c.MountPoints[0].ContainerPath) != "/tmp" || isTrue(c.MountPoints[0].ReadOnly) {
		t.Fatalf("MountPoints = %+v, want one writable /tmp", c.MountPoints)
	}
	volume := deref(c.MountPoints[0].SourceVolume)
	i := slices.IndexFunc(td.Volumes, func(v ecs.TaskDefinition_Volume) bool { return deref(v.Name) == volume })
	if i < 0 {
		t.Fatalf("mount source %q is not a volume of the task", volume)
	}
	if v := td.Volumes[i]; v.Host != nil || v.EFSVolumeConfiguration != nil || v.DockerVolumeConfiguration != nil {
		t.Errorf("volume %q = %+v, want task ephemeral storage (no host path, EFS or Docker volume)", volume, v)
	}

	env := map[string]string{}
	for _, kv := range c.Environment {
		if kv.Name != nil {
			env[*kv.Name] = deref(kv.Value)
		}
	}
	want := map[string]string{
		"ECSAUDIT_ROLE_NAME":             "ecsaudit-read",
		"ECSAUDIT_SSE_KMS_KEY_ID":        "${Key.Arn}",
		"ECSAUDIT_EXPECTED_BUCKET_OWNER": "${AWS::AccountId}",
		"TMPDIR":                         "/tmp",
	}
	if !jsonEqual(env, want) {
		t.Errorf("environment =\n%s\nwant\n%s", mustJSON(env), mustJSON(want))
	}
	withExt := jobContainer(t, render(t, "job.yaml", map[string]any{"ExternalId": "ecsaudit-7f3a"}))
	if !slices.ContainsFunc(withExt.Environment, func(kv ecs.TaskDefinition_KeyValuePair) bool {
		return deref(kv.Name) == "ECSAUDIT_EXTERNAL_ID" && deref(kv.Value) == "ecsaudit-7f3a"
	}) {
		t.Errorf("with ExternalId the environment is %+v, want ECSAUDIT_EXTERNAL_ID", withExt.Environment)
	}

	logs := c.LogConfiguration
	if logs == nil || logs.LogDriver != "awslogs" || logs.Options["awslogs-group"] != "${LogGroup}" {
		t.Errorf("LogConfiguration = %+v, want awslogs to the stack's log group", logs)
	}
}
