// Package job runs one ecsaudit scan: it lists the organization's accounts,
// assumes the read-only role in each, finds the enabled regions, scans every
// (account, region) target through one bounded fan-out, evaluates every
// container and streams findings and coverage to the output as targets
// finish. It is the only package that knows the whole flow.
package job

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"golang.org/x/sync/errgroup"

	"github.com/ecsaudit/ecsaudit/accounts"
	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/shard"
	"github.com/ecsaudit/ecsaudit/taskdefs"
)

// Run statuses, as written to the runs dataset.
const (
	StatusComplete    = "complete"
	StatusPartial     = "partial"
	StatusInterrupted = "interrupted"
	StatusFailed      = "failed"
)

// Coverage statuses, one per target.
const (
	Scanned = "scanned"
	Denied  = "denied"
	Failed  = "failed"
	Skipped = "skipped"
)

// Config is everything one run needs, validated by the caller.
type Config struct {
	// AWS is the management (or delegated-admin) account's configuration:
	// credentials, home region, endpoints, retryer and HTTP client.
	AWS aws.Config

	RoleName        string
	ExternalID      string
	SessionDuration time.Duration // zero: STS's default

	Regions   []string // restrict to these regions; empty: every enabled one
	Filter    accounts.Filter
	Revisions taskdefs.Mode
	Rule      check.Options

	Concurrency int     // targets scanned at once
	ECSRate     float64 // client-side ECS requests per second per (account, region)
	ECSBurst    int

	// Previous reads the output's earlier runs: the cache of revisions
	// already evaluated, last night's work per account for planning
	// shards, and the sibling shards' rows the last shard checks. Nil:
	// none of these.
	Previous output.Source
	// Full ignores the cache: every revision is described again.
	Full bool
	// Shard is this run's share of the organization's accounts.
	Shard shard.Spec

	// Publisher, when set, takes the run's findings to a second
	// destination (Security Hub) before the run commits.
	Publisher Publisher

	// Grace is how long in-flight targets may run on after ctx is cancelled
	// (SIGTERM) before they are abandoned.
	Grace time.Duration

	// Progress, when set, is called from one goroutine after every
	// finished target and once more at the end with Done set; it must
	// return quickly. ProgressEvery, when positive, logs the same counts
	// at that interval (the JSON progress lines of a run off a terminal).
	Progress      func(Progress)
	ProgressEvery time.Duration

	RunID     string
	AttemptID string // unique to this process; names the output files; begins with RunID
	Started   time.Time
	Version   string
	Options   string // the run's options as JSON, for the runs row

	Logger *slog.Logger
}

// Publisher takes a run's findings to a second destination, such as
// Security Hub, before the run commits.
type Publisher interface {
	// Add is called with the rows of each finished target, carried rows
	// included, from one goroutine at a time.
	Add(findings []output.Finding, coverage []output.Coverage)
	// Finish delivers what was added. Its rows are written to the exports
	// dataset; an error makes a complete run partial, and the rows say why.
	Finish(ctx context.Context) ([]output.Export, error)
}

// maxDescribesInFlight is the most DescribeTaskDefinition calls one target
// keeps in flight.
const maxDescribesInFlight = 4

// slowRoundTrip is the round trip DescribesInFlight plans for: a far
// region's, with a large task definition in the answer.
const slowRoundTrip = 200 * time.Millisecond

// DescribesInFlight is how many DescribeTaskDefinition calls one target
// keeps in flight under a budget of rate requests per second (0 or less:
// unlimited): enough to spend the rate at round trips of up to 200 ms, from
// 1 to 4. The budget, not this number, bounds the rate; each call in flight
// costs a connection and a goroutine's stack, so a target at the default 10
// requests/s keeps 2, not 4, and the machine carries more targets.
func DescribesInFlight(rate float64) int {
	if rate <= 0 {
		return maxDescribesInFlight
	}
	n := int(math.Ceil(rate * slowRoundTrip.Seconds()))
	return min(max(n, 1), maxDescribesInFlight)
}

