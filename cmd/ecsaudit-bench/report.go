package main

import (
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ecsaudit/ecsaudit/simorg"
)

// printRun prints one scan's figures.
func printRun(w io.Writer, label string, r scanRun) {
	check := "ok"
	if r.Row.Findings != r.Expected.findings {
		check = fmt.Sprintf("WANT %d", r.Expected.findings)
	}
	fmt.Fprintf(w, "  %s: wall %v = %.2f × bound %v; cpu floor %v, wall ÷ max(bound, cpu floor) %.2f; exit %d; findings %d (%s); task definitions %d, carried %d\n",
		label, round(r.Wall), ratio(r.Wall, r.Bound.Total), round(r.Bound.Total), round(r.floor()), r.floorRatio(),
		r.Exit, r.Row.Findings, check, r.Row.TaskDefinitions, r.Row.Carried)
	fmt.Fprintf(w, "    calls %s\n", callsByOp(r.Stats))
	fmt.Fprintf(w, "    throttled %d (runs row), bucket violations %d (simulator), peak ECS requests in 1 s per bucket %d\n",
		r.Row.ThrottledCalls, violations(r.Stats), peakECSRate(r.Stats))
	fmt.Fprintf(w, "    child: peak RSS %s, CPU %v (user+sys), %s; this process (simulator) CPU %v, %s; "+
		"cpu floor %v = CPU %v ÷ %d CPUs\n",
		mib(r.MaxRSS), round(r.CPU), perThousandText(r.CPU, r.describes()), round(r.SimCPU), perThousandText(r.SimCPU, r.describes()),
		round(r.floor()), round(r.CPU+r.SimCPU), runtime.NumCPU())
}

// cpuFloor is a lower bound on a run's wall time from the CPU time it took,
// the child's and this process's: a machine of cpus CPUs does at most cpus
// × wall of it.
func cpuFloor(child, sim time.Duration, cpus int) time.Duration {
	return (child + sim) / time.Duration(max(cpus, 1))
}

// floor is r's cpuFloor on this machine.
func (r scanRun) floor() time.Duration { return cpuFloor(r.CPU, r.SimCPU, runtime.NumCPU()) }

// floorRatio is r's wall over the larger of its bound and its cpu floor.
func (r scanRun) floorRatio() float64 { return ratio(r.Wall, max(r.Bound.Total, r.floor())) }

// describes is the DescribeTaskDefinition calls the simulator received.
func (r scanRun) describes() int64 { return r.Stats.Calls["DescribeTaskDefinition"] }

// perThousand is cpu in core-seconds per 1,000 calls; false for no calls.
func perThousand(cpu time.Duration, calls int64) (float64, bool) {
	if calls <= 0 {
		return 0, false
	}
	return cpu.Seconds() * 1000 / float64(calls), true
}

// perThousandText is perThousand of DescribeTaskDefinition calls in words.
func perThousandText(cpu time.Duration, describes int64) string {
	v, ok := perThousand(cpu, describes)
	if !ok {
		return "no describes"
	}
	return fmt.Sprintf("%.2f core-s/1000 describes", v)
}

// printShards prints a sharded run: the whole run as printRun does (its
// child figures being the largest shard's peak RSS and the shards' CPU
// summed), its gain over the unsharded run, whether the shards' findings
// add up to the unsharded run's, and each shard.
func printShards(w io.Writer, label string, single, whole scanRun, shards []scanRun) {
	printRun(w, label, whole)
	check := "= the unsharded run's: ok"
	if whole.Row.Findings != single.Row.Findings {
		check = fmt.Sprintf("≠ the unsharded run's %d: MISMATCH", single.Row.Findings)
	}
	fmt.Fprintf(w, "    gain %.2f× (unsharded %v ÷ sharded %v, first start to last exit); shards' findings %d %s\n",
		ratio(single.Wall, whole.Wall), round(single.Wall), round(whole.Wall), whole.Row.Findings, check)
	fmt.Fprintf(w, "    CPU: shards %v + this process (simulator) %v in %v on %d CPUs = %.0f%% busy\n",
		round(whole.CPU), round(whole.SimCPU), round(whole.Wall), runtime.NumCPU(), cpuBusy(whole))
	for i, s := range shards {
		fmt.Fprintf(w, "    shard %d/%d: wall %v, exit %d, accounts %d, targets scanned %d, findings %d, peak RSS %s, CPU %v\n",
			i, len(shards), round(s.Wall), s.Exit, s.Row.Accounts, s.Row.TargetsScanned, s.Row.Findings, mib(s.MaxRSS), round(s.CPU))
	}
}

