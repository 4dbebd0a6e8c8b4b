package infra

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/batch"

	"github.com/ecsaudit/ecsaudit/check"
)

// batchJobDefinition is the logical id of the Batch stack's job definition.
const batchJobDefinition = "JobDefinition"

// batchJob returns the Batch stack's job definition, which must have
// ContainerProperties.
func batchJob(t *testing.T, tmpl *cloudformation.Template) *batch.JobDefinition {
	t.Helper()
	jd, err := tmpl.GetBatchJobDefinitionWithName(batchJobDefinition)
	if err != nil {
		t.Fatal(err)
	}
	if jd.ContainerProperties == nil {
		t.Fatal("job definition has no ContainerProperties")
	}
	return jd
}

// batchToCheck converts a Batch job definition into the check package's
// input as ecsaudit would read the ECS task definition Batch registers for
// it: on Fargate the network mode is awsvpc, and the job's one container is
// named default.
func batchToCheck(t *testing.T, jd *batch.JobDefinition) check.TaskDefinition {
	t.Helper()
	if !slices.Equal(jd.PlatformCapabilities, []string{"FARGATE"}) || jd.Type != "container" {
		t.Fatalf("platform %q, type %q: want a FARGATE container job", jd.PlatformCapabilities, jd.Type)
	}
	c := jd.ContainerProperties
	return check.TaskDefinition{
		Family:      deref(jd.JobDefinitionName),
		NetworkMode: "awsvpc",
		Status:      "ACTIVE",
		Containers:  []check.Container{{Name: "default", Image: c.Image, Privileged: c.Privileged, User: c.User}},
	}
}

// TestBatchJobPassesItsOwnCheck runs the shards' job definition through
// the control ecsaudit audits, like TestJobTaskPassesItsOwnCheck: not
// applicable on Fargate (awsvpc), PASS with a user set were it on host
// networking, and FAIL once the converted fields say root or privileged,
// which shows the conversion carries what the rule reads.
func TestBatchJobPassesItsOwnCheck(t *testing.T) {
	t.Parallel()
	jd := batchJob(t, render(t, "batch.yaml", nil))
	asDeployed := batchToCheck(t, jd)
	asHost := asDeployed
	asHost.NetworkMode = "host"
	for _, opts := range []check.Options{
		{Compat: check.Control},
		{Compat: check.Control, UnsetUserFails: true},
		{Compat: check.AWSConfig},
	} {
		verdicts := check.Evaluate(asDeployed, opts)
		if len(verdicts) != 1 {
			t.Fatalf("%+v: %d verdicts, want 1", opts, len(verdicts))
		}
		for _, v := range verdicts {
			if v.Result != check.NotApplicable {
				t.Errorf("%+v: as deployed, %s (%s), want NOT_APPLICABLE", opts, v.Result, v.Reason)
			}
		}
		for _, v := range check.Evaluate(asHost, opts) {
			if v.Result != check.Pass || v.UserUnset {
				t.Errorf("%+v: with host networking, %s (%s, user unset %v), want PASS with a user set", opts, v.Result, v.Reason, v.UserUnset)
			}
		}
	}

	for _, mutate := range []func(*batch.JobDefinition_ContainerProperties){
		func(c *batch.JobDefinition_ContainerProperties) { c.User = cloudformation.String("0:65532") },
		func(c *batch.JobDefinition_ContainerProperties) { c.Privileged = cloudformation.Bool(true) },
	} {
		bad := *jd
		props := *jd.ContainerProperties
		mutate(&props)
		bad.ContainerProperties = &props
		td := batchToCheck(t, &bad)
		td.NetworkMode = "host"
		for _, v := range check.Evaluate(td, check.Options{Compat: check.Control}) {
			if v.Result != check.Fail {
				t.Errorf("mutated job definition: %s (%s), want FAIL", v.Result, v.Reason)
			}
		}
	}
}