// Run scans the organization and writes everything to w, committing the
// runs row last. It returns the runs row; the error is non-nil when the
// whole run failed (the organization could not be listed, or the output
// could not be written), or the filters name nothing (ErrScope, and nothing
// is written), or, wrapping ErrShardsDisagree, when this shard committed
// last and found that the run's shards disagree. When ctx is cancelled, Run
// stops starting targets, lets in-flight ones finish for cfg.Grace, and
// commits what is complete with status interrupted.
func Run(ctx context.Context, cfg Config, w *output.Writer) (output.Run, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &run{cfg: cfg, log: log, w: w}
	r.row = output.Run{
		RunID: cfg.RunID, AttemptID: cfg.AttemptID, StartedAt: cfg.Started, Version: cfg.Version,
		RuleVersion: check.RuleVersion, RuleOptions: cfg.Rule.String(), Options: cfg.Options,
		ShardIndex: int32(cfg.Shard.Index), ShardCount: int32(max(cfg.Shard.Count, 1)),
		AccountsFilter: strings.Join(cfg.Filter.Accounts, ","), ExcludeAccounts: strings.Join(cfg.Filter.ExcludeAccounts, ","),
		OUFilter: strings.Join(cfg.Filter.OUs, ","), ExcludeOUs: strings.Join(cfg.Filter.ExcludeOUs, ","),
		RegionsFilter: strings.Join(cfg.Regions, ","), Revisions: string(cmp.Or(cfg.Revisions, taskdefs.Active)),
	}
	// Work goes on for the grace period after ctx is cancelled; writing the
	// output never depends on ctx.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopGrace := context.AfterFunc(ctx, func() {
		log.Warn("stopping: no new targets; in-flight targets get a grace period", "grace", cfg.Grace.String())
		time.AfterFunc(cfg.Grace, cancelWork)
	})
	defer stopGrace()

	// Read the output's earlier runs first: an output that cannot be used
	// fails the run before any AWS call, not hours later at commit. (An S3
	// object sends nothing until its first part, so it is the listing that
	// finds a missing bucket or a wrong owner.)
	if cfg.Previous != nil {
		if _, err := cfg.Previous.List(work, output.RunsDataset+"/"); err != nil {
			return r.abort(fmt.Errorf("read output: %w", err))
		}
	}
	accts, err := r.organization(work)
	if err != nil {
		r.row.Status = StatusFailed
		return r.commit(err)
	}
	// Filters that name nothing write nothing at all; then both files are
	// opened before any target is scanned.
	if err := r.checkScope(work, accts); err != nil {
		return r.abort(err)
	}
	if err := errors.Join(w.Findings(work, nil), w.Coverage(work, nil)); err != nil {
		return r.abort(fmt.Errorf("write output: %w", err))
	}
	if err := r.plan(work, accts); err != nil {
		r.row.Status = StatusFailed
		return r.commit(err)
	}
	if err := r.loadCache(work); err != nil {
		// Only a slower run: every revision is described again.
		log.Warn("earlier findings unreadable; describing every revision", "error", err.Error())
	}

	results := make(chan result, max(cfg.Concurrency, 1))
	collected := make(chan error, 1)
	go func() { collected <- r.collect(work, results, cancelWork) }()

	targets := make(chan target)
	go func() {
		r.discover(ctx, work, accts, targets, results)
		close(targets)
	}()

	var g errgroup.Group // not WithContext: one target's failure never cancels another
	g.SetLimit(max(cfg.Concurrency, 1))
	r.discovering.Store(true)
	for t := range targets {
		r.discovered.Add(1)
		if ctx.Err() != nil {
			results <- t.notStarted()
			continue
		}
		g.Go(func() error {
			results <- r.scan(work, t)
			return nil
		})
	}
	r.discovering.Store(false)
	g.Wait()
	if r.cache != nil {
		// Many seeks mean targets asked far from the earlier files' order,
		// each a page of every column decompressed again.
		log.Info("earlier findings read", "ranges_sought", r.cache.sought())
	}
	if err := r.cache.close(); err != nil {
		log.Warn("closing earlier findings", "error", err.Error())
	}
	close(results)
	if err := <-collected; err != nil {
		return r.abort(err)
	}
	var exportErr error
	if cfg.Publisher != nil && ctx.Err() == nil {
		// The findings are already in the output, which never waits on
		// the destination: a failure here costs the export, not the run.
		rows, err := cfg.Publisher.Finish(work)
		for i := range rows {
			rows[i].RunID, rows[i].AttemptID = cfg.RunID, cfg.AttemptID
		}
		if werr := w.Exports(context.WithoutCancel(ctx), rows); werr != nil {
			return r.abort(fmt.Errorf("write exports: %w", werr))
		}
		if err != nil {
			log.Warn("export failed; the run is partial", "error", err.Error())
			exportErr = err
		}
	}

	switch {
	case ctx.Err() != nil:
		r.row.Status = StatusInterrupted
	case r.row.TargetsNotScanned > 0 || r.row.AccountsNotScanned > 0 || r.row.UsageNotRead > 0 || exportErr != nil:
		r.row.Status = StatusPartial
	default:
		r.row.Status = StatusComplete
	}
	row, err := r.commit(nil)
	if cfg.Progress != nil {
		p := r.progress()
		p.Done, p.Worst, p.Excluded = true, r.track.worst(), slices.Sorted(slices.Values(r.track.excluded))
		p.FailByRule = maps.Clone(r.track.failByRule)
		cfg.Progress(p)
	}
	if err != nil {
		return row, err
	}
	return row, r.checkShards(context.WithoutCancel(ctx))
}

// progress returns the counts so far; only the collector calls it, and Run
// once the collector is done.
func (r *run) progress() Progress {
	return Progress{
		TargetsDone: r.row.Targets, TargetsTotal: r.discovered.Load() + r.track.skipped, Discovering: r.discovering.Load(),
		Described: r.row.TaskDefinitions - r.row.Carried, Carried: r.row.Carried, Fail: r.row.Fail,
		Elapsed: time.Since(r.cfg.Started),
	}
}

