package job

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/budget"
	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/taskdefs"
)

// result is what one unit of work hands the collector.
type result struct {
	coverage []output.Coverage
	findings []output.Finding
	usage    []output.Usage
	apiCalls int64
}

// scan lists and describes one target's task definitions under the target's
// own ECS budget and evaluates every container, while it reads what runs in
// the target under the budgets of the buckets those reads draw on. Every
// failure ends up in the target's coverage row; a revision that could not
// be described is an ERROR finding, never a PASS.
func (r *run) scan(ctx context.Context, t target) result {
	log := r.log.With("account", t.account.ID, "region", t.region)
	started := time.Now()
	used := make(chan usageResult, 1)
	go func() { used <- r.readUsage(ctx, t) }()
	calls := budget.New(r.cfg.ECSRate, r.cfg.ECSBurst)
	cfg := r.cfg.AWS.Copy()
	cfg.Region, cfg.Credentials = t.region, t.creds
	client := ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		o.APIOptions = append(o.APIOptions, calls.Attach, assume.RenewOnExpiry(t.creds))
	})

	cov := coverageRow(t.account, t.region, Scanned, "", "")
	cov.StartedAt = started.UTC()
	var kept []carried
	done := func(findings []output.Finding) result {
		cov.APICalls, cov.ThrottledCalls = calls.Calls(), calls.Throttled()
		rows, counts := (<-used).record(&cov, t)
		for i := range findings {
			lookup(counts, findings[i].TaskDefinitionARN).mark(&findings[i])
		}
		cov.DurationMS = time.Since(started).Milliseconds()
		if cov.Status != Scanned {
			// A target not fully scanned must not look compliant in part:
			// its FAIL, NOT_APPLICABLE and ERROR rows stand, its PASS rows go.
			findings = slices.DeleteFunc(findings, func(f output.Finding) bool { return f.Result == string(check.Pass) })
		} else {
			// Carried rows go with the target's own, so that the output
			// holds each target's rows together.
			for _, k := range kept {
				findings = append(findings, k.carry(t, lookup(counts, k.arn))...)
			}
		}
		cov.Findings = int64(len(findings))
		if cov.Status != Scanned {
			log.Warn("target not fully scanned", "status", cov.Status, "error_code", cov.ErrorCode, "error", cov.ErrorMessage)
		} else {
			log.Debug("target scanned", "task_definitions", cov.TaskDefinitions, "api_calls", cov.APICalls)
		}
		if cov.Status == Scanned && cov.UsageStatus != UsageRead {
			log.Warn("what runs in the target is unknown", "usage_status", cov.UsageStatus, "error_code", cov.UsageErrorCode, "error", cov.UsageErrorMessage)
		}
		return result{coverage: []output.Coverage{cov}, findings: findings, usage: rows, apiCalls: cov.APICalls}
	}

	refs, err := taskdefs.List(ctx, client, r.cfg.Revisions)
	// The earlier rows are taken either way, so that none wait for a
	// target that will not ask again.
	earlier, cerr := r.cache.rows(t)
	if cerr != nil {
		// Only slower: the target's revisions are described again.
		log.Warn("earlier findings unreadable; describing the target's revisions", "error", cerr.Error())
	}
	if err != nil {
		status, code, msg := classify(err)
		cov.Status, cov.ErrorCode, cov.ErrorMessage = status, code, output.Text(msg)
		return done(nil)
	}

	// Revisions an earlier run evaluated are immutable: carry their rows.
	todo, carriedRefs := refs[:0:0], refs[:0:0]
	for _, ref := range refs {
		if rows := earlier[ref.ID]; len(rows) > 0 && ref.IsARN() {
			carriedRefs = append(carriedRefs, ref)
			kept = append(kept, carried{arn: ref.ID, status: ref.Status, rows: rows})
			cov.TaskDefinitions++
			cov.Carried++
			continue
		}
		todo = append(todo, ref)
	}
	refs = todo

	inFlight := DescribesInFlight(r.cfg.ECSRate)
	tds, errs := describeAll(ctx, client, refs, inFlight)
	if len(kept) > 0 && slices.ContainsFunc(errs, func(err error) bool { return err != nil && !taskdefs.Gone(err) }) {
		// The target will not be fully scanned, so it writes no PASS rows;
		// carried rows come whole, so describe the carried revisions too.
		more, moreErrs := describeAll(ctx, client, carriedRefs, inFlight)
		refs, tds, errs = append(refs, carriedRefs...), append(tds, more...), append(errs, moreErrs...)
		kept, cov.TaskDefinitions, cov.Carried = nil, 0, 0
	}

	var findings []output.Finding
	var failed int
	for i, ref := range refs {
		if errs[i] != nil {
			status, code, msg := classify(errs[i])
			findings = append(findings, errorRows(t, ref.ID, code+": "+msg, r.cfg.Rule)...)
			if taskdefs.Gone(errs[i]) {
				continue // deleted between list and describe: an answer, not a gap
			}
			if failed == 0 {
				cov.Status, cov.ErrorCode = status, code
				cov.ErrorMessage = msg
			}
			failed++
			continue
		}
		cov.TaskDefinitions++
		findings = append(findings, findingRows(t, tds[i], r.cfg.Rule)...)
	}
	if failed > 0 {
		cov.Status = Failed
		cov.ErrorMessage = output.Text(fmt.Sprintf("%d of %d task definitions could not be described; first: %s", failed, len(refs), cov.ErrorMessage))
	}
	return done(findings)
}

// describeAll describes refs, inFlight at a time; errs[i] is the failure of
// refs[i].
func describeAll(ctx context.Context, client taskdefs.Describer, refs []taskdefs.Ref, inFlight int) (tds []check.TaskDefinition, errs []error) {
	tds, errs = make([]check.TaskDefinition, len(refs)), make([]error, len(refs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(inFlight, len(refs)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(refs); i = int(next.Add(1) - 1) {
				tds[i], errs[i] = taskdefs.Describe(ctx, client, refs[i].ID)
			}
		})
	}
	wg.Wait()
	return tds, errs
}
