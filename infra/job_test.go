package infra

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/events"
	cfnpolicies "github.com/awslabs/goformation/v7/cloudformation/policies"
	"github.com/awslabs/goformation/v7/cloudformation/s3"
)

// TestBucketsAreEncryptedPrivateAndTLSOnly checks every bucket of every
// template: default SSE-KMS with the stack's key, all public access
// blocked, ACLs disabled, incomplete multipart uploads aborted, kept when
// the stack goes, and a bucket policy on that very bucket that denies
// anything not over TLS.
func TestBucketsAreEncryptedPrivateAndTLSOnly(t *testing.T) {
	t.Parallel()
	found := 0
	for _, name := range templateNames(t) {
		tmpl := render(t, name, nil)
		for logical, b := range tmpl.GetAllS3BucketResources() {
			found++
			t.Run(name+"/"+logical, func(t *testing.T) {
				t.Parallel()
				checkBucket(t, tmpl, logical, b)
			})
		}
	}
	if found == 0 {
		t.Fatal("no buckets found: the job stack's findings bucket is gone")
	}
}

func checkBucket(t *testing.T, tmpl *cloudformation.Template, logical string, b *s3.Bucket) {
	if b.BucketEncryption == nil || len(b.BucketEncryption.ServerSideEncryptionConfiguration) == 0 {
		t.Fatal("no default encryption")
	}
	for _, rule := range b.BucketEncryption.ServerSideEncryptionConfiguration {
		d := rule.ServerSideEncryptionByDefault
		if d == nil || d.SSEAlgorithm != "aws:kms" {
			t.Errorf("default encryption %+v, want aws:kms", d)
			continue
		}
		keyRef, _ := strings.CutSuffix(strings.TrimPrefix(deref(d.KMSMasterKeyID), "${"), ".Arn}")
		if _, err := tmpl.GetKMSKeyWithName(keyRef); err != nil {
			t.Errorf("KMSMasterKeyID %q is not the ARN of a KMS key of this stack", deref(d.KMSMasterKeyID))
		}
	}
	p := b.PublicAccessBlockConfiguration
	if p == nil || !isTrue(p.BlockPublicAcls) || !isTrue(p.BlockPublicPolicy) || !isTrue(p.IgnorePublicAcls) || !isTrue(p.RestrictPublicBuckets) {
		t.Errorf("PublicAccessBlockConfiguration = %+v, want all four true", p)
	}
	if o := b.OwnershipControls; o == nil || len(o.Rules) != 1 || deref(o.Rules[0].ObjectOwnership) != "BucketOwnerEnforced" {
		t.Errorf("OwnershipControls = %+v, want BucketOwnerEnforced (no ACLs)", o)
	}
	aborts := false
	if b.LifecycleConfiguration != nil {
		for _, r := range b.LifecycleConfiguration.Rules {
			if r.Status == "Enabled" && r.Prefix == nil && r.AbortIncompleteMultipartUpload != nil && r.AbortIncompleteMultipartUpload.DaysAfterInitiation > 0 {
				aborts = true
			}
		}
	}
	if !aborts {
		t.Error("no lifecycle rule aborts incomplete multipart uploads bucket-wide")
	}
	if b.AWSCloudFormationDeletionPolicy != cfnpolicies.DeletionPolicy("Retain") {
		t.Errorf("DeletionPolicy = %q, want Retain: deleting the stack must not delete the findings", b.AWSCloudFormationDeletionPolicy)
	}

	tlsOnly := false
	for _, bp := range tmpl.GetAllS3BucketPolicyResources() {
		if bp.Bucket != "${"+logical+"}" {
			continue
		}
		doc, err := decodePolicy(bp.PolicyDocument)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range doc.Statement {
			if s.Effect == "Deny" && s.Principal == "*" &&
				slices.Equal(s.Action, []string{"s3:*"}) &&
				slices.Equal(slices.Sorted(slices.Values(s.Resource)), []string{"${" + logical + ".Arn}", "${" + logical + ".Arn}/*"}) &&
				jsonEqual(s.Condition, map[string]map[string]any{"Bool": {"aws:SecureTransport": "false"}}) {
				tlsOnly = true
			}
		}
	}
	if !tlsOnly {
		t.Error("no bucket policy on this bucket denies s3:* on it and its objects without aws:SecureTransport")
	}
}

