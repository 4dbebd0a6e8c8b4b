package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ecsaudit/ecsaudit/simorg"
)

// result is every run of one scenario.
type result struct {
	sc       scenario
	plan     plan
	bound    bound
	cold     []scanRun     // the scans (for warm: the first night's)
	warm     []scanRun     // warm only: the next night's incremental scans
	warmPlan plan          // warm only: the next night's organization
	warmB    bound         // warm only: the bound of describing new revisions only
	base     []baselineRun // one per run, when the baseline is on
	// The sharded scenario: per run, the whole sharded run and each shard;
	// the bound with every shard's concurrency slots; the runs whose
	// shards' findings do not add up to the unsharded run's.
	sharded    []scanRun
	shards     [][]scanRun
	shardedB   bound
	mismatches []error
}

// bench runs one scenario c.runs times, each run in its own output
// directory below dir, and prints a line per run to w.
func bench(ctx context.Context, sc scenario, c config, dir string, w io.Writer) (result, error) {
	fmt.Fprintf(w, "\n## %s: %s\n", sc.name, sc.about)
	concurrency, chosen := sc.targetsAtOnce()
	fmt.Fprintf(w, "%secsaudit %s--ecs-rate %g --ecs-burst %d; concurrency %d (%s); simulator bucket ×%g (burst %d, %g/s)\n",
		envPrefix(c.env), concurrencyFlag(sc.concurrency), sc.ecsRate, sc.ecsBurst, concurrency, chosen, sc.scale,
		int(float64(simorg.RealECSLimit().Burst)*sc.scale), simorg.RealECSLimit().Rate*sc.scale)
	started := time.Now()
	org, err := sc.org()
	if err != nil {
		return result{}, err
	}
	res := result{sc: sc, plan: planFor(org)}
	coldWork := fullWork(res.plan.revisions, res.plan.usage)
	res.bound = lowerBound(coldWork, concurrency, sc.ecsRate, sc.ecsBurst, meanLatency)
	var next *simorg.Org
	var warmWork []work
	if sc.next != nil {
		if next, err = sc.next(); err != nil {
			return result{}, err
		}
		res.warmPlan = planFor(next)
		warmWork = newWork(res.plan, res.warmPlan)
		res.warmB = lowerBound(warmWork, concurrency, sc.ecsRate, sc.ecsBurst, meanLatency)
	}
	u := res.plan.usageCalls()
	fmt.Fprintf(w, "organization: %d accounts, %d targets, %d ACTIVE revisions (largest target %d), %d findings expected, %d running tasks; "+
		"%d usage calls planned (%s %d, %s %d, %s %d, %s %d, %s %d); planned in %v\n",
		res.plan.accounts, len(res.plan.revisions), res.plan.describeCalls(), res.plan.maxRevisions(), res.plan.findings, res.plan.tasks,
		u.sum(), usageOps[0], u[0], usageOps[1], u[1], usageOps[2], u[2], usageOps[3], u[3], usageOps[4], u[4],
		time.Since(started).Round(time.Millisecond))
	printBound(w, "lower bound", res.bound)
	if next != nil {
		printBound(w, "next night's lower bound", res.warmB)
	}
	if sc.shards > 1 {
		// Each shard has concurrency slots of its own; a target's own
		// bound does not change.
		res.shardedB = lowerBound(coldWork, sc.shards*concurrency, sc.ecsRate, sc.ecsBurst, meanLatency)
		printBound(w, fmt.Sprintf("lower bound in %d shards", sc.shards), res.shardedB)
	}

	for i := range c.runs {
		out := filepath.Join(dir, fmt.Sprintf("run%d", i+1))
		if err := os.MkdirAll(out, 0o755); err != nil {
			return res, err
		}
		o := scanOptions{bin: c.bin, out: out, concurrency: sc.concurrency, ecsRate: sc.ecsRate, ecsBurst: sc.ecsBurst, env: c.env}
		if c.cpuProfiles != "" {
			o.cpuProfile = filepath.Join(c.cpuProfiles, fmt.Sprintf("%s-%d.pprof", sc.name, i+1))
		}
		if next != nil {
			o.extra = []string{"--full"} // the first night: every revision described
			if o.cpuProfile != "" {
				o.cpuProfile = filepath.Join(c.cpuProfiles, fmt.Sprintf("%s-cold-%d.pprof", sc.name, i+1))
			}
		}
		r, err := runScan(ctx, org, simOptions(sc), o)
		if err != nil {
			return res, err
		}
		r.Bound, r.Expected, r.Planned = res.bound, res.plan, total(coldWork)
		res.cold = append(res.cold, r)
		label := fmt.Sprintf("run %d/%d", i+1, c.runs)
		if sc.shards > 1 {
			label += " unsharded"
		}
		printRun(w, label, r)
		checkConcurrency(w, r, concurrency)

		if next != nil {
			o.extra = nil
			if o.cpuProfile != "" {
				o.cpuProfile = filepath.Join(c.cpuProfiles, fmt.Sprintf("%s-%d.pprof", sc.name, i+1))
			}
			wr, err := runScan(ctx, next, simOptions(sc), o)
			if err != nil {
				return res, err
			}
			wr.Bound, wr.Expected, wr.Planned = res.warmB, res.warmPlan, total(warmWork)
			res.warm = append(res.warm, wr)
			printRun(w, fmt.Sprintf("run %d/%d next night", i+1, c.runs), wr)
			checkConcurrency(w, wr, concurrency)
			fmt.Fprintf(w, "    DescribeTaskDefinition: %d next night vs %d cold = %.2f%% (target ≤ 3%%)\n",
				wr.Stats.Calls["DescribeTaskDefinition"], r.Stats.Calls["DescribeTaskDefinition"],
				pct(wr.Stats.Calls["DescribeTaskDefinition"], r.Stats.Calls["DescribeTaskDefinition"]))
		}

		if sc.shards > 1 {
			o.out = filepath.Join(dir, fmt.Sprintf("run%d-%dshards", i+1, sc.shards))
			if err := os.MkdirAll(o.out, 0o755); err != nil {
				return res, err
			}
			if o.cpuProfile != "" {
				o.cpuProfile = filepath.Join(c.cpuProfiles, fmt.Sprintf("%s-shards-%d.pprof", sc.name, i+1))
			}
			whole, shards, err := runShards(ctx, org, simOptions(sc), o, sc.shards)
			if err != nil {
				return res, err
			}
			whole.Bound, whole.Expected, whole.Planned = res.shardedB, res.plan, total(coldWork)
			res.sharded = append(res.sharded, whole)
			res.shards = append(res.shards, shards)
			if whole.Row.Findings != r.Row.Findings {
				res.mismatches = append(res.mismatches, fmt.Errorf("%s run %d: the shards' findings add up to %d, the unsharded run's are %d",
					sc.name, i+1, whole.Row.Findings, r.Row.Findings))
			}
			printShards(w, fmt.Sprintf("run %d/%d in %d shards", i+1, c.runs, sc.shards), r, whole, shards)
			for _, s := range shards {
				checkConcurrency(w, s, concurrency)
			}
			continue // no baseline: the comparison is with the unsharded run
		}

		if c.baseline {
			b, err := baseline(ctx, org, simOptions(sc), res.plan, sc.baselineAccounts)
			if err != nil {
				return res, err
			}
			res.base = append(res.base, b)
			printBaseline(w, b, r.Wall)
		}
	}
	return res, nil
}

