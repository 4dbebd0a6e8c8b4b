// Command ecsaudit-bench measures the real ecsaudit binary against a
// simulated organization on loopback, and a naive sequential scan of the
// same organization for comparison.
//
//	go run ./cmd/ecsaudit-bench -scenario small
//	go run ./cmd/ecsaudit-bench -scenario small,hot -runs 3
//	go run ./cmd/ecsaudit-bench -scenario wide -runs 1 -baseline=false
//	go run ./cmd/ecsaudit-bench -scenario wide-real -runs 1 -baseline=false
//	go run ./cmd/ecsaudit-bench -scenario sharded -shards 4
//
// It builds cmd/ecsaudit, serves a generated organization in-process with
// simorg (10–30 ms of latency per call and AWS's ECS token bucket per
// (account, region), scaled where a scenario says so), runs the binary
// against it through AWS_ENDPOINT_URL (with this command's GOMEMLIMIT,
// GOGC, GODEBUG and GOMAXPROCS, when set), and reports per run: wall time
// against a computed lower bound and against a CPU floor (the child's and
// the simulator's CPU time over the machine's CPUs), API calls by
// operation, throttled calls, bucket violations (requests that found the
// simulator's bucket empty), the child's peak RSS, its CPU time and the
// simulator's (also per 1,000 DescribeTaskDefinition calls), and the
// findings of its runs row. ecsaudit runs at the concurrency it picks for
// the machine unless -concurrency sets one, and the bound assumes the
// same. The sharded scenario runs an organization once unsharded and then
// as -shards concurrent child processes of one run, and reports the gain.
// The scenarios and the lower bound are described in docs/performance.md.
//
// Scenarios: small, tls, hot, warm, sharded, wide, wide-real, warm-wide
// (see -list). Nothing is asserted on time: the figures are printed, and
// a Markdown summary table closes the output. Only shards whose findings
// do not add up to the unsharded run's make the command fail, after the
// summary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ecsaudit-bench:", err)
		os.Exit(1)
	}
}

// allScenarios is what -scenario all runs, in order: every scenario, the
// quick ones first.
var allScenarios = []string{"small", "tls", "hot", "warm", "sharded", "wide", "wide-real", "warm-wide"}

// config is the command's input.
type config struct {
	scenarios        []string
	runs             int
	baseline         bool
	baselineAccounts int // -1: the scenario's default; 0: every account
	bin              string
	cpuProfiles      string // directory for one CPU profile per run
	workDir          string
	concurrency      int
	ecsRate          float64
	ecsBurst         int
	shards           int      // the sharded scenario's shard count
	shardedBase      string   // the scenario the sharded scenario shards
	env              []string // the Go runtime's settings passed to the child: childEnv
}

func (c *config) validate(known map[string]scenario) error {
	for _, s := range c.scenarios {
		if _, ok := known[s]; !ok {
			return fmt.Errorf("scenario %q: want one of %s", s, strings.Join(names(known), ", "))
		}
	}
	if c.runs < 1 || c.runs > 100 {
		return fmt.Errorf("runs %d: want 1 to 100", c.runs)
	}
	if b, ok := known[c.shardedBase]; !ok || b.shards > 0 || b.next != nil {
		return fmt.Errorf("sharded-base %q: want a scenario scanned once a run (small, tls, hot, wide, wide-real)", c.shardedBase)
	}
	if c.shards < 2 || c.shards > 64 {
		return fmt.Errorf("shards %d: want 2 to 64", c.shards)
	}
	if c.concurrency < 0 || c.ecsRate < 0 || c.ecsBurst < 0 || c.baselineAccounts < -1 {
		return errors.New("concurrency, ecs-rate, ecs-burst and baseline-accounts must not be negative")
	}
	return nil
}

