package job

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/budget"
	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/usage"
)

// UsageRead is the usage status of a target whose clusters, services and
// tasks were all read; otherwise it is Denied, Failed or Skipped.
const UsageRead = "read"

// usageResult is what runs in one target, or why it is not known.
type usageResult struct {
	use              usage.Usage
	err              error
	calls, throttled int64
	readAt           time.Time
}

// readUsage reads what runs in the target. Usage changes from one night
// to the next, so it is read on every run, incremental ones too. Each of
// the five operations draws on an ECS bucket of its own, so each has a
// budget of its own, the size of the task-definition budget.
func (r *run) readUsage(ctx context.Context, t target) usageResult {
	b := budget.Buckets{}
	for _, op := range usage.Operations() {
		b[op] = budget.New(r.cfg.ECSRate, r.cfg.ECSBurst)
	}
	cfg := r.cfg.AWS.Copy()
	cfg.Region, cfg.Credentials = t.region, t.creds
	client := ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		o.APIOptions = append(o.APIOptions, b.Attach, assume.RenewOnExpiry(t.creds))
	})
	u, err := usage.Read(ctx, client, client, client)
	return usageResult{use: u, err: err, calls: b.Calls(), throttled: b.Throttled(), readAt: time.Now().UTC()}
}

// record puts the read into the target's coverage row and returns the
// usage rows and each revision's counts; counts is nil when the usage is
// not known.
func (u usageResult) record(cov *output.Coverage, t target) (rows []output.Usage, counts map[string]usage.Count) {
	cov.APICalls += u.calls
	cov.ThrottledCalls += u.throttled
	if u.err != nil {
		status, code, msg := classify(u.err)
		cov.UsageStatus, cov.UsageErrorCode, cov.UsageErrorMessage = status, code, output.Text(msg)
		return nil, nil
	}
	cov.UsageStatus = UsageRead
	cov.Clusters, cov.Services, cov.RunningTasks = u.use.Clusters, u.use.Services, u.use.Tasks
	rows = make([]output.Usage, len(u.use.Rows))
	for i, x := range u.use.Rows {
		rows[i] = output.Usage{
			ReadAt: u.readAt, AccountID: t.account.ID, Region: t.region,
			ClusterARN: output.Text(x.ClusterARN), Service: output.Text(x.Service), TaskDefinitionARN: output.Text(x.TaskDefinitionARN),
			Deployments: x.Deployments, PrimaryDeployment: x.Primary, DesiredCount: x.DesiredCount, RunningCount: x.RunningCount,
			RunningTasks: x.Tasks, LaunchTypes: output.Text(strings.Join(x.LaunchTypes, ",")), ContainerInstances: x.ContainerInstances,
			StartedBy: output.Text(strings.Join(x.StartedBy, ",")), FirstStartedAt: x.FirstStartedAt, LastStartedAt: x.LastStartedAt,
		}
	}
	return rows, u.use.ByTaskDefinition()
}

// inUse is what runs one revision, as findings rows carry it.
type inUse struct {
	known           bool
	services, tasks int64
}

// lookup returns the revision's use; unknown when counts is nil.
func lookup(counts map[string]usage.Count, arn string) inUse {
	if counts == nil {
		return inUse{}
	}
	c := counts[arn]
	return inUse{known: true, services: c.Services, tasks: c.Tasks}
}

// mark sets a findings row's in_use, services and running_tasks.
func (u inUse) mark(f *output.Finding) {
	f.InUse, f.Services, f.RunningTasks = nil, u.services, u.tasks
	if u.known {
		used := u.services > 0 || u.tasks > 0
		f.InUse = &used
	}
}