// targetsAtOnce is the concurrency sc's child runs at, and who chose it:
// -concurrency, or ecsaudit's default, which the child is left to pick.
func (sc scenario) targetsAtOnce() (int, string) {
	if sc.concurrency > 0 {
		return sc.concurrency, "set by -concurrency"
	}
	return defaultConcurrency(sc.ecsRate), "ecsaudit's default on this machine at this budget, no flag passed"
}

// concurrencyFlag is the --concurrency flag of a header line, with its
// space; none for 0.
func concurrencyFlag(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("--concurrency %d ", n)
}

// checkConcurrency warns when the concurrency r's runs row ran at is not
// the one its bound assumed: the bound is then wrong.
func checkConcurrency(w io.Writer, r scanRun, assumed int) {
	if got := rowConcurrency(r.Row); got != assumed {
		fmt.Fprintf(w, "    WARNING: the runs row says concurrency %d, the bound assumes %d\n", got, assumed)
	}
}

// envPrefix is env as a shell would show it before a command: each
// NAME=value and a space.
func envPrefix(env []string) string {
	var b strings.Builder
	for _, kv := range env {
		b.WriteString(kv + " ")
	}
	return b.String()
}

// newWork is the next night's work when only new revisions are described:
// every revision is still listed, but only those beyond the previous
// night's count are described.
func newWork(prev, next plan) []work {
	w := fullWork(next.revisions, next.usage)
	for i := range w {
		if i < len(prev.revisions) {
			w[i].describes = max(0, w[i].describes-int64(prev.revisions[i]))
		}
	}
	return w
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