// overridden is sc with the budget and baseline c sets. A budget of one's
// own (-concurrency, -ecs-rate, -ecs-burst) gets its own label, directory
// and profiles: the name ends in -custom. Without -concurrency the child
// gets no --concurrency flag and picks its own.
func overridden(sc scenario, c config) scenario {
	if c.concurrency > 0 || c.ecsRate > 0 || c.ecsBurst > 0 {
		sc.name += "-custom"
	}
	if c.concurrency > 0 {
		sc.concurrency = c.concurrency
	}
	if c.ecsRate > 0 {
		sc.ecsRate = c.ecsRate
	}
	if c.ecsBurst > 0 {
		sc.ecsBurst = c.ecsBurst
	}
	if c.baselineAccounts >= 0 {
		sc.baselineAccounts = c.baselineAccounts
	}
	return sc
}

func names(m map[string]scenario) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	known := scenarios()
	var c config
	fs := flag.NewFlagSet("ecsaudit-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarioList := fs.String("scenario", "small", "comma-separated scenarios: "+strings.Join(names(known), ", ")+", or all")
	list := fs.Bool("list", false, "describe the scenarios and exit")
	fs.IntVar(&c.runs, "runs", 3, "runs of each scenario; medians are reported")
	fs.BoolVar(&c.baseline, "baseline", true, "also run the naive sequential scan after each run")
	fs.IntVar(&c.baselineAccounts, "baseline-accounts", -1, "accounts the baseline scans before extrapolating (-1: the scenario's default, 0: all)")
	fs.StringVar(&c.bin, "bin", "", "an ecsaudit binary to run (default: build ./cmd/ecsaudit)")
	fs.StringVar(&c.cpuProfiles, "cpu-profile", "", "write the child's CPU profile of each run into this `directory` (ecsaudit --cpu-profile)")
	fs.StringVar(&c.workDir, "workdir", "", "keep outputs and logs in this `directory` (default: a temporary one, removed)")
	fs.IntVar(&c.concurrency, "concurrency", 0, "run ecsaudit with --concurrency `n` (default: no flag, ecsaudit picks its own and the bound assumes the same)")
	fs.Float64Var(&c.ecsRate, "ecs-rate", 0, "override the scenario's --ecs-rate")
	fs.IntVar(&c.ecsBurst, "ecs-burst", 0, "override the scenario's --ecs-burst")
	fs.IntVar(&c.shards, "shards", 4, "the sharded scenario's shards, run at once as child processes")
	fs.StringVar(&c.shardedBase, "sharded-base", "small", "the `scenario` the sharded scenario scans unsharded and in shards")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *list {
		width := 0
		for n := range known {
			width = max(width, len(n))
		}
		for _, n := range names(known) {
			fmt.Fprintf(stdout, "%-*s %s\n", width, n, known[n].about)
		}
		return nil
	}
	c.env = childEnv(os.Getenv)
	c.scenarios = strings.Split(*scenarioList, ",")
	if *scenarioList == "all" {
		c.scenarios = allScenarios
	}
	if err := c.validate(known); err != nil {
		return err
	}

	work := c.workDir
	if work == "" {
		dir, err := os.MkdirTemp("", "ecsaudit-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	if c.cpuProfiles != "" {
		if err := os.MkdirAll(c.cpuProfiles, 0o755); err != nil {
			return err
		}
	}
	if c.bin == "" {
		bin, err := buildBinary(ctx, work)
		if err != nil {
			return err
		}
		c.bin = bin
	}
	fmt.Fprintf(stdout, "# ecsaudit-bench: %s\n", machine())

	var results []result
	for _, name := range c.scenarios {
		sc := known[name]
		if sc.shards > 0 {
			sc = sharded(known[c.shardedBase], c.shards)
		}
		sc = overridden(sc, c)
		res, err := bench(ctx, sc, c, filepath.Join(work, sc.name), stdout)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		results = append(results, res)
	}
	summary(stdout, results)
	var mismatches []error
	for _, res := range results {
		mismatches = append(mismatches, res.mismatches...)
	}
	return errors.Join(mismatches...)
}