// cpuBusy is the share of the machine's CPUs the children and this process
// used during a run.
func cpuBusy(r scanRun) float64 {
	return 100 * ratio(r.CPU+r.SimCPU, r.Wall*time.Duration(runtime.NumCPU()))
}

// printBound prints a bound and its terms.
func printBound(w io.Writer, label string, b bound) {
	fmt.Fprintf(w, "%s %v (%s): slowest target %v, budget ÷ concurrency %v, whole rounds %v, latency ÷ in-flight %v; + discovery %v\n",
		label, round(b.Total), b.Binding, round(b.Slowest), round(b.Budget), round(b.Rounds), round(b.Latency), round(b.Discovery))
}

// printBaseline prints one run of the naive scan and its speedup.
func printBaseline(w io.Writer, b baselineRun, ecsaudit time.Duration) {
	if b.Sampled {
		fmt.Fprintf(w, "  baseline: %d accounts sampled in %v over %d calls → whole organization estimated %v; speedup %.1f×\n",
			b.Accounts, round(b.Wall), b.Calls, round(b.Estimated), ratio(b.Estimated, ecsaudit))
		return
	}
	fmt.Fprintf(w, "  baseline: every account, %v over %d calls, %d findings; speedup %.1f×\n",
		round(b.Wall), b.Calls, b.Findings, ratio(b.Wall, ecsaudit))
}

// summary prints one Markdown table row per scenario (per night for warm),
// with medians over the runs and ratios taken run by run.
func summary(w io.Writer, results []result) {
	fmt.Fprintf(w, "\n## Summary (medians over runs; ratios per run, then the median)\n\n")
	fmt.Fprintln(w, "| scenario | runs | wall | lower bound | wall ÷ bound | CPU floor | wall ÷ max(bound, CPU floor) | "+
		"ECS calls (list + describe + usage) | throttled | violations | peak ECS/s per bucket | child peak RSS | child CPU | "+
		"child core-s per 1,000 describes | simulator core-s per 1,000 describes | findings (expected) | baseline | speedup |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, res := range results {
		name := res.sc.name
		if len(res.warm) > 0 {
			name += " (cold)"
		}
		if len(res.sharded) > 0 {
			name += " (unsharded)"
		}
		row(w, name, res.cold, res.base)
		if len(res.sharded) > 0 {
			row(w, fmt.Sprintf("%s (%d shards)", res.sc.name, res.sc.shards), res.sharded, nil)
		}
		if len(res.warm) > 0 {
			row(w, res.sc.name+" (next night)", res.warm, nil)
			var shares []float64
			for i := range res.warm {
				shares = append(shares, pct(res.warm[i].Stats.Calls["DescribeTaskDefinition"], res.cold[i].Stats.Calls["DescribeTaskDefinition"]))
			}
			fmt.Fprintf(w, "\n%s: next night's DescribeTaskDefinition calls = %.2f%% of the cold run's (median; target ≤ 3%%)\n\n", res.sc.name, median(shares))
		}
	}
	for _, res := range results {
		if len(res.sharded) > 0 {
			shardSummary(w, res)
		}
	}
}

// shardSummary prints a sharded scenario's gain, CPU use and shards, as
// medians over the runs.
func shardSummary(w io.Writer, res result) {
	var gains, busy []float64
	for i, whole := range res.sharded {
		gains = append(gains, ratio(res.cold[i].Wall, whole.Wall))
		busy = append(busy, cpuBusy(whole))
	}
	check := "the shards' findings add up to the unsharded run's in every run"
	if len(res.mismatches) > 0 {
		check = fmt.Sprintf("MISMATCH: the shards' findings differ from the unsharded run's in %d of %d runs", len(res.mismatches), len(res.sharded))
	}
	fmt.Fprintf(w, "\n%s: gain unsharded ÷ sharded wall = %.2f× (median) with %d shards; %s.\n", res.sc.name, median(gains), res.sc.shards, check)
	fmt.Fprintf(w, "CPU caps the gain too: the shards are processes on the same %d CPUs as the simulator, which were %.0f%% busy during the sharded runs (median).\n\n",
		runtime.NumCPU(), median(busy))
	fmt.Fprintln(w, "| shard | accounts | targets scanned | findings | wall | child peak RSS | child CPU |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for i := range res.sc.shards {
		var walls, cpus []time.Duration
		var rss []int64
		for _, shards := range res.shards {
			walls = append(walls, shards[i].Wall)
			cpus = append(cpus, shards[i].CPU)
			rss = append(rss, shards[i].MaxRSS)
		}
		s := res.shards[0][i].Row
		fmt.Fprintf(w, "| %d/%d | %d | %d | %d | %v | %s | %v |\n",
			i, res.sc.shards, s.Accounts, s.TargetsScanned, s.Findings, round(median(walls)), mib(median(rss)), round(median(cpus)))
	}
}