// TestBatchJobRoleIsJobTaskRole proves every shard runs as the principal
// the scan roles trust. The job role is an import of the job stack's
// TaskRoleArn export, whatever JobStackName says; that export is the ARN
// of the job stack's TaskRole (the role TestJobTaskRole pins to
// JobTaskRoleName, path /, which TestScanRoleTrust's aws:PrincipalArn
// names), and that role may be assumed by ECS tasks, which is what Batch
// runs a Fargate job as. The Batch stack creates no role that could stand
// in for it and passes none.
func TestBatchJobRoleIsJobTaskRole(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"ecsaudit", "audit-prod"} {
		jd := batchJob(t, render(t, "batch.yaml", map[string]any{"JobStackName": stack}))
		role := deref(jd.ContainerProperties.JobRoleArn)
		if want := "${ImportValue:" + stack + "-TaskRoleArn}"; role != want {
			t.Errorf("JobStackName=%s: JobRoleArn = %q, want %q", stack, role, want)
		}
		if got := resolveImports(t, jobExports(t, stack), role); got != "${TaskRole.Arn}" {
			t.Errorf("JobStackName=%s: the job role resolves to %q, want the job stack's ${TaskRole.Arn}", stack, got)
		}
	}
	trust, _ := rolePolicies(t, render(t, "job.yaml", nil), "TaskRole")
	assertServiceTrust(t, trust, "ecs-tasks.amazonaws.com")

	tmpl := render(t, "batch.yaml", nil)
	if roles := sortedKeys(tmpl.GetAllIAMRoleResources()); !slices.Equal(roles, []string{"ExecutionRole", "SchedulerRole"}) {
		t.Errorf("Batch stack roles = %q, want only ExecutionRole and SchedulerRole", roles)
	}
	for _, p := range policies(t, tmpl) {
		for _, s := range p.Doc.Statement {
			if slices.Contains(s.Action, "iam:PassRole") {
				t.Errorf("%s %s policy allows iam:PassRole", p.Resource, p.Kind)
			}
		}
	}
}

