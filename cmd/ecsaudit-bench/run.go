package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// buildBinary builds the real ecsaudit command into dir, the way a user
// would, and returns its path.
func buildBinary(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "ecsaudit")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ecsaudit/ecsaudit/cmd/ecsaudit")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ecsaudit: %w\n%s", err, out)
	}
	return bin, nil
}

// simOptions are the simulator's settings for a scenario: latency with
// jitter, AWS's ECS bucket scaled by the scenario, and signatures trusted
// rather than recomputed, so the simulator's CPU goes to serving.
func simOptions(sc scenario) simorg.Options {
	return simorg.Options{
		Latency: latencyMin, LatencyJitter: latencyJitter, Seed: seed,
		ECSLimit: simorg.RealECSLimit(), LimitScale: sc.scale,
		SkipSignatureCheck: true, TLS: sc.tls,
	}
}

// scanRun is one run of the ecsaudit binary and what the simulator saw. For
// a run made of shards, it is either one shard (its own wall, exit, runs row,
// RSS and CPU) or the whole run (see runShards).
type scanRun struct {
	Wall     time.Duration
	Started  time.Time // when the child started
	Ended    time.Time // when the child exited
	Exit     int
	Row      output.Run
	Stats    simorg.Stats
	MaxRSS   int64         // bytes, the child's peak resident set
	CPU      time.Duration // the child's user + system time
	SimCPU   time.Duration // this process's user + system time meanwhile: mostly the simulator
	Stderr   string        // the tail of the child's log
	Bound    bound
	Expected plan
	Planned  work // the ECS calls the organization implies, summed over targets
}

// scanOptions are the knobs of one run of the binary.
type scanOptions struct {
	bin         string
	out         string // the output directory; kept across runs for warm
	concurrency int    // passed as --concurrency; 0: none, ecsaudit picks its own
	ecsRate     float64
	ecsBurst    int
	cpuProfile  string   // passed as --cpu-profile when set
	env         []string // added to the child's environment: childEnv
	extra       []string
}

// runtimeVars are the Go runtime's settings that the child takes from this
// process's environment, so that it runs as this process was asked to.
var runtimeVars = [...]string{"GOMEMLIMIT", "GOGC", "GODEBUG", "GOMAXPROCS"}

// childEnv is the runtimeVars that getenv sets, as NAME=value in
// runtimeVars' order. Nothing else of this process's environment reaches
// the child.
func childEnv(getenv func(string) string) []string {
	var env []string
	for _, k := range runtimeVars {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// runScan serves org with sopts, runs the binary against it once, and
// measures the run.
func runScan(ctx context.Context, org *simorg.Org, sopts simorg.Options, o scanOptions) (scanRun, error) {
	whole, _, err := runShards(ctx, org, sopts, o, 1)
	return whole, err
}

// runShards serves org with sopts and runs the binary against it as n
// concurrent child processes, shards 0/n to n-1/n of one run (--shard i/n,
// a common --run-id) writing into o.out; n = 1 is one unsharded run, with
// neither flag. With a CPU profile, shard i writes it to the named file with
// "-shard<i>" before the extension. It returns the whole run, then each
// shard by index. The whole run's wall is from the first shard's start to
// the last shard's exit; its stats and CPU are the simulator's; its runs
// row is the shards' rows summed, its CPU the shards' CPU summed, its RSS
// the largest shard's. Every shard is waited for; an error names each shard
// that failed.
func runShards(ctx context.Context, org *simorg.Org, sopts simorg.Options, o scanOptions, n int) (scanRun, []scanRun, error) {
	srv, err := simorg.Start(org, sopts)
	if err != nil {
		return scanRun{}, nil, err
	}
	defer srv.Close()

	before, err := attempts(o.out)
	if err != nil {
		return scanRun{}, nil, err
	}
	home, err := os.MkdirTemp("", "ecsaudit-bench-home")
	if err != nil {
		return scanRun{}, nil, err
	}
	defer os.RemoveAll(home)
	// The SDK's standard chain only: no profile, no IMDS, the simulator's
	// endpoint and the management account's static keys; and the Go
	// runtime's settings this process was given.
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=" + simorg.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + simorg.SecretAccessKey,
		"AWS_ENDPOINT_URL=" + srv.URL(),
	}
	env = append(env, o.env...)
	if ca := srv.CABundle(); ca != nil {
		bundle := filepath.Join(home, "ca.pem")
		if err := os.WriteFile(bundle, ca, 0o600); err != nil {
			return scanRun{}, nil, err
		}
		env = append(env, "AWS_CA_BUNDLE="+bundle)
	}
	runID := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	shards := make([]scanRun, n)
	errs := make([]error, n)
	selfBefore := selfCPU()
	var wg sync.WaitGroup
	for i := range n {
		args, profile := scanArgs(o), o.cpuProfile
		if n > 1 {
			args = append(args, "--shard", fmt.Sprintf("%d/%d", i, n), "--run-id", runID)
			if profile != "" {
				ext := filepath.Ext(profile)
				profile = fmt.Sprintf("%s-shard%d%s", strings.TrimSuffix(profile, ext), i, ext)
			}
		}
		if profile != "" {
			args = append(args, "--cpu-profile", profile)
		}
		args = append(args, o.extra...)
		wg.Go(func() {
			shards[i], errs[i] = runChild(ctx, o.bin, args, env)
			if errs[i] != nil && n > 1 {
				errs[i] = fmt.Errorf("shard %d/%d: %w", i, n, errs[i])
			}
		})
	}
	wg.Wait()
	simCPU := selfCPU() - selfBefore
	if err := errors.Join(errs...); err != nil {
		return scanRun{}, shards, err
	}

	rows, err := readRuns(o.out)
	if err != nil {
		return scanRun{}, shards, err
	}
	for _, row := range rows {
		if i := int(row.ShardIndex); !before[row.AttemptID] && i < n {
			shards[i].Row = row
		}
	}
	whole := shards[0]
	for i, s := range shards {
		if s.Row.RunID == "" {
			return scanRun{}, shards, fmt.Errorf("no new runs row for shard %d/%d under %s", i, n, o.out)
		}
		if i == 0 {
			continue
		}
		if s.Started.Before(whole.Started) {
			whole.Started = s.Started
		}
		if s.Ended.After(whole.Ended) {
			whole.Ended = s.Ended
		}
		whole.Row = addCounts(whole.Row, s.Row)
		whole.MaxRSS = max(whole.MaxRSS, s.MaxRSS)
		whole.CPU += s.CPU
	}
	whole.Wall = whole.Ended.Sub(whole.Started)
	whole.Stats, whole.SimCPU = srv.Stats(), simCPU
	return whole, shards, nil
}

// scanArgs are the arguments every child gets; --concurrency only when
// o sets one.
func scanArgs(o scanOptions) []string {
	args := []string{"scan", "--output", o.out}
	if o.concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(o.concurrency))
	}
	return append(args,
		"--ecs-rate", strconv.FormatFloat(o.ecsRate, 'f', -1, 64),
		"--ecs-burst", strconv.Itoa(o.ecsBurst),
		"--log-format", "json", "--log-level", "warn")
}

