package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecsaudit/ecsaudit/job"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// TestSmallScenarioCounts runs a reduced small scenario end to end as a
// correctness check of the benchmark itself, never of speed: the real
// binary completes against the simulator, its runs row has exactly the
// findings the generated organization implies, the simulator saw exactly
// the list and describe calls the organization implies, no request found
// an ECS bucket empty, the naive baseline agrees on the findings, and
// --cpu-profile writes a profile.
func TestSmallScenarioCounts(t *testing.T) {
	bin, org, p, opts := reduced(t)
	ctx := context.Background()

	profile := filepath.Join(t.TempDir(), "cpu.pprof")
	r, err := runScan(ctx, org, opts, scanOptions{bin: bin, out: t.TempDir(), concurrency: 32, ecsRate: 10, ecsBurst: 10, cpuProfile: profile})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(profile); err != nil || st.Size() == 0 {
		t.Errorf("--cpu-profile wrote no profile: %v", err)
	}
	if r.Row.RunningTasks != p.tasks || r.Row.UsageNotRead != 0 {
		t.Errorf("runs row: %d running tasks (%d targets' usage unread), the organization implies %d", r.Row.RunningTasks, r.Row.UsageNotRead, p.tasks)
	}
	if r.Row.Findings != p.findings {
		t.Errorf("runs row: %d findings, the organization implies %d", r.Row.Findings, p.findings)
	}
	if got, want := r.Row.TargetsScanned, int64(len(p.revisions)); got != want {
		t.Errorf("runs row: %d targets scanned, want %d", got, want)
	}
	for op, want := range map[string]int64{
		"ListTaskDefinitions":    p.listCalls(),
		"DescribeTaskDefinition": p.describeCalls(),
		"AssumeRole":             int64(p.assumable),
		"DescribeRegions":        int64(p.assumable),
		"ListClusters":           p.usageCalls()[0],
		"ListServices":           p.usageCalls()[1],
		"DescribeServices":       p.usageCalls()[2],
		"ListTasks":              p.usageCalls()[3],
		"DescribeTasks":          p.usageCalls()[4],
	} {
		if got := r.Stats.Calls[op]; got != want {
			t.Errorf("%s calls: %d, the organization implies %d", op, got, want)
		}
	}
	if v := violations(r.Stats); v != 0 {
		t.Errorf("%d requests found an ECS bucket empty", v)
	}
	if r.MaxRSS <= 0 || r.CPU <= 0 {
		t.Errorf("no resource usage measured: RSS %d, CPU %v", r.MaxRSS, r.CPU)
	}

	b, err := baseline(ctx, org, opts, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Findings != p.findings || b.Sampled || b.Accounts != p.assumable {
		t.Errorf("baseline: %d findings over %d accounts (sampled %v), want %d over %d", b.Findings, b.Accounts, b.Sampled, p.findings, p.assumable)
	}
	if want := p.naiveCalls(simorg.Stats{Calls: map[string]int64{"ListAccounts": 1}}); b.Calls != want {
		t.Errorf("baseline: %d calls, want %d", b.Calls, want)
	}
}

// TestShardedScenarioSums runs the reduced organization unsharded and then
// as 3 concurrent shards of one run, as a correctness check of the sharded
// scenario, never of speed: every shard exits 0 and commits its own runs
// row of the same run, the shards' findings add up to the unsharded run's,
// every revision is described exactly once over all shards, and no request
// found an ECS bucket empty.
func TestShardedScenarioSums(t *testing.T) {
	bin, org, p, opts := reduced(t)
	ctx := context.Background()
	o := scanOptions{bin: bin, out: t.TempDir(), concurrency: 32, ecsRate: 10, ecsBurst: 10}
	single, err := runScan(ctx, org, opts, o)
	if err != nil {
		t.Fatal(err)
	}
	if single.Row.Findings != p.findings {
		t.Fatalf("unsharded: %d findings, the organization implies %d", single.Row.Findings, p.findings)
	}

	const n = 3
	o.out = t.TempDir()
	whole, shards, err := runShards(ctx, org, opts, o, n)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for i, s := range shards {
		if s.Exit != 0 || s.Row.ShardIndex != int32(i) || s.Row.ShardCount != n || s.Row.RunID != shards[0].Row.RunID {
			t.Errorf("shard %d: exit %d, runs row of shard %d/%d of run %q", i, s.Exit, s.Row.ShardIndex, s.Row.ShardCount, s.Row.RunID)
		}
		sum += s.Row.Findings
	}
	if sum != single.Row.Findings || whole.Row.Findings != sum {
		t.Errorf("shards' findings add up to %d (whole run %d), the unsharded run's are %d", sum, whole.Row.Findings, single.Row.Findings)
	}
	if got := whole.Stats.Calls["DescribeTaskDefinition"]; got != p.describeCalls() {
		t.Errorf("DescribeTaskDefinition calls over all shards: %d, the organization implies %d", got, p.describeCalls())
	}
	if v := violations(whole.Stats); v != 0 {
		t.Errorf("%d requests found an ECS bucket empty", v)
	}
}

// reduced skips the test in -short mode and runs it in parallel; it builds
// the binary and returns it with a reduced small organization (6 accounts
// × 2 regions × 30 revisions, with inactive and vanishing revisions), its
// plan, and a simulator with 1–3 ms of latency and AWS's ECS bucket.
func reduced(t *testing.T) (string, *simorg.Org, plan, simorg.Options) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	bin, err := buildBinary(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	org := simorg.Generate(simorg.Spec{Seed: 7, Accounts: 6, Regions: 2, RevisionsPerRegion: 30,
		NonCompliantShare: 0.1, InactiveShare: 0.1, VanishShare: 0.05, ServiceShare: serviceShare, StandaloneShare: standaloneShare})
	p := planFor(org)
	if p.findings == 0 || len(p.revisions) != 12 || p.tasks == 0 {
		t.Fatalf("plan: %d findings over %d targets", p.findings, len(p.revisions))
	}
	opts := simorg.Options{Latency: time.Millisecond, LatencyJitter: 2 * time.Millisecond, ECSLimit: simorg.RealECSLimit()}
	return bin, org, p, opts
}

// TestTLSScenario runs the reduced organization over HTTPS, as the tls
// scenario does: the child trusts the simulator's certificate through
// AWS_CA_BUNDLE and the baseline through its own transport, and both find
// every finding the organization implies.
func TestTLSScenario(t *testing.T) {
	bin, org, p, opts := reduced(t)
	opts.TLS = true
	ctx := context.Background()
	r, err := runScan(ctx, org, opts, scanOptions{bin: bin, out: t.TempDir(), concurrency: 32, ecsRate: 10, ecsBurst: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r.Row.Findings != p.findings || r.Stats.Calls["DescribeTaskDefinition"] != p.describeCalls() {
		t.Errorf("over TLS: %d findings and %d describes, the organization implies %d and %d",
			r.Row.Findings, r.Stats.Calls["DescribeTaskDefinition"], p.findings, p.describeCalls())
	}
	b, err := baseline(ctx, org, opts, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.Findings != p.findings {
		t.Errorf("baseline over TLS: %d findings, want %d", b.Findings, p.findings)
	}
	if sc := scenarios()["tls"]; !sc.tls || !simOptions(sc).TLS {
		t.Error("the tls scenario does not serve TLS")
	}
}

// TestLowerBound pins the bound's arithmetic to hand-computed cases.
func TestLowerBound(t *testing.T) {
	t.Parallel()
	const lat = 20 * time.Millisecond
	tests := []struct {
		name string
		w    work
		rate float64
		b    int
		want time.Duration
	}{
		// (1 page + 40 describes − burst 10) / 10 per second.
		{"small target", work{pages: 1, describes: 40}, 10, 10, 3100 * time.Millisecond},
		// (200 + 20,000 − 10) / 100 per second.
		{"hot target", work{pages: 200, describes: 20000}, 100, 10, 201900 * time.Millisecond},
		// Within the burst: latency decides, 1 page then ceil(40/2) rounds
		// (2 describes in flight at 10 per second).
		{"within burst", work{pages: 1, describes: 40}, 10, 50, 21 * lat},
		// The same at 100 per second: 4 in flight, ceil(40/4) rounds.
		{"within burst, fast budget", work{pages: 1, describes: 40}, 100, 50, 11 * lat},
		{"empty region", work{pages: 1}, 10, 10, lat},
		// What runs is read one call at a time beside the describes:
		// 1 + 2 + 2 + 2 + 2 round trips outlast 1 page and 1 describe.
		{"usage latency", work{pages: 1, describes: 1, usage: usageCalls{1, 2, 2, 2, 2}}, 10, 10, 9 * lat},
		// One usage bucket's calls beyond the burst, at the rate:
		// (30 − 10) / 10 per second.
		{"usage bucket", work{pages: 1, usage: usageCalls{1, 1, 30, 1, 0}}, 10, 10, 2 * time.Second},
	}
	for _, tt := range tests {
		if got := targetBound(tt.w, tt.rate, tt.b, lat); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}

	// 64 small targets, 32 at a time: two rounds of budget.
	targets := fullWork(slices.Repeat([]int{40}, 64), nil)
	got := lowerBound(targets, 32, 10, 10, lat)
	if got.Budget != 6200*time.Millisecond || got.Total != 6200*time.Millisecond+3*lat {
		t.Errorf("lowerBound of 64 targets: %+v", got)
	}
	// 65 targets: the 65th needs a third round, which the average misses.
	got = lowerBound(fullWork(slices.Repeat([]int{40}, 65), nil), 32, 10, 10, lat)
	if got.Binding != "whole rounds of targets" || got.Rounds != 9300*time.Millisecond {
		t.Errorf("lowerBound of 65 targets: %+v", got)
	}
	// One hot target among quiet ones: the slowest target decides.
	got = lowerBound(fullWork(append(slices.Repeat([]int{10}, 199), 20000), nil), 32, 100, 10, lat)
	if got.Binding != "slowest target" || got.Total != 201900*time.Millisecond+3*lat {
		t.Errorf("lowerBound with a hot target: %+v", got)
	}
}

// TestChildEnv: the child gets exactly the Go runtime's four settings from
// this process's environment, those that are set, and nothing else of it.
func TestChildEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"GOMEMLIMIT": "200MiB", "GODEBUG": "gctrace=1", "GOMAXPROCS": "2", "GOGC": "",
		"GOFLAGS": "-race", "GOPATH": "/go", "HOME": "/root", "AWS_REGION": "eu-west-1", "ECSAUDIT_CONCURRENCY": "8",
	}
	got := childEnv(func(k string) string { return env[k] })
	want := []string{"GOMEMLIMIT=200MiB", "GODEBUG=gctrace=1", "GOMAXPROCS=2"}
	if !slices.Equal(got, want) {
		t.Errorf("childEnv = %q, want %q", got, want)
	}
	if got := childEnv(func(string) string { return "" }); got != nil {
		t.Errorf("childEnv of an empty environment = %q, want none", got)
	}
	if got := envPrefix(want); got != "GOMEMLIMIT=200MiB GODEBUG=gctrace=1 GOMAXPROCS=2 " {
		t.Errorf("envPrefix = %q", got)
	}
}

// TestDefaultConcurrency runs the reduced organization with no
// -concurrency, as every scenario does: the child gets no --concurrency
// flag, and the concurrency its runs row records is the one the benchmark
// computes for the bound. With GOMAXPROCS=1 passed through, the child
// picks what one CPU carries, as this process computes it.
func TestDefaultConcurrency(t *testing.T) {
	bin, org, p, opts := reduced(t)
	ctx := context.Background()
	for _, tt := range []struct {
		env  []string
		rate float64
		want int
	}{
		{nil, 10, defaultConcurrency(10)},
		{[]string{"GOMAXPROCS=1"}, 10, job.Concurrency(1, openFiles(), 10)},
		{nil, 100, defaultConcurrency(100)}, // 5 calls in flight a target: fewer targets
	} {
		r, err := runScan(ctx, org, opts, scanOptions{bin: bin, out: t.TempDir(), ecsRate: tt.rate, ecsBurst: 10, env: tt.env})
		if err != nil {
			t.Fatal(err)
		}
		if got := rowConcurrency(r.Row); got != tt.want {
			t.Errorf("env %q: the child ran at concurrency %d, the bound assumes %d", tt.env, got, tt.want)
		}
		if r.Row.Findings != p.findings {
			t.Errorf("env %q: %d findings, the organization implies %d", tt.env, r.Row.Findings, p.findings)
		}
	}
}

// TestOverridden: without -concurrency a scenario passes no --concurrency
// flag and keeps its name; with it, the flag is passed and the name ends
// in -custom, as with any budget of one's own.
func TestOverridden(t *testing.T) {
	t.Parallel()
	known := scenarios()
	for name, sc := range known {
		if sc.concurrency != 0 {
			t.Errorf("%s: concurrency %d, want 0 (ecsaudit's default)", name, sc.concurrency)
		}
	}
	c := config{baselineAccounts: -1}
	sc := overridden(known["small"], c)
	args := scanArgs(scanOptions{out: "out", concurrency: sc.concurrency, ecsRate: sc.ecsRate, ecsBurst: sc.ecsBurst})
	if sc.name != "small" || slices.Contains(args, "--concurrency") {
		t.Errorf("no override: scenario %q, args %q; want small and no --concurrency", sc.name, args)
	}
	c.concurrency = 64
	sc = overridden(known["small"], c)
	args = scanArgs(scanOptions{out: "out", concurrency: sc.concurrency, ecsRate: sc.ecsRate, ecsBurst: sc.ecsBurst})
	if i := slices.Index(args, "--concurrency"); sc.name != "small-custom" || i < 0 || args[i+1] != "64" {
		t.Errorf("-concurrency 64: scenario %q, args %q; want small-custom and --concurrency 64", sc.name, args)
	}
	c = config{baselineAccounts: -1, ecsRate: 5}
	if sc = overridden(known["small"], c); sc.name != "small-custom" || sc.concurrency != 0 || sc.ecsRate != 5 {
		t.Errorf("-ecs-rate 5: scenario %q at concurrency %d, rate %g; want small-custom at 0, 5", sc.name, sc.concurrency, sc.ecsRate)
	}
}

// TestCPUFigures pins the CPU floor and the CPU per 1,000 describes to
// hand-computed cases, and checks that the summary's rows have as many
// columns as its header.
func TestCPUFigures(t *testing.T) {
	t.Parallel()
	// (1.2 s + 1.4 s) over 2 CPUs.
	if got := cpuFloor(1200*time.Millisecond, 1400*time.Millisecond, 2); got != 1300*time.Millisecond {
		t.Errorf("cpuFloor over 2 CPUs: %v, want 1.3s", got)
	}
	if got := cpuFloor(3*time.Second, time.Second, 0); got != 4*time.Second {
		t.Errorf("cpuFloor over no CPUs counted: %v, want 4s", got)
	}
	for _, tt := range []struct {
		cpu   time.Duration
		calls int64
		want  float64
		ok    bool
	}{
		{440 * time.Millisecond, 1000, 0.44, true},
		{2200 * time.Millisecond, 5000, 0.44, true}, // 2.2 core-s over 5 thousands
		{90 * time.Second, 850_000, 90.0 / 850, true},
		{time.Second, 0, 0, false},
	} {
		got, ok := perThousand(tt.cpu, tt.calls)
		if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("perThousand(%v, %d) = %v, %v; want %v, %v", tt.cpu, tt.calls, got, ok, tt.want, tt.ok)
		}
	}

	// CPU time for a floor of 3 s on this machine, whatever its CPUs.
	cpus := time.Duration(runtime.NumCPU())
	r := scanRun{Wall: 6 * time.Second, CPU: 2 * time.Second * cpus, SimCPU: time.Second * cpus,
		Bound: bound{Total: 2 * time.Second}, Stats: simorg.Stats{Calls: map[string]int64{"DescribeTaskDefinition": 4000}}}
	if r.floor() != 3*time.Second || r.floorRatio() != 2 {
		t.Errorf("floor %v, wall ÷ max(bound 2s, floor) %v; want 3s and 2", r.floor(), r.floorRatio())
	}
	r.Bound.Total = 4 * time.Second
	if r.floorRatio() != 1.5 {
		t.Errorf("wall ÷ max(bound 4s, floor 3s) %v, want 1.5", r.floorRatio())
	}
	// r: 2 core-s per CPU over 4 thousand describes.
	none := scanRun{CPU: time.Second, Stats: simorg.Stats{Calls: map[string]int64{}}}
	childCPU := func(r scanRun) time.Duration { return r.CPU }
	if got, want := perThousandCol([]scanRun{none, r}, childCPU), fmt.Sprintf("%.2f", float64(runtime.NumCPU())/2); got != want {
		t.Errorf("perThousandCol skipping a run without describes: %s, want %s", got, want)
	}
	if got := perThousandCol([]scanRun{none}, childCPU); got != "—" {
		t.Errorf("perThousandCol without describes: %s, want —", got)
	}

	var b strings.Builder
	summary(&b, []result{{sc: scenario{name: "x"}, cold: []scanRun{r, none}}})
	var cells []int
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(line, "|") {
			cells = append(cells, strings.Count(line, "|"))
		}
	}
	if len(cells) != 3 || cells[0] != cells[1] || cells[0] != cells[2] {
		t.Errorf("summary: cells per table line %v, want 3 lines alike:\n%s", cells, b.String())
	}
}

// TestScenarioSettings: -scenario all runs every scenario, and wide-real
// is the wide organization at AWS's real bucket under ecsaudit's default
// budget, sampled by the baseline as wide is.
func TestScenarioSettings(t *testing.T) {
	t.Parallel()
	known := scenarios()
	for _, n := range names(known) {
		if !slices.Contains(allScenarios, n) {
			t.Errorf("-scenario all leaves out %s", n)
		}
	}
	for _, n := range allScenarios {
		if _, ok := known[n]; !ok {
			t.Errorf("-scenario all names %s, which is no scenario", n)
		}
	}
	wide, wr := known["wide"], known["wide-real"]
	if wr.scale != 1 || wr.ecsRate != 10 || wr.ecsBurst != 10 || wr.concurrency != 0 ||
		wr.baselineAccounts != wide.baselineAccounts || wr.next != nil || wr.shards != 0 || wr.tls {
		t.Errorf("wide-real: %+v", wr)
	}
}