func row(w io.Writer, name string, runs []scanRun, base []baselineRun) {
	var walls, cpus, floors []time.Duration
	var ratios, floorRatios, speedups []float64
	var ecsCalls, throttled, viol, peak, rss, findings []int64
	for i, r := range runs {
		walls = append(walls, r.Wall)
		cpus = append(cpus, r.CPU)
		floors = append(floors, r.floor())
		ratios = append(ratios, ratio(r.Wall, r.Bound.Total))
		floorRatios = append(floorRatios, r.floorRatio())
		n := r.Stats.Calls["ListTaskDefinitions"] + r.Stats.Calls["DescribeTaskDefinition"]
		for _, op := range usageOps {
			n += r.Stats.Calls[op]
		}
		ecsCalls = append(ecsCalls, n)
		throttled = append(throttled, r.Row.ThrottledCalls)
		viol = append(viol, violations(r.Stats))
		peak = append(peak, peakECSRate(r.Stats))
		rss = append(rss, r.MaxRSS)
		findings = append(findings, r.Row.Findings)
		if i < len(base) {
			speedups = append(speedups, ratio(base[i].Estimated, r.Wall))
		}
	}
	exp := runs[0].Expected
	baseCol, speedCol := "—", "—"
	if len(base) > 0 {
		var bw []time.Duration
		for _, b := range base {
			bw = append(bw, b.Estimated)
		}
		baseCol = round(median(bw)).String()
		if base[0].Sampled {
			baseCol += fmt.Sprintf(" (est. from %d accounts)", base[0].Accounts)
		}
		speedCol = fmt.Sprintf("%.1f×", median(speedups))
	}
	fmt.Fprintf(w, "| %s | %d | %v | %v | %.2f | %v | %.2f | %d (%d + %d + %d planned) | %d | %d (max %d) | %d | %s (max %s) | %v | %s | %s | %d (%d) | %s | %s |\n",
		name, len(runs), round(median(walls)), round(runs[0].Bound.Total), median(ratios), round(median(floors)), median(floorRatios),
		median(ecsCalls), runs[0].Planned.pages, runs[0].Planned.describes, runs[0].Planned.usage.sum(),
		median(throttled), median(viol), slices.Max(viol), median(peak),
		mib(median(rss)), mib(slices.Max(rss)), round(median(cpus)),
		perThousandCol(runs, func(r scanRun) time.Duration { return r.CPU }),
		perThousandCol(runs, func(r scanRun) time.Duration { return r.SimCPU }),
		median(findings), exp.findings, baseCol, speedCol)
}

// perThousandCol is the median over runs of cpu(run) in core-seconds per
// 1,000 describes, over the runs that made any; — when none did.
func perThousandCol(runs []scanRun, cpu func(scanRun) time.Duration) string {
	var v []float64
	for _, r := range runs {
		if x, ok := perThousand(cpu(r), r.describes()); ok {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", median(v))
}

// callsByOp lists the simulator's calls by operation, largest first.
func callsByOp(st simorg.Stats) string {
	type kv struct {
		op string
		n  int64
	}
	var all []kv
	var total int64
	for op, n := range st.Calls {
		all = append(all, kv{op, n})
		total += n
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.n != b.n {
			return int(b.n - a.n)
		}
		return strings.Compare(a.op, b.op)
	})
	parts := make([]string, len(all))
	for i, c := range all {
		parts[i] = fmt.Sprintf("%s %d", c.op, c.n)
	}
	return fmt.Sprintf("%d: %s", total, strings.Join(parts, ", "))
}

func median[T int64 | float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// machine describes where the figures come from.
func machine() string {
	goVersion := runtime.Version()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%s, %s/%s, %d CPUs, %s", time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), goVersion)
}
