package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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
		SkipSignatureCheck: true,
	}
}

// scanRun is one run of the ecsaudit binary and what the simulator saw.
type scanRun struct {
	Wall     time.Duration
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
	concurrency int
	ecsRate     float64
	ecsBurst    int
	cpuProfile  string // passed as --cpu-profile when set
	extra       []string
}

// runScan serves org with opts, runs the binary against it once, and
// measures the run.
func runScan(ctx context.Context, org *simorg.Org, sopts simorg.Options, o scanOptions) (scanRun, error) {
	srv, err := simorg.Start(org, sopts)
	if err != nil {
		return scanRun{}, err
	}
	defer srv.Close()

	before, err := runIDs(o.out)
	if err != nil {
		return scanRun{}, err
	}
	args := []string{"scan", "--output", o.out,
		"--concurrency", strconv.Itoa(o.concurrency),
		"--ecs-rate", strconv.FormatFloat(o.ecsRate, 'f', -1, 64),
		"--ecs-burst", strconv.Itoa(o.ecsBurst),
		"--log-format", "json", "--log-level", "warn"}
	if o.cpuProfile != "" {
		args = append(args, "--cpu-profile", o.cpuProfile)
	}
	args = append(args, o.extra...)
	cmd := exec.CommandContext(ctx, o.bin, args...)
	home, err := os.MkdirTemp("", "ecsaudit-bench-home")
	if err != nil {
		return scanRun{}, err
	}
	defer os.RemoveAll(home)
	// The SDK's standard chain only: no profile, no IMDS, the simulator's
	// endpoint and the management account's static keys.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=" + simorg.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + simorg.SecretAccessKey,
		"AWS_ENDPOINT_URL=" + srv.URL(),
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	selfBefore := selfCPU()
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	simCPU := selfCPU() - selfBefore

	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return scanRun{}, fmt.Errorf("run ecsaudit: %w", err)
	}
	r := scanRun{Wall: wall, Exit: cmd.ProcessState.ExitCode(), Stats: srv.Stats(), SimCPU: simCPU, Stderr: tail(stderr.String(), 2000)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss * 1024 // kilobytes on Linux
		r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if r.Exit != 0 {
		return r, fmt.Errorf("ecsaudit exited %d\nstdout:\n%s\nstderr (tail):\n%s", r.Exit, stdout.String(), r.Stderr)
	}
	rows, err := readRuns(o.out)
	if err != nil {
		return r, err
	}
	for _, row := range rows {
		if !before[row.RunID] {
			r.Row = row
		}
	}
	if r.Row.RunID == "" {
		return r, fmt.Errorf("no new runs row under %s", o.out)
	}
	return r, nil
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

// runIDs are the runs already committed below dir.
func runIDs(dir string) (map[string]bool, error) {
	rows, err := readRuns(dir)
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r.RunID] = true
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
// bucket.
var ecsOps = []string{"ListTaskDefinitions", "ListTaskDefinitionFamilies", "DescribeTaskDefinition"}

// violations counts requests that found an ECS bucket empty: the budget was
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