// TestBatchJobRunsTheJobTask checks the shards run what the job stack's
// task runs, the imports resolved: the same image at ImageTag, command and
// environment (plus a grace that fits Batch's 30 s stop timeout), the same
// non-root user, read-only root filesystem and explicit non-privileged
// setting, /tmp as the only writable path on task storage, the same
// default size, and logs to this stack's log group; and that a shard is
// retried unless it exited 2 (usage) or 3 (complete, targets not scanned),
// within a timeout.
func TestBatchJobRunsTheJobTask(t *testing.T) {
	t.Parallel()
	exports := jobExports(t, "ecsaudit")
	resolve := func(s string) string { return resolveImports(t, exports, s) }
	jobTmpl := render(t, "job.yaml", nil)
	task, err := jobTmpl.GetECSTaskDefinitionWithName(jobTaskDefinition)
	if err != nil {
		t.Fatal(err)
	}
	job := jobContainer(t, jobTmpl)
	jd := batchJob(t, render(t, "batch.yaml", nil))
	c := jd.ContainerProperties

	if got := resolve(c.Image); got != job.Image {
		t.Errorf("image resolves to %q, want the job task's %q", got, job.Image)
	}
	var command []string
	for _, arg := range c.Command {
		command = append(command, resolve(arg))
	}
	if !slices.Equal(command, job.Command) {
		t.Errorf("command resolves to %q, want the job task's %q", command, job.Command)
	}
	env := map[string]string{}
	for _, kv := range c.Environment {
		env[deref(kv.Name)] = resolve(deref(kv.Value))
	}
	wantEnv := map[string]string{"ECSAUDIT_GRACE": "15s"}
	for _, kv := range job.Environment {
		wantEnv[deref(kv.Name)] = deref(kv.Value)
	}
	if !jsonEqual(env, wantEnv) {
		t.Errorf("environment resolves to\n%s\nwant the job task's plus ECSAUDIT_GRACE\n%s", mustJSON(env), mustJSON(wantEnv))
	}
	withExt := batchJob(t, render(t, "batch.yaml", map[string]any{"ExternalId": "ecsaudit-7f3a"})).ContainerProperties
	if !slices.ContainsFunc(withExt.Environment, func(kv batch.JobDefinition_Environment) bool {
		return deref(kv.Name) == "ECSAUDIT_EXTERNAL_ID" && deref(kv.Value) == "ecsaudit-7f3a"
	}) {
		t.Errorf("with ExternalId the environment is %+v, want ECSAUDIT_EXTERNAL_ID", withExt.Environment)
	}

	if deref(c.User) != "65532:65532" || deref(c.User) != deref(job.User) {
		t.Errorf("User = %q, want 65532:65532 like the job task", deref(c.User))
	}
	if !isTrue(c.ReadonlyRootFilesystem) {
		t.Error("root filesystem is writable")
	}
	if c.Privileged == nil || *c.Privileged {
		t.Errorf("Privileged = %s, want an explicit false", mustJSON(c.Privileged))
	}
	if c.LinuxParameters == nil || !isTrue(c.LinuxParameters.InitProcessEnabled) || len(c.LinuxParameters.Devices) > 0 {
		t.Errorf("LinuxParameters = %+v, want the init process like the job task and no devices", c.LinuxParameters)
	}
	if len(c.MountPoints) != 1 || deref(c.MountPoints[0].ContainerPath) != "/tmp" || isTrue(c.MountPoints[0].ReadOnly) {
		t.Fatalf("MountPoints = %+v, want one writable /tmp", c.MountPoints)
	}
	volume := deref(c.MountPoints[0].SourceVolume)
	i := slices.IndexFunc(c.Volumes, func(v batch.JobDefinition_Volumes) bool { return deref(v.Name) == volume })
	if i < 0 {
		t.Fatalf("mount source %q is not a volume of the job", volume)
	}
	if v := c.Volumes[i]; v.Host != nil || v.EfsVolumeConfiguration != nil {
		t.Errorf("volume %q = %+v, want Fargate task storage (no host path, no EFS)", volume, v)
	}

	size := map[string]string{}
	for _, r := range c.ResourceRequirements {
		size[deref(r.Type)] = deref(r.Value)
	}
	vcpu, err := strconv.ParseFloat(size["VCPU"], 64)
	if err != nil || strconv.Itoa(int(vcpu*1024)) != deref(task.Cpu) || size["MEMORY"] != deref(task.Memory) {
		t.Errorf("resources %v, want the job task's default %s CPU units and %s MiB", size, deref(task.Cpu), deref(task.Memory))
	}
	if p := c.RuntimePlatform; p == nil || deref(p.OperatingSystemFamily) != "LINUX" || deref(p.CpuArchitecture) != "X86_64" {
		t.Errorf("RuntimePlatform = %+v, want LINUX on the CpuArchitecture parameter", p)
	}
	if n := c.NetworkConfiguration; n == nil || deref(n.AssignPublicIp) != "DISABLED" {
		t.Errorf("NetworkConfiguration = %+v, want no public IP by default", n)
	}
	if deref(c.ExecutionRoleArn) != "${ExecutionRole.Arn}" {
		t.Errorf("ExecutionRoleArn = %q, want this stack's ExecutionRole", deref(c.ExecutionRoleArn))
	}
	logs := c.LogConfiguration
	opts, _ := logs.Options.(map[string]any)
	if logs == nil || logs.LogDriver != "awslogs" || opts["awslogs-group"] != "${LogGroup}" {
		t.Errorf("LogConfiguration = %+v, want awslogs to this stack's log group", logs)
	}

	if jd.Timeout == nil || jd.Timeout.AttemptDurationSeconds == nil || *jd.Timeout.AttemptDurationSeconds != 14400 {
		t.Errorf("Timeout = %+v, want ShardTimeoutSeconds' default 14400", jd.Timeout)
	}
	r := jd.RetryStrategy
	if r == nil || r.Attempts == nil || *r.Attempts < 2 {
		t.Fatalf("RetryStrategy = %+v, want retries", r)
	}
	var exits []string
	for _, e := range r.EvaluateOnExit {
		if !strings.EqualFold(e.Action, "EXIT") || e.OnReason != nil || e.OnStatusReason != nil {
			t.Errorf("EvaluateOnExit %+v: want only EXIT on an exit code (everything else retries)", e)
		}
		exits = append(exits, deref(e.OnExitCode))
	}
	if slices.Sort(exits); !slices.Equal(exits, []string{"2", "3", "5"}) {
		t.Errorf("exits without retry on %q, want exactly 2 (usage), 3 (complete, targets not scanned) and 5 (the run's shards disagree)", exits)
	}
}
