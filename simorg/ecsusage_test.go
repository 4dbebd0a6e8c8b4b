package simorg

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// TestUsageBucketsAreTheirOwn: ListClusters, ListServices,
// DescribeServices, ListTasks and DescribeTasks each have a bucket, apart
// from the task-definition reads' and from each other's.
func TestUsageBucketsAreTheirOwn(t *testing.T) {
	t.Parallel()
	stopped := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	srv := start(t, Default(), Options{ECSLimit: Limit{Burst: 2, Rate: 0.5}, Clock: func() time.Time { return stopped }})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1", noRetries))
	ctx := context.Background()
	for range 2 {
		if err := listOnce(client); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, listOnce(client), "ThrottlingException") // the task-definition bucket is empty
	for range 2 {
		if _, err := client.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
			t.Fatalf("ListClusters with its own bucket full: %v", err)
		}
	}
	_, err := client.ListClusters(ctx, &ecs.ListClustersInput{})
	wantCode(t, err, "ThrottlingException")
	if _, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("payments")}); err != nil {
		t.Errorf("ListTasks after ListClusters emptied its bucket: %v", err)
	}
	st := srv.Stats()
	if st.Throttled["ListClusters"] != 1 || st.Throttled["ListTaskDefinitions"] != 1 || st.MaxECSPerSecond[Target{"333333333333", "us-east-1"}] != 3 {
		t.Errorf("Throttled = %v, MaxECSPerSecond = %v", st.Throttled, st.MaxECSPerSecond)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1", noRetries))
	ctx := context.Background()
	_, err := client.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("nope")})
	wantCode(t, err, "ClusterNotFoundException")
	eleven := make([]string, 11)
	for i := range eleven {
		eleven[i] = "payments-api"
	}
	_, err = client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("payments"), Services: eleven})
	wantCode(t, err, "InvalidParameterException")
	out, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("payments"), Services: []string{"gone", "payments-api"}})
	if err != nil || len(out.Services) != 1 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Fatalf("DescribeServices: %+v, %v", out, err)
	}
	if s := out.Services[0]; aws.ToString(s.TaskDefinition) != "arn:aws:ecs:us-east-1:333333333333:task-definition/payments-api:3" ||
		len(s.Deployments) != 2 || s.DesiredCount != 3 || s.RunningCount != 4 {
		t.Errorf("payments-api: %+v", s)
	}
	// The standalone task's override carries the planted secret, as
	// DescribeTasks really returns it: the reader must leave it behind.
	list, err := client.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("payments")})
	if err != nil || len(list.TaskArns) != 9 {
		t.Fatalf("ListTasks: %v tasks, %v; want 9", len(list.TaskArns), err)
	}
	tasks, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("payments"), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	planted := 0
	for _, tk := range tasks.Tasks {
		for _, o := range tk.Overrides.ContainerOverrides {
			for _, e := range o.Environment {
				if strings.Contains(aws.ToString(e.Value), PlantedSecret) {
					planted++
				}
			}
		}
	}
	if planted != 1 {
		t.Errorf("planted secret in %d task overrides, want 1", planted)
	}
}

func TestFixtureClustersNameRealRevisions(t *testing.T) {
	t.Parallel()
	f := `{"organizationId": "o-abcdefghij", "managementAccountId": "111111111111", "regions": [{"name": "us-east-1"}],
	 "accounts": [{"id": "111111111111", "name": "m",
	   "taskDefinitions": {"us-east-1": [{"family": "a", "revision": 1, "containers": [{"name": "c", "image": "i", "expect": "PASS"}]}]},
	   "clusters": {"us-east-1": [{"name": "c1", "services": [{"name": "s", "deployments": [{"status": "ACTIVE", "taskDefinition": "a:2"}]}],
	     "tasks": [{"taskDefinition": "b:1"}]}]}}]}`
	_, err := Parse([]byte(f))
	for _, want := range []string{`"a:2" is not a revision`, `"b:1" is not a revision`, "want exactly one PRIMARY deployment"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %s", err, want)
		}
	}
}