// TestJobRepositoryLogsAndKey checks the image repository (immutable tags,
// scan on push), the log group's retention and the key's rotation.
func TestJobRepositoryLogsAndKey(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "job.yaml", nil)
	repo, err := tmpl.GetECRRepositoryWithName("Repository")
	if err != nil {
		t.Fatal(err)
	}
	if deref(repo.ImageTagMutability) != "IMMUTABLE" {
		t.Errorf("ImageTagMutability = %q, want IMMUTABLE (a deployed tag must not change under the task)", deref(repo.ImageTagMutability))
	}
	if repo.ImageScanningConfiguration == nil || !isTrue(repo.ImageScanningConfiguration.ScanOnPush) {
		t.Error("ScanOnPush is not enabled")
	}
	for name, lg := range tmpl.GetAllLogsLogGroupResources() {
		if lg.RetentionInDays == nil || *lg.RetentionInDays <= 0 {
			t.Errorf("log group %s keeps logs forever", name)
		}
	}
	for name, k := range tmpl.GetAllKMSKeyResources() {
		if !isTrue(k.EnableKeyRotation) {
			t.Errorf("key %s does not rotate", name)
		}
		if k.AWSCloudFormationDeletionPolicy != cfnpolicies.DeletionPolicy("Retain") {
			t.Errorf("key %s is deleted with the stack: the findings it encrypts would become unreadable", name)
		}
	}
}

// TestScheduleRunsJobTask checks the nightly schedule: it starts the job's
// own task definition, on Fargate in the job's cluster with the subnets and
// security groups given, retries and dead-letters failed starts, and an
// alarm watches the dead letters.
func TestScheduleRunsJobTask(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "job.yaml", nil)
	schedules := tmpl.GetAllSchedulerScheduleResources()
	if len(schedules) != 1 {
		t.Fatalf("%d schedules, want 1", len(schedules))
	}
	for _, s := range schedules {
		if s.ScheduleExpression != "cron(0 2 * * ? *)" || deref(s.ScheduleExpressionTimezone) != "UTC" {
			t.Errorf("schedule %q in %q, want the parameters' defaults", s.ScheduleExpression, deref(s.ScheduleExpressionTimezone))
		}
		if deref(s.State) != "ENABLED" {
			t.Errorf("State = %q, want ENABLED by default", deref(s.State))
		}
		if s.FlexibleTimeWindow == nil || s.FlexibleTimeWindow.Mode != "OFF" {
			t.Errorf("FlexibleTimeWindow = %+v, want OFF", s.FlexibleTimeWindow)
		}
		target := s.Target
		if target == nil || target.EcsParameters == nil {
			t.Fatal("schedule has no ECS target")
		}
		if target.Arn != "${Cluster.Arn}" {
			t.Errorf("target Arn = %q, want the job's cluster", target.Arn)
		}
		if target.RoleArn != "${SchedulerRole.Arn}" {
			t.Errorf("target RoleArn = %q, want the scheduler role", target.RoleArn)
		}
		ecs := target.EcsParameters
		if ecs.TaskDefinitionArn != "${"+jobTaskDefinition+"}" {
			t.Errorf("TaskDefinitionArn = %q, want the job's task definition", ecs.TaskDefinitionArn)
		}
		if deref(ecs.LaunchType) != "FARGATE" || ecs.TaskCount == nil || *ecs.TaskCount != 1 {
			t.Errorf("LaunchType %q, TaskCount %v: want one Fargate task", deref(ecs.LaunchType), ecs.TaskCount)
		}
		vpc := ecs.NetworkConfiguration
		if vpc == nil || vpc.AwsvpcConfiguration == nil {
			t.Fatal("no awsvpc network configuration")
		}
		net := vpc.AwsvpcConfiguration
		if !slices.Equal(net.Subnets, []string{"subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"}) ||
			!slices.Equal(net.SecurityGroups, []string{"sg-0cccccccccccccccc"}) ||
			deref(net.AssignPublicIp) != "DISABLED" {
			t.Errorf("awsvpc = %+v, want the SubnetIds and SecurityGroupIds parameters and no public IP", net)
		}
		if r := target.RetryPolicy; r == nil || r.MaximumRetryAttempts == nil || *r.MaximumRetryAttempts < 1 {
			t.Errorf("RetryPolicy = %+v, want retries", r)
		}
		dlq := target.DeadLetterConfig
		if dlq == nil || deref(dlq.Arn) != "${DeadLetterQueue.Arn}" {
			t.Errorf("DeadLetterConfig = %+v, want the stack's dead-letter queue", dlq)
		}
		if _, err := tmpl.GetSQSQueueWithName("DeadLetterQueue"); err != nil {
			t.Error(err)
		}
	}
	alarm, err := tmpl.GetCloudWatchAlarmWithName("DeadLetterAlarm")
	if err != nil {
		t.Fatal(err)
	}
	if len(alarm.Dimensions) != 1 || alarm.Dimensions[0].Value != "${DeadLetterQueue.QueueName}" || !slices.Equal(alarm.AlarmActions, []string{"${AlarmTopic}"}) {
		t.Errorf("dead-letter alarm watches %+v and notifies %q, want the queue and the alarm topic", alarm.Dimensions, alarm.AlarmActions)
	}
}