// rowConcurrency is the concurrency a runs row says its attempt ran at: the
// "concurrency" of its options, 0 when they do not say.
func rowConcurrency(row output.Run) int {
	var opts struct {
		Concurrency int `json:"concurrency"`
	}
	if json.Unmarshal([]byte(row.Options), &opts) != nil {
		return 0
	}
	return opts.Concurrency
}

// runChild runs the binary once with args and env and measures the
// process; the runs row is read by the caller.
func runChild(ctx context.Context, bin string, args, env []string) (scanRun, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	started := time.Now()
	err := cmd.Run()
	ended := time.Now()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return scanRun{}, fmt.Errorf("run ecsaudit: %w", err)
	}
	r := scanRun{Wall: ended.Sub(started), Started: started, Ended: ended, Exit: cmd.ProcessState.ExitCode(), Stderr: tail(stderr.String(), 2000)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
		r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if r.Exit != 0 {
		return r, fmt.Errorf("ecsaudit exited %d\nstdout:\n%s\nstderr (tail):\n%s", r.Exit, stdout.String(), r.Stderr)
	}
	return r, nil
}

// addCounts adds b's counts to a's, for the runs rows of the shards of one
// run; a's identity (run id, status, times) stays.
func addCounts(a, b output.Run) output.Run {
	a.Accounts += b.Accounts
	a.Targets += b.Targets
	a.TargetsScanned += b.TargetsScanned
	a.TargetsNotScanned += b.TargetsNotScanned
	a.AccountsNotScanned += b.AccountsNotScanned
	a.TaskDefinitions += b.TaskDefinitions
	a.Carried += b.Carried
	a.Findings += b.Findings
	a.Fail += b.Fail
	a.Pass += b.Pass
	a.NotApplicable += b.NotApplicable
	a.Errors += b.Errors
	a.APICalls += b.APICalls
	a.ThrottledCalls += b.ThrottledCalls
	a.UsageNotRead += b.UsageNotRead
	a.Services += b.Services
	a.RunningTasks += b.RunningTasks
	return a
}

// selfCPU is this process's user and system time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readRuns reads every runs row below the output directory with
// parquet-go, independently of the scanner's own reader.
func readRuns(dir string) ([]output.Run, error) {
	files, err := filepath.Glob(filepath.Join(dir, output.RunsDataset, "dt=*", "*.parquet"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var rows []output.Run
	for _, f := range files {
		rs, err := parquet.ReadFile[output.Run](f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		rows = append(rows, rs...)
	}
	return rows, nil
}

// attempts are the attempts (one per shard of a run) already committed
// below dir.
func attempts(dir string) (map[string]bool, error) {
	rows, err := readRuns(dir)
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r.AttemptID] = true
	}
	return ids, err
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// ecsOps are the ECS operations, whose calls spend the (account, region)
// buckets: the task-definition reads' shared one, and one per usage read.
var ecsOps = append([]string{"ListTaskDefinitions", "ListTaskDefinitionFamilies", "DescribeTaskDefinition"}, usageOps[:]...)

// violations counts requests that found an ECS bucket empty: a budget was
// overspent.
func violations(st simorg.Stats) int64 {
	var n int64
	for _, op := range ecsOps {
		n += st.Throttled[op]
	}
	return n
}

// peakECSRate is the most ECS requests one (account, region) received
// within one second.
func peakECSRate(st simorg.Stats) int64 {
	var m int64
	for _, v := range st.MaxECSPerSecond {
		m = max(m, v)
	}
	return m
}
