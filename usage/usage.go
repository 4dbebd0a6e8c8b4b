// Package usage reads what runs in one region's ECS clusters — the task
// definition of every service deployment and of every running task,
// standalone tasks included — and hands it on as plain rows; the SDK's
// types stay inside. Task overrides, and with them any environment a
// caller passed to RunTask, are never copied out.
package usage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The batch sizes ECS accepts at most.
const (
	describeServicesMax = 10
	describeTasksMax    = 100
	listMax             = 100
)

// Services is the part of ECS that reads a cluster's services.
type Services interface {
	ecs.ListServicesAPIClient
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
}

// Tasks is the part of ECS that reads a cluster's running tasks.
type Tasks interface {
	ecs.ListTasksAPIClient
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

var (
	_ ecs.ListClustersAPIClient = (*ecs.Client)(nil)
	_ Services                  = (*ecs.Client)(nil)
	_ Tasks                     = (*ecs.Client)(nil)
)

// Row is what runs one task definition revision in one cluster, under one
// service or (Service empty) as standalone tasks.
type Row struct {
	TaskDefinitionARN string
	ClusterARN        string
	Service           string // the service's name; empty for standalone tasks
	// Deployments counts the service's PRIMARY and ACTIVE deployments of
	// the revision; Primary is set when one of them is PRIMARY.
	Deployments int64
	Primary     bool
	// DesiredCount and RunningCount are summed over those deployments, as
	// the service reports them.
	DesiredCount, RunningCount int64
	// Tasks counts the tasks ListTasks lists (desired status RUNNING).
	Tasks int64
	// LaunchTypes and StartedBy are the tasks' distinct values, sorted;
	// StartedBy keeps at most maxStartedBy.
	LaunchTypes        []string
	StartedBy          []string
	ContainerInstances int64 // distinct container instances the tasks run on
	// FirstStartedAt and LastStartedAt bound the tasks' start times; zero
	// when no task has started.
	FirstStartedAt, LastStartedAt time.Time
}

// maxStartedBy bounds the startedBy values a row keeps.
const maxStartedBy = 10

// Usage is what runs in one region.
type Usage struct {
	Clusters, Services, Tasks int64
	Rows                      []Row // sorted by cluster, service, task definition
}

// Count is how much one revision is used in a region.
type Count struct {
	Services int64 // services with a PRIMARY or ACTIVE deployment of it
	Tasks    int64 // tasks running it
}

// ByTaskDefinition sums the rows of each revision.
func (u Usage) ByTaskDefinition() map[string]Count {
	out := map[string]Count{}
	for _, r := range u.Rows {
		c := out[r.TaskDefinitionARN]
		if r.Deployments > 0 {
			c.Services++
		}
		c.Tasks += r.Tasks
		out[r.TaskDefinitionARN] = c
	}
	return out
}

// Read lists every cluster of the region, then each cluster's services
// (described ten at a time) and running tasks (described a hundred at a
// time). A service or task gone between its listing and its describe is
// skipped; any other failure ends the read.
func Read(ctx context.Context, clusters ecs.ListClustersAPIClient, services Services, tasks Tasks) (Usage, error) {
	var arns []string
	p := ecs.NewListClustersPaginator(clusters, &ecs.ListClustersInput{MaxResults: aws.Int32(listMax)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Usage{}, fmt.Errorf("list clusters: %w", err)
		}
		arns = append(arns, page.ClusterArns...)
	}
	u := Usage{Clusters: int64(len(arns))}
	rows := map[key]*acc{}
	for _, cluster := range arns {
		n, err := readServices(ctx, services, cluster, rows)
		if err != nil {
			return Usage{}, err
		}
		u.Services += n
		if n, err = readTasks(ctx, tasks, cluster, rows); err != nil {
			return Usage{}, err
		}
		u.Tasks += n
	}
	u.Rows = make([]Row, 0, len(rows))
	for _, a := range rows {
		a.LaunchTypes = sortedKeys(a.launch)
		a.StartedBy = sortedKeys(a.started)
		a.ContainerInstances = int64(len(a.instances))
		u.Rows = append(u.Rows, a.Row)
	}
	slices.SortFunc(u.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.ClusterARN, b.ClusterARN), cmp.Compare(a.Service, b.Service),
			cmp.Compare(a.TaskDefinitionARN, b.TaskDefinitionARN))
	})
	return u, nil
}

// key names one row.
type key struct{ taskDefinition, cluster, service string }