// TestFailedRunAlarm checks the EventBridge rule that turns a stopped job
// task with a non-zero exit code of the job's container into a message on
// the alarm topic, and that the topic lets that rule publish.
func TestFailedRunAlarm(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "job.yaml", nil)
	rule, err := tmpl.GetEventsRuleWithName("TaskFailedRule")
	if err != nil {
		t.Fatal(err)
	}
	container := jobContainer(t, tmpl).Name
	want := map[string]any{
		"source":      []any{"aws.ecs"},
		"detail-type": []any{"ECS Task State Change"},
		"detail": map[string]any{
			"clusterArn": []any{"${Cluster.Arn}"},
			"lastStatus": []any{"STOPPED"},
			"containers": map[string]any{
				"name":     []any{container},
				"exitCode": []any{map[string]any{"anything-but": 0}},
			},
		},
	}
	if !jsonEqual(rule.EventPattern, want) {
		t.Errorf("event pattern =\n%s\nwant\n%s", mustJSON(rule.EventPattern), mustJSON(want))
	}
	checkTopicTarget(t, tmpl, "TaskFailedRule", rule)

	notStarted, err := tmpl.GetEventsRuleWithName("TaskNotStartedRule")
	if err != nil {
		t.Fatal(err)
	}
	checkTopicTarget(t, tmpl, "TaskNotStartedRule", notStarted)
}

func checkTopicTarget(t *testing.T, tmpl *cloudformation.Template, logical string, rule *events.Rule) {
	t.Helper()
	if len(rule.Targets) != 1 || rule.Targets[0].Arn != "${AlarmTopic}" {
		t.Fatalf("%s targets %+v, want the alarm topic", logical, rule.Targets)
	}
	if it := rule.Targets[0].InputTransformer; it != nil {
		var s string
		if err := json.Unmarshal([]byte(it.InputTemplate), &s); err != nil {
			t.Errorf("%s InputTemplate %q is not a JSON string: %v", logical, it.InputTemplate, err)
		}
	}
	allowedToPublish := false
	for _, tp := range tmpl.GetAllSNSTopicPolicyResources() {
		if !slices.Contains(tp.Topics, "${AlarmTopic}") {
			continue
		}
		doc, err := decodePolicy(tp.PolicyDocument)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range doc.Statement {
			p, _ := s.Principal.(map[string]any)
			sources, _ := s.Condition["ArnEquals"]["aws:SourceArn"].([]any)
			if s.Effect == "Allow" && p["Service"] == "events.amazonaws.com" && slices.Equal(s.Action, []string{"sns:Publish"}) &&
				slices.Contains(sources, any("${"+logical+".Arn}")) {
				allowedToPublish = true
			}
		}
	}
	if !allowedToPublish {
		t.Errorf("the alarm topic's policy does not let %s publish", logical)
	}
}

// TestAthenaWorkGroup checks the workgroup forces its result location,
// inside the findings bucket and encrypted with the stack's key.
func TestAthenaWorkGroup(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "job.yaml", nil)
	wg, err := tmpl.GetAthenaWorkGroupWithName("AthenaWorkGroup")
	if err != nil {
		t.Fatal(err)
	}
	c := wg.WorkGroupConfiguration
	if c == nil || !isTrue(c.EnforceWorkGroupConfiguration) {
		t.Fatal("EnforceWorkGroupConfiguration is not true: clients could send results anywhere")
	}
	r := c.ResultConfiguration
	if r == nil || deref(r.OutputLocation) != "s3://${FindingsBucket}/athena-results/" {
		t.Errorf("ResultConfiguration = %+v, want s3://${FindingsBucket}/athena-results/", r)
	}
	if r == nil || r.EncryptionConfiguration == nil || r.EncryptionConfiguration.EncryptionOption != "SSE_KMS" || deref(r.EncryptionConfiguration.KmsKey) != "${Key.Arn}" {
		t.Errorf("result encryption = %+v, want SSE_KMS with the stack's key", r.EncryptionConfiguration)
	}
	if c.BytesScannedCutoffPerQuery == nil {
		t.Error("no BytesScannedCutoffPerQuery")
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func isTrue(p *bool) bool { return p != nil && *p }
