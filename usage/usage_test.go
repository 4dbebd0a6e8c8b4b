package usage_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/internal/simtest"
	"github.com/ecsaudit/ecsaudit/simorg"
	"github.com/ecsaudit/ecsaudit/usage"
)

// ecsClient returns a real ECS client in the account's region, with the
// role's credentials, as the job builds it.
func ecsClient(t *testing.T, srv *simorg.Server, account, region string, b *operations) *ecs.Client {
	t.Helper()
	cfg, err := srv.ClientConfig(context.Background(), region)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = assume.Credentials(sts.NewFromConfig(cfg), "aws", account, assume.Options{RoleName: "ecsaudit-read", SessionName: assume.SessionName("usage-test")})
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		if b != nil {
			o.APIOptions = append(o.APIOptions, b.Attach)
		}
	})
}

// operations counts a client's operations by name, once each whatever its
// retries: pagination and batching decide the operations, while a loaded
// machine can add attempts (a connection closed under the race detector
// was retried once in a few hundred runs).
type operations struct {
	mu sync.Mutex
	n  map[string]int64
}

func newOperations() *operations { return &operations{n: map[string]int64{}} }

// Attach counts in the Finalize step before the retry loop: once an
// operation.
func (o *operations) Attach(stack *middleware.Stack) error {
	return stack.Finalize.Insert(o, "Retry", middleware.Before)
}

func (*operations) ID() string { return "usage_test.operations" }

func (o *operations) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	o.mu.Lock()
	o.n[awsmiddleware.GetOperationName(ctx)]++
	o.mu.Unlock()
	return next.HandleFinalize(ctx, in)
}

// of is the operations named op; Calls is them all.
func (o *operations) of(op string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[op]
}

func (o *operations) Calls() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var sum int64
	for _, n := range o.n {
		sum += n
	}
	return sum
}

const (
	tdPrefix = "arn:aws:ecs:us-east-1:333333333333:task-definition/"
	cluster  = "arn:aws:ecs:us-east-1:333333333333:cluster/"
)

// TestReadDemoAccount reads prod-payments in us-east-1 of the demo
// organization; the expectations are written by hand from default.json.
func TestReadDemoAccount(t *testing.T) {
	t.Parallel()
	srv, _ := simtest.Start(t, simorg.Default(), simorg.Options{}, "us-east-1")
	b := newOperations()
	api := ecsClient(t, srv, "333333333333", "us-east-1", b)
	u, err := usage.Read(context.Background(), api, api, api)
	if err != nil {
		t.Fatal(err)
	}
	if u.Clusters != 2 || u.Services != 4 || u.Tasks != 11 {
		t.Errorf("clusters %d, services %d, tasks %d; want 2, 4, 11", u.Clusters, u.Services, u.Tasks)
	}
	type want struct {
		td, cluster, service                 string
		deployments, desired, running, tasks int64
		primary                              bool
		launch, startedBy                    string
	}
	wants := []want{
		{"node-exporter:1", "monitoring", "node-exporter", 1, 2, 2, 2, true, "EC2", "ecs-svc/"},
		{"ledger:4", "payments", "ledger", 1, 2, 2, 2, true, "EC2", "ecs-svc/"},
		{"payments-api:2", "payments", "payments-api", 1, 0, 1, 1, false, "EC2", "ecs-svc/"},
		{"payments-api:3", "payments", "payments-api", 1, 3, 3, 3, true, "EC2", "ecs-svc/"},
		{"payments-worker:2", "payments", "payments-worker", 1, 2, 2, 2, true, "EC2", "ecs-svc/"},
		{"payments-api:1", "payments", "", 0, 0, 0, 1, false, "EC2", "ops-oncall"},
	}
	if len(u.Rows) != len(wants) {
		t.Fatalf("%d rows, want %d: %+v", len(u.Rows), len(wants), u.Rows)
	}
	for _, w := range wants {
		found := false
		for _, r := range u.Rows {
			if r.TaskDefinitionARN != tdPrefix+w.td || r.ClusterARN != cluster+w.cluster || r.Service != w.service {
				continue
			}
			found = true
			if r.Deployments != w.deployments || r.DesiredCount != w.desired || r.RunningCount != w.running ||
				r.Tasks != w.tasks || r.Primary != w.primary || strings.Join(r.LaunchTypes, ",") != w.launch ||
				len(r.StartedBy) == 0 || !strings.HasPrefix(r.StartedBy[0], w.startedBy) ||
				r.ContainerInstances < 1 || r.FirstStartedAt.IsZero() || r.LastStartedAt.Before(r.FirstStartedAt) {
				t.Errorf("%s in %s/%q: %+v", w.td, w.cluster, w.service, r)
			}
		}
		if !found {
			t.Errorf("no row for %s in %s/%q", w.td, w.cluster, w.service)
		}
	}
	by := u.ByTaskDefinition()
	if c := by[tdPrefix+"payments-api:1"]; c != (usage.Count{Services: 0, Tasks: 1}) {
		t.Errorf("payments-api:1 %+v", c)
	}
	if c := by[tdPrefix+"payments-api:3"]; c != (usage.Count{Services: 1, Tasks: 3}) {
		t.Errorf("payments-api:3 %+v", c)
	}
	if _, ok := by[tdPrefix+"ledger:1"]; ok {
		t.Error("ledger:1 runs nowhere, yet is counted")
	}
	// 1 ListClusters; per cluster 1 ListServices, 1 DescribeServices,
	// 1 ListTasks, 1 DescribeTasks.
	if b.Calls() != 9 || b.of("ListClusters") != 1 || b.of("DescribeTasks") != 2 {
		t.Errorf("calls %d (ListClusters %d, DescribeTasks %d), want 9, 1, 2", b.Calls(), b.of("ListClusters"), b.of("DescribeTasks"))
	}
}