// acc is a row being summed.
type acc struct {
	Row
	launch, started, instances map[string]bool
}

func (k key) get(rows map[key]*acc) *acc {
	a, ok := rows[k]
	if !ok {
		a = &acc{Row: Row{TaskDefinitionARN: k.taskDefinition, ClusterARN: k.cluster, Service: k.service},
			launch: map[string]bool{}, started: map[string]bool{}, instances: map[string]bool{}}
		rows[k] = a
	}
	return a
}

func readServices(ctx context.Context, api Services, cluster string, rows map[key]*acc) (int64, error) {
	var arns []string
	p := ecs.NewListServicesPaginator(api, &ecs.ListServicesInput{Cluster: &cluster, MaxResults: aws.Int32(listMax)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list services of %s: %w", cluster, err)
		}
		arns = append(arns, page.ServiceArns...)
	}
	var n int64
	for batch := range slices.Chunk(arns, describeServicesMax) {
		out, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &cluster, Services: batch})
		if err != nil {
			return 0, fmt.Errorf("describe services of %s: %w", cluster, err)
		}
		if err := failed(out.Failures); err != nil {
			return 0, fmt.Errorf("describe services of %s: %w", cluster, err)
		}
		for _, s := range out.Services {
			n++
			for _, d := range s.Deployments {
				status := aws.ToString(d.Status)
				if status != "PRIMARY" && status != "ACTIVE" {
					continue // INACTIVE: replaced, runs nothing
				}
				a := key{aws.ToString(d.TaskDefinition), cluster, aws.ToString(s.ServiceName)}.get(rows)
				a.Deployments++
				a.Primary = a.Primary || status == "PRIMARY"
				a.DesiredCount += int64(d.DesiredCount)
				a.RunningCount += int64(d.RunningCount)
			}
		}
	}
	return n, nil
}

func readTasks(ctx context.Context, api Tasks, cluster string, rows map[key]*acc) (int64, error) {
	var arns []string
	p := ecs.NewListTasksPaginator(api, &ecs.ListTasksInput{
		Cluster: &cluster, DesiredStatus: ecstypes.DesiredStatusRunning, MaxResults: aws.Int32(listMax),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list tasks of %s: %w", cluster, err)
		}
		arns = append(arns, page.TaskArns...)
	}
	var n int64
	for batch := range slices.Chunk(arns, describeTasksMax) {
		out, err := api.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: &cluster, Tasks: batch})
		if err != nil {
			return 0, fmt.Errorf("describe tasks of %s: %w", cluster, err)
		}
		if err := failed(out.Failures); err != nil {
			return 0, fmt.Errorf("describe tasks of %s: %w", cluster, err)
		}
		for _, t := range out.Tasks {
			n++
			// Only these fields are read: Overrides (and the environment
			// it may carry) is left behind.
			service, _ := strings.CutPrefix(aws.ToString(t.Group), "service:")
			if service == aws.ToString(t.Group) {
				service = ""
			}
			a := key{aws.ToString(t.TaskDefinitionArn), cluster, service}.get(rows)
			a.Tasks++
			if t.LaunchType != "" {
				a.launch[string(t.LaunchType)] = true
			}
			if ci := aws.ToString(t.ContainerInstanceArn); ci != "" {
				a.instances[ci] = true
			}
			if by := aws.ToString(t.StartedBy); by != "" && (len(a.started) < maxStartedBy || a.started[by]) {
				a.started[by] = true
			}
			if t.StartedAt != nil {
				at := t.StartedAt.UTC()
				if a.FirstStartedAt.IsZero() || at.Before(a.FirstStartedAt) {
					a.FirstStartedAt = at
				}
				if at.After(a.LastStartedAt) {
					a.LastStartedAt = at
				}
			}
		}
	}
	return n, nil
}

// failed turns a describe's failures into an error. MISSING means the
// service or task went away after it was listed: an answer, not a gap.
func failed(fs []ecstypes.Failure) error {
	for _, f := range fs {
		if aws.ToString(f.Reason) != "MISSING" {
			return fmt.Errorf("%s: %s %s", aws.ToString(f.Arn), aws.ToString(f.Reason), aws.ToString(f.Detail))
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Operations returns the ECS operations Read calls, each throttled by ECS
// in a bucket of its own per account and region.
func Operations() []string {
	return []string{"ListClusters", "ListServices", "DescribeServices", "ListTasks", "DescribeTasks"}
}
