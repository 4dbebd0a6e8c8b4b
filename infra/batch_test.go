package infra

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"

	"github.com/ecsaudit/ecsaudit/shard"
)

// jobExports returns what job.yaml exports when deployed as the stack
// stackName: export name to value, as render shows it.
func jobExports(t *testing.T, stackName string) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, o := range render(t, "job.yaml", nil).Outputs {
		if o.Export == nil {
			continue
		}
		name := strings.ReplaceAll(o.Export.Name, "${AWS::StackName}", stackName)
		if _, dup := out[name]; dup {
			t.Errorf("job.yaml exports %s twice", name)
		}
		out[name] = o.Value
	}
	return out
}

var importValue = regexp.MustCompile(`\$\{ImportValue:([^}]*)\}`)

// imports lists the export names a rendered template imports, sorted.
func imports(t *testing.T, tmpl *cloudformation.Template) []string {
	t.Helper()
	b, err := json.Marshal(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range importValue.FindAllStringSubmatch(string(b), -1) {
		if !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return names
}

// resolveImports replaces each Fn::ImportValue in s by the value the job
// stack exports under that name. An import the job stack does not export
// fails the test: CloudFormation would refuse to create the stack.
func resolveImports(t *testing.T, exports map[string]any, s string) string {
	t.Helper()
	return importValue.ReplaceAllStringFunc(s, func(m string) string {
		name := importValue.FindStringSubmatch(m)[1]
		v, ok := exports[name].(string)
		if !ok {
			t.Errorf("imports %s, which the job stack does not export as a string", name)
			return m
		}
		return v
	})
}

// TestBatchStackReusesJobStack checks the Batch stack references the job
// stack's data instead of duplicating it: its only resources are the
// Batch, schedule and alarm pieces, and it imports exactly the job stack's
// repository, output URL, key and task role, each of which job.yaml
// exports.
func TestBatchStackReusesJobStack(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "batch.yaml", nil)
	got := map[string]string{}
	for name, r := range tmpl.Resources {
		got[name] = r.AWSCloudFormationType()
	}
	want := map[string]string{
		"LogGroup":           "AWS::Logs::LogGroup",
		"ExecutionRole":      "AWS::IAM::Role",
		"ComputeEnvironment": "AWS::Batch::ComputeEnvironment",
		"JobQueue":           "AWS::Batch::JobQueue",
		"JobDefinition":      "AWS::Batch::JobDefinition",
		"DeadLetterQueue":    "AWS::SQS::Queue",
		"SchedulerRole":      "AWS::IAM::Role",
		"Schedule":           "AWS::Scheduler::Schedule",
		"AlarmTopic":         "AWS::SNS::Topic",
		"AlarmTopicPolicy":   "AWS::SNS::TopicPolicy",
		"ArrayJobFailedRule": "AWS::Events::Rule",
		"DeadLetterAlarm":    "AWS::CloudWatch::Alarm",
	}
	if !jsonEqual(got, want) {
		t.Errorf("resources =\n%s\nwant\n%s\n(no bucket, key, repository, Glue or Athena: those are the job stack's)", mustJSON(got), mustJSON(want))
	}

	exports := jobExports(t, "ecsaudit")
	names := imports(t, tmpl)
	wantImports := []string{"ecsaudit-KeyArn", "ecsaudit-OutputUrl", "ecsaudit-RepositoryArn", "ecsaudit-RepositoryUri", "ecsaudit-TaskRoleArn"}
	if !slices.Equal(names, wantImports) {
		t.Errorf("imports %q, want %q", names, wantImports)
	}
	for _, name := range names {
		if _, ok := exports[name]; !ok {
			t.Errorf("imports %s, which job.yaml does not export", name)
		}
	}
}

// TestBatchComputeEnvironmentAndQueue checks the compute: a managed
// Fargate (or Fargate Spot) environment on the given subnets and security
// groups, capped at MaxvCpus, with Batch's service-linked role; one queue
// on it; and defaults that let every shard run at once.
func TestBatchComputeEnvironmentAndQueue(t *testing.T) {
	t.Parallel()
	for _, computeType := range []string{"FARGATE", "FARGATE_SPOT"} {
		tmpl := render(t, "batch.yaml", map[string]any{"ComputeType": computeType, "MaxvCpus": 64})
		ce, err := tmpl.GetBatchComputeEnvironmentWithName("ComputeEnvironment")
		if err != nil {
			t.Fatal(err)
		}
		r := ce.ComputeResources
		if ce.Type != "MANAGED" || r == nil || r.Type != computeType || r.MaxvCpus != 64 {
			t.Fatalf("compute environment %s %+v, want MANAGED %s with MaxvCpus 64", ce.Type, r, computeType)
		}
		if ce.ServiceRole != nil {
			t.Errorf("ServiceRole = %q, want Batch's service-linked role", *ce.ServiceRole)
		}
		if !slices.Equal(r.Subnets, []string{"subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"}) || !slices.Equal(r.SecurityGroupIds, []string{"sg-0cccccccccccccccc"}) {
			t.Errorf("network %q %q, want the SubnetIds and SecurityGroupIds parameters", r.Subnets, r.SecurityGroupIds)
		}
		if r.InstanceRole != nil || len(r.InstanceTypes) > 0 || r.MinvCpus != nil || r.DesiredvCpus != nil || r.LaunchTemplate != nil {
			t.Errorf("compute resources %+v set EC2-only fields", r)
		}
		q, err := tmpl.GetBatchJobQueueWithName("JobQueue")
		if err != nil {
			t.Fatal(err)
		}
		if deref(q.State) != "ENABLED" || len(q.ComputeEnvironmentOrder) != 1 || q.ComputeEnvironmentOrder[0].ComputeEnvironment != "${ComputeEnvironment}" {
			t.Errorf("job queue %+v, want enabled on this stack's compute environment only", q)
		}
	}

	tmpl, err := parse(templateBytes(t, "batch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	number := func(name string) float64 {
		n, err := strconv.ParseFloat(fmt.Sprint(tmpl.Parameters[name].Default), 64)
		if err != nil {
			t.Fatalf("%s default %v: %v", name, tmpl.Parameters[name].Default, err)
		}
		return n
	}
	if size, vcpu, max := number("ArraySize"), number("JobVcpu"), number("MaxvCpus"); size*vcpu > max {
		t.Errorf("defaults: %v shards x %v vCPU > MaxvCpus %v, so shards would queue", size, vcpu, max)
	}
}

// TestBatchScheduleSubmitsArrayJob checks the nightly schedule calls
// batch:SubmitJob through Scheduler's universal target with this stack's
// queue and job definition and an array of ArraySize shards (bounded like
// --shard), at the expression and time zone given, retrying and
// dead-lettering a failed submission like the job stack's schedule.
func TestBatchScheduleSubmitsArrayJob(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		params map[string]any
		size   int
	}{
		{nil, 10},
		{map[string]any{"ArraySize": 250}, 250},
	} {
		tmpl := render(t, "batch.yaml", tc.params)
		schedules := tmpl.GetAllSchedulerScheduleResources()
		if len(schedules) != 1 {
			t.Fatalf("%d schedules, want 1", len(schedules))
		}
		for _, s := range schedules {
			if s.ScheduleExpression != "cron(0 2 * * ? *)" || deref(s.ScheduleExpressionTimezone) != "UTC" || deref(s.State) != "ENABLED" {
				t.Errorf("schedule %q in %q, %q: want the parameters' defaults", s.ScheduleExpression, deref(s.ScheduleExpressionTimezone), deref(s.State))
			}
			if s.FlexibleTimeWindow == nil || s.FlexibleTimeWindow.Mode != "OFF" {
				t.Errorf("FlexibleTimeWindow = %+v, want OFF", s.FlexibleTimeWindow)
			}
			target := s.Target
			if target.Arn != "arn:${AWS::Partition}:scheduler:::aws-sdk:batch:submitJob" || target.RoleArn != "${SchedulerRole.Arn}" {
				t.Errorf("target %s as %s, want the universal batch:submitJob target as the scheduler role", target.Arn, target.RoleArn)
			}
			if target.EcsParameters != nil || target.SqsParameters != nil || target.EventBridgeParameters != nil {
				t.Errorf("target %+v has templated-target parameters", target)
			}
			var input any
			if err := json.Unmarshal([]byte(deref(target.Input)), &input); err != nil {
				t.Fatalf("Input %q is not JSON: %v", deref(target.Input), err)
			}
			want := map[string]any{
				"JobName":         "${AWS::StackName}",
				"JobQueue":        "${JobQueue.JobQueueArn}",
				"JobDefinition":   "${JobDefinition.JobDefinitionArn}",
				"ArrayProperties": map[string]any{"Size": tc.size},
			}
			if !jsonEqual(input, want) {
				t.Errorf("SubmitJob input =\n%s\nwant\n%s", mustJSON(input), mustJSON(want))
			}
			if r := target.RetryPolicy; r == nil || r.MaximumRetryAttempts == nil || *r.MaximumRetryAttempts < 1 {
				t.Errorf("RetryPolicy = %+v, want retries", r)
			}
			if dlq := target.DeadLetterConfig; dlq == nil || deref(dlq.Arn) != "${DeadLetterQueue.Arn}" {
				t.Errorf("DeadLetterConfig = %+v, want the stack's dead-letter queue", dlq)
			}
		}
	}

	tmpl, err := parse(templateBytes(t, "batch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := tmpl.Parameters["ArraySize"]
	if p.Type != "Number" || p.MinValue == nil || *p.MinValue != 2 || p.MaxValue == nil || *p.MaxValue != shard.MaxCount {
		t.Errorf("ArraySize %s in [%v, %v], want a Number in [2, %d] (an array job has 2 to %d children)", p.Type, p.MinValue, p.MaxValue, shard.MaxCount, shard.MaxCount)
	}
}

// TestBatchRoles checks the Batch stack's two roles grant exactly what
// they need, with no wildcard resource: the scheduler role submits jobs
// only to this queue with this job definition and writes its dead
// letters; the execution role pulls from the job stack's repository and
// writes to this stack's log group.
func TestBatchRoles(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "batch.yaml", nil)

	trust, identity := rolePolicies(t, tmpl, "SchedulerRole")
	assertServiceTrust(t, trust, "scheduler.amazonaws.com")
	grants := allowed(t, identity...)
	wantScheduler := map[string]grant{
		"batch:SubmitJob": {Resources: []string{"${JobDefinition.JobDefinitionArn}", "${JobQueue.JobQueueArn}"}},
		"sqs:SendMessage": {Resources: []string{"${DeadLetterQueue.Arn}"}},
	}
	if !jsonEqual(grants, wantScheduler) {
		t.Errorf("scheduler role grants =\n%s\nwant\n%s", mustJSON(grants), mustJSON(wantScheduler))
	}
	for action, g := range grants {
		for _, r := range g.Resources {
			if strings.Contains(r, "*") {
				t.Errorf("scheduler role: %s on %q", action, r)
			}
		}
	}

	trust, identity = rolePolicies(t, tmpl, "ExecutionRole")
	assertServiceTrust(t, trust, "ecs-tasks.amazonaws.com")
	repo := "${ImportValue:ecsaudit-RepositoryArn}"
	wantExec := map[string]grant{
		"ecr:GetAuthorizationToken":       {Resources: []string{"*"}},
		"ecr:BatchCheckLayerAvailability": {Resources: []string{repo}},
		"ecr:BatchGetImage":               {Resources: []string{repo}},
		"ecr:GetDownloadUrlForLayer":      {Resources: []string{repo}},
		"logs:CreateLogStream":            {Resources: []string{"${LogGroup.Arn}"}},
		"logs:PutLogEvents":               {Resources: []string{"${LogGroup.Arn}"}},
	}
	if got := allowed(t, identity...); !jsonEqual(got, wantExec) {
		t.Errorf("execution role grants =\n%s\nwant\n%s", mustJSON(got), mustJSON(wantExec))
	}
	if got := resolveImports(t, jobExports(t, "ecsaudit"), repo); got != "${Repository.Arn}" {
		t.Errorf("the execution role pulls from %q, want the job stack's ${Repository.Arn}", got)
	}
}

// TestBatchFailedRunAlarm checks that a failed array job of this queue
// (only the parent carries arrayProperties.size) and a non-empty
// dead-letter queue notify the alarm topic, which the topic's policy
// allows, and that the topic is encrypted with the job stack's key, whose
// policy lets both publishers use it.
func TestBatchFailedRunAlarm(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "batch.yaml", nil)
	rule, err := tmpl.GetEventsRuleWithName("ArrayJobFailedRule")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"source":      []any{"aws.batch"},
		"detail-type": []any{"Batch Job State Change"},
		"detail": map[string]any{
			"jobQueue":        []any{"${JobQueue.JobQueueArn}"},
			"status":          []any{"FAILED"},
			"arrayProperties": map[string]any{"size": []any{map[string]any{"exists": true}}},
		},
	}
	if !jsonEqual(rule.EventPattern, want) {
		t.Errorf("event pattern =\n%s\nwant\n%s", mustJSON(rule.EventPattern), mustJSON(want))
	}
	checkTopicTarget(t, tmpl, "ArrayJobFailedRule", rule)

	alarm, err := tmpl.GetCloudWatchAlarmWithName("DeadLetterAlarm")
	if err != nil {
		t.Fatal(err)
	}
	if len(alarm.Dimensions) != 1 || alarm.Dimensions[0].Value != "${DeadLetterQueue.QueueName}" || !slices.Equal(alarm.AlarmActions, []string{"${AlarmTopic}"}) {
		t.Errorf("dead-letter alarm watches %+v and notifies %q, want the queue and the alarm topic", alarm.Dimensions, alarm.AlarmActions)
	}

	topic, err := tmpl.GetSNSTopicWithName("AlarmTopic")
	if err != nil {
		t.Fatal(err)
	}
	if got := resolveImports(t, jobExports(t, "ecsaudit"), deref(topic.KmsMasterKeyId)); got != "${Key.Arn}" {
		t.Errorf("alarm topic key resolves to %q, want the job stack's ${Key.Arn}", got)
	}
	var keyDocs []policyDocument
	for _, p := range policies(t, render(t, "job.yaml", nil)) {
		if p.Kind == keyPolicy {
			keyDocs = append(keyDocs, p.Doc)
		}
	}
	for _, service := range []string{"events.amazonaws.com", "cloudwatch.amazonaws.com"} {
		ok := false
		for _, d := range keyDocs {
			for _, s := range d.Statement {
				p, _ := s.Principal.(map[string]any)
				services, _ := p["Service"].([]any)
				if s.Effect == "Allow" && slices.Contains(services, any(service)) &&
					slices.Contains(s.Action, "kms:GenerateDataKey") && slices.Contains(s.Action, "kms:Decrypt") {
					ok = true
				}
			}
		}
		if !ok {
			t.Errorf("the job stack's key policy does not let %s encrypt to the alarm topic", service)
		}
	}
}