// run is the state of one Run; only the collector goroutine touches row
// after discovery starts.
type run struct {
	cfg  Config
	log  *slog.Logger
	w    *output.Writer
	row  output.Run
	tree map[string]accounts.Placement

	listed      []string                    // every account id the organization listed
	accounts    map[string]accounts.Account // this run's accounts, by id
	mine        func(id string) bool        // whether this shard scans the account
	cache       *cache                      // nil: describe everything
	discovered  atomic.Int64                // targets discovery handed to the fan-out
	discovering atomic.Bool
	track       tracker // the collector's
}

// abort discards everything written: an output that failed mid-run
// leaves no file behind, let alone one a reader could mistake for data.
func (r *run) abort(cause error) (output.Run, error) {
	r.w.Abort(cause)
	r.row.Status, r.row.EndedAt = StatusFailed, time.Now().UTC()
	return r.row, cause
}

// commit writes the runs row last. A fatal cause is returned as is; a
// failure to write is returned as the run's error.
func (r *run) commit(cause error) (output.Run, error) {
	r.row.EndedAt = time.Now().UTC()
	ctx := context.Background()
	if err := r.w.Commit(ctx, r.row); err != nil {
		r.w.Abort(err)
		r.row.Status = StatusFailed
		return r.row, errors.Join(cause, fmt.Errorf("write output: %w", err))
	}
	return r.row, cause
}

// collect is the single consumer of results: it streams rows to the writer
// and keeps the run's counts. On a write failure it cancels the work and
// drains the rest.
func (r *run) collect(ctx context.Context, results <-chan result, cancel context.CancelFunc) error {
	var werr error
	var tick <-chan time.Time
	if r.cfg.ProgressEvery > 0 {
		t := time.NewTicker(r.cfg.ProgressEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			p := r.progress()
			eta, ok := p.ETA()
			etaS := any(nil)
			if ok {
				etaS = int64(eta.Seconds())
			}
			r.log.Info("progress", "targets_done", p.TargetsDone, "targets_total", p.TargetsTotal, "discovering", p.Discovering,
				"percent", math.Round(p.Percent()*10)/10, "eta_s", etaS, "described", p.Described, "carried", p.Carried,
				"rate", math.Round(p.Rate()*10)/10, "task_definitions", r.row.TaskDefinitions, "findings", r.row.Findings,
				"fail", r.row.Fail, "targets_not_scanned", r.row.TargetsNotScanned, "accounts_not_scanned", r.row.AccountsNotScanned)
			continue
		case res, ok := <-results:
			if !ok {
				return werr
			}
			if werr != nil {
				continue
			}
			for i := range res.coverage {
				res.coverage[i].RunID, res.coverage[i].AttemptID = r.cfg.RunID, r.cfg.AttemptID
			}
			for i := range res.findings {
				res.findings[i].RunID, res.findings[i].AttemptID = r.cfg.RunID, r.cfg.AttemptID
			}
			r.count(res)
			if r.cfg.Publisher != nil {
				r.cfg.Publisher.Add(res.findings, res.coverage)
			}
			for i := range res.usage {
				res.usage[i].RunID, res.usage[i].AttemptID = r.cfg.RunID, r.cfg.AttemptID
			}
			if err := r.w.Coverage(ctx, res.coverage); err != nil {
				werr = fmt.Errorf("write coverage: %w", err)
			} else if err := r.w.Findings(ctx, res.findings); err != nil {
				werr = fmt.Errorf("write findings: %w", err)
			} else if err := r.w.Usage(ctx, res.usage); err != nil {
				werr = fmt.Errorf("write usage: %w", err)
			}
			if werr != nil {
				cancel()
			}
			if r.cfg.Progress != nil {
				r.cfg.Progress(r.progress())
			}
		}
	}
}

func (r *run) count(res result) {
	r.row.APICalls += res.apiCalls
	for _, c := range res.coverage {
		r.row.ThrottledCalls += c.ThrottledCalls
		r.row.TaskDefinitions += c.TaskDefinitions
		r.row.Carried += c.Carried
		r.row.Services += c.Services
		r.row.RunningTasks += c.RunningTasks
		if c.Status == Scanned && (c.UsageStatus == Denied || c.UsageStatus == Failed) {
			r.row.UsageNotRead++
		}
		if c.Region != "" {
			r.row.Targets++
		}
		if c.Region != "" && c.Status == Skipped && c.ErrorCode != "Interrupted" {
			r.track.skipped++ // never handed to the fan-out
		}
		r.track.coverage(c)
		switch c.Status {
		case Scanned:
			r.row.TargetsScanned++
		case Denied, Failed:
			if c.Region == "" {
				r.row.AccountsNotScanned++ // its regions are unknown
			} else {
				r.row.TargetsNotScanned++
			}
		}
	}
	r.track.findings(res.findings)
	for _, f := range res.findings {
		r.countFinding(f)
	}
}

// countFinding adds one findings row to the run's counts.
func (r *run) countFinding(f output.Finding) {
	r.row.Findings++
	switch check.Result(f.Result) {
	case check.Fail:
		r.row.Fail++
	case check.Pass:
		r.row.Pass++
	case check.NotApplicable:
		r.row.NotApplicable++
	case check.Error:
		r.row.Errors++
	}
}