// TestReadPaginatesAndBatches: 250 services in one cluster and several
// hundred tasks take pages of 100 and describes of 10 and 100.
func TestReadPaginatesAndBatches(t *testing.T) {
	t.Parallel()
	org := simorg.Generate(simorg.Spec{Seed: 5, Accounts: 2, Regions: 1, RevisionsPerRegion: 500, FamiliesPerRegion: 250,
		ServiceShare: 1, StandaloneShare: 0.5})
	srv, _ := simtest.Start(t, org, simorg.Options{}, "us-east-1")
	acct := org.Accounts()[1].ID
	var services, tasks int64
	for _, cl := range org.Clusters(acct, "us-east-1") {
		services += int64(len(cl.Services))
		for _, s := range cl.Services {
			for _, d := range s.Deployments {
				tasks += int64(d.RunningCount)
			}
		}
		for _, tk := range cl.Tasks {
			tasks += int64(max(tk.Count, 1))
		}
	}
	if services != 250 || tasks <= 250 {
		t.Fatalf("the generated org has %d services and %d tasks; the test needs 250 and more than 250", services, tasks)
	}
	b := newOperations()
	api := ecsClient(t, srv, acct, "us-east-1", b)
	u, err := usage.Read(context.Background(), api, api, api)
	if err != nil {
		t.Fatal(err)
	}
	if u.Services != services || u.Tasks != tasks {
		t.Errorf("read %d services and %d tasks, want %d and %d", u.Services, u.Tasks, services, tasks)
	}
	if got := b.of("DescribeServices"); got != 25 {
		t.Errorf("DescribeServices calls %d, want 25 (250 in tens)", got)
	}
	if got := b.of("ListServices"); got != 4 {
		t.Errorf("ListServices calls %d, want 4 (250 in pages of 100, and the batch cluster's one)", got)
	}
	var sum int64
	for _, c := range u.ByTaskDefinition() {
		sum += c.Tasks
	}
	if sum != tasks {
		t.Errorf("rows hold %d tasks, want %d", sum, tasks)
	}
}

// TestReadDenied: a denial keeps its code, for the job to classify.
func TestReadDenied(t *testing.T) {
	t.Parallel()
	srv, _ := simtest.Start(t, simorg.Default(), simorg.Options{}, "eu-west-1")
	api := ecsClient(t, srv, "333333333333", "eu-west-1", nil) // eu-west-1 is denied by SCP
	_, err := usage.Read(context.Background(), api, api, api)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" || !strings.HasPrefix(err.Error(), "list clusters: ") {
		t.Fatalf("err = %v, want a wrapped AccessDeniedException", err)
	}
}

// fake is a function-field fake of the five calls, for what the simulator
// cannot stage: a task gone between ListTasks and DescribeTasks, and a
// failure that is not MISSING.
type fake struct {
	failure string
}

func (fake) ListClusters(context.Context, *ecs.ListClustersInput, ...func(*ecs.Options)) (*ecs.ListClustersOutput, error) {
	return &ecs.ListClustersOutput{ClusterArns: []string{"c"}}, nil
}

func (fake) ListServices(context.Context, *ecs.ListServicesInput, ...func(*ecs.Options)) (*ecs.ListServicesOutput, error) {
	return &ecs.ListServicesOutput{}, nil
}

func (fake) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	return &ecs.DescribeServicesOutput{}, nil
}

func (fake) ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error) {
	return &ecs.ListTasksOutput{TaskArns: []string{"t1", "t2"}}, nil
}

func (f fake) DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error) {
	return &ecs.DescribeTasksOutput{
		Tasks:    []ecstypes.Task{{TaskArn: aws.String("t1"), TaskDefinitionArn: aws.String("td:1"), Group: aws.String("family:td")}},
		Failures: []ecstypes.Failure{{Arn: aws.String("t2"), Reason: aws.String(f.failure)}},
	}, nil
}

func TestReadFailures(t *testing.T) {
	t.Parallel()
	u, err := usage.Read(context.Background(), fake{"MISSING"}, fake{}, fake{"MISSING"})
	if err != nil || u.Tasks != 1 || len(u.Rows) != 1 || u.Rows[0].Service != "" || u.Rows[0].Tasks != 1 {
		t.Errorf("a task gone after listing: %+v, %v; want it skipped", u, err)
	}
	if _, err := usage.Read(context.Background(), fake{}, fake{}, fake{"ACCESS_DENIED"}); err == nil || !strings.Contains(err.Error(), "ACCESS_DENIED") {
		t.Errorf("a failure that is not MISSING: err = %v, want it returned", err)
	}
}
