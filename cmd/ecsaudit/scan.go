package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/aws/smithy-go/logging"

	"github.com/ecsaudit/ecsaudit/accounts"
	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/job"
	"github.com/ecsaudit/ecsaudit/ocsf"
	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/shard"
	"github.com/ecsaudit/ecsaudit/taskdefs"
)

// scanFlags is the scan command's input, bound to flags and environment.
type scanFlags struct {
	Output              string        `json:"output"`
	Simulate            bool          `json:"simulate,omitempty"`
	RoleName            string        `json:"role_name"`
	ExternalID          string        `json:"-"` // a shared secret of sorts: never written
	Accounts            list          `json:"accounts,omitempty"`
	ExcludeAccounts     list          `json:"exclude_accounts,omitempty"`
	OUs                 list          `json:"ou,omitempty"`
	ExcludeOUs          list          `json:"exclude_ou,omitempty"`
	Regions             list          `json:"regions,omitempty"`
	Revisions           string        `json:"revisions"`
	UnsetUser           string        `json:"unset_user"`
	Compat              string        `json:"compat"`
	HostAccess          bool          `json:"host_access"`
	Concurrency         int           `json:"concurrency"`
	ECSRate             float64       `json:"ecs_rate"`
	ECSBurst            int           `json:"ecs_burst"`
	MaxAttempts         int           `json:"max_attempts"`
	CallTimeout         time.Duration `json:"-"`
	Grace               time.Duration `json:"-"`
	S3PathStyle         bool          `json:"s3_path_style,omitempty"`
	SSEKMSKeyID         string        `json:"sse_kms_key_id,omitempty"`
	ExpectedBucketOwner string        `json:"expected_bucket_owner,omitempty"`
	Full                bool          `json:"full,omitempty"`
	Shard               string        `json:"shard,omitempty"`
	SecurityHub         bool          `json:"securityhub,omitempty"`
	SecurityHubRegion   string        `json:"securityhub_region,omitempty"`
	OCSF                string        `json:"ocsf,omitempty"`
	RunID               string        `json:"-"`
	LogLevel            string        `json:"-"`
	LogFormat           string        `json:"-"`
	CPUProfile          string        `json:"-"`
	ProgressInterval    time.Duration `json:"-"`
}

func (f *scanFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.Output, "output", "./findings", "where to write the datasets: a `directory` or s3://bucket/prefix")
	fs.BoolVar(&f.Simulate, "simulate", false, "scan the embedded simulated organization instead of AWS (a demo; no credentials needed)")
	fs.StringVar(&f.RoleName, "role-name", "ecsaudit-read", "the read-only `role` to assume in every account")
	fs.StringVar(&f.ExternalID, "external-id", "", "the sts:ExternalId the role's trust policy requires")
	fs.Var(&f.Accounts, "accounts", "scan only these comma-separated account `ids`")
	fs.Var(&f.ExcludeAccounts, "exclude-accounts", "never scan these comma-separated account `ids`")
	fs.Var(&f.OUs, "ou", "scan only accounts in these comma-separated OU or root `ids`, or below them")
	fs.Var(&f.ExcludeOUs, "exclude-ou", "never scan accounts in these OU `ids` or below them")
	fs.Var(&f.Regions, "regions", "scan only these comma-separated `regions` (default: every enabled region of each account)")
	fs.StringVar(&f.Revisions, "revisions", "active", "which revisions: active (every ACTIVE one), latest (latest ACTIVE per family, AWS Config's scope) or all (ACTIVE and INACTIVE)")
	fs.StringVar(&f.UnsetUser, "unset-user", "pass", "verdict for a host-network container with no user: pass (the control's text) or fail (treat the image default as root)")
	fs.StringVar(&f.Compat, "compat", "control", "semantics: control, or aws-config to reproduce ECS_TASK_DEFINITION_USER_FOR_HOST_MODE_CHECK")
	fs.BoolVar(&f.HostAccess, "host-access", true, "also evaluate the host-access rule (ECSAUDIT.HOSTNET.2): root-equivalent capabilities, pid/ipc mode host, host mounts and devices on host networking; --host-access=false turns it off")
	fs.IntVar(&f.Concurrency, "concurrency", 0, "(account, region) targets scanned at once; 0: what this machine carries at the --ecs-rate budget, 128 per CPU and at most 768 calls in flight (256 targets at 10 requests/s, 153 from 20/s), within half its open files")
	fs.Float64Var(&f.ECSRate, "ecs-rate", 10, "client-side `requests/s` per (account, region) for each ECS bucket the scan draws on: task definitions (ListTaskDefinitions and DescribeTaskDefinition share one), and ListClusters, ListServices, DescribeServices, ListTasks and DescribeTasks, one each; AWS refills the task-definition bucket at 20/s, shared with your deploy pipelines")
	fs.IntVar(&f.ECSBurst, "ecs-burst", 10, "client-side burst per (account, region) for each of those ECS buckets; AWS's task-definition bucket holds 50")
	fs.IntVar(&f.MaxAttempts, "max-attempts", 10, "attempts per API call, throttling included")
	fs.DurationVar(&f.CallTimeout, "call-timeout", defaultCallTimeout, "how long one attempt of an API call may take before it is abandoned and retried")
	fs.DurationVar(&f.Grace, "grace", 20*time.Second, "after SIGTERM, how long in-flight targets may finish before the run commits as interrupted")
	fs.BoolVar(&f.S3PathStyle, "s3-path-style", false, "path-style S3 addressing, for S3-compatible endpoints")
	fs.StringVar(&f.SSEKMSKeyID, "sse-kms-key-id", "", "KMS `key` for SSE-KMS on written objects (default: the bucket's default encryption)")
	fs.StringVar(&f.ExpectedBucketOwner, "expected-bucket-owner", "", "`account id` that must own the output bucket")
	fs.BoolVar(&f.Full, "full", false, "describe every revision again instead of carrying verdicts of revisions an earlier run evaluated")
	fs.StringVar(&f.Shard, "shard", "", "scan only shard `I/N` (0-based) of the accounts; default from AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE under an AWS Batch array job")
	fs.BoolVar(&f.SecurityHub, "securityhub", false, "import the findings into AWS Security Hub, each account's with the scan role in that account")
	fs.StringVar(&f.SecurityHubRegion, "securityhub-region", "", "the `region` Security Hub findings go to (default: the job's region)")
	fs.StringVar(&f.OCSF, "ocsf", "", "also write OCSF Compliance Finding events (class 2003) for an Amazon Security Lake custom source to this `directory or s3://bucket/prefix` (the source's location, s3://<lake bucket>/ext/<source>)")
	fs.StringVar(&f.RunID, "run-id", "", "the run's `id`, common to all shards of one run (default: time and random; under AWS Batch, from the array job's id)")
	fs.StringVar(&f.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.LogFormat, "log-format", "auto", "json, text, or auto (text on a terminal, JSON otherwise)")
	fs.StringVar(&f.CPUProfile, "cpu-profile", "", "write a CPU profile of the run to this `file`, for go tool pprof")
	fs.DurationVar(&f.ProgressInterval, "progress-interval", 10*time.Second, "off a terminal, log a progress line (targets done and total, percent, eta_s, rate…) this often; on a terminal a progress bar shows instead")
}

var (
	regionPattern    = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$`)
	runIDPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	accountIDPattern = regexp.MustCompile(`^\d{12}$`)
)

// validate checks every value, so that bad input fails before anything is
// written or called.
func (f *scanFlags) validate() error {
	if err := assume.ValidateRoleName(f.RoleName); err != nil {
		return err
	}
	if err := assume.ValidateExternalID(f.ExternalID); err != nil {
		return err
	}
	if err := f.filter().Validate(); err != nil {
		return err
	}
	for _, r := range f.Regions {
		if !regionPattern.MatchString(r) {
			return fmt.Errorf("region %q: want a name such as eu-west-1", r)
		}
	}
	if _, err := taskdefs.ParseMode(f.Revisions); err != nil {
		return err
	}
	if f.UnsetUser != "pass" && f.UnsetUser != "fail" {
		return fmt.Errorf("unset-user %q: want pass or fail", f.UnsetUser)
	}
	if f.Compat != string(check.Control) && f.Compat != string(check.AWSConfig) {
		return fmt.Errorf("compat %q: want control or aws-config", f.Compat)
	}
	if f.Concurrency < 1 || f.Concurrency > 1024 {
		return fmt.Errorf("concurrency %d: want 0 (what the machine carries) or 1 to 1024", f.Concurrency)
	}
	if !(f.ECSRate > 0 && f.ECSRate <= 1000) {
		return fmt.Errorf("ecs-rate %v: want more than 0 and at most 1000 requests/s", f.ECSRate)
	}
	if f.ECSBurst < 1 || f.ECSBurst > 1000 {
		return fmt.Errorf("ecs-burst %d: want 1 to 1000", f.ECSBurst)
	}
	if f.MaxAttempts < 1 || f.MaxAttempts > 50 {
		return fmt.Errorf("max-attempts %d: want 1 to 50", f.MaxAttempts)
	}
	if f.CallTimeout < time.Second || f.CallTimeout > 10*time.Minute {
		return fmt.Errorf("call-timeout %v: want 1s to 10m", f.CallTimeout)
	}
	if f.ProgressInterval < 100*time.Millisecond || f.ProgressInterval > time.Hour {
		return fmt.Errorf("progress-interval %v: want 100ms to 1h", f.ProgressInterval)
	}
	if f.Grace < 0 || f.Grace > 10*time.Minute {
		return fmt.Errorf("grace %v: want 0 to 10m", f.Grace)
	}
	if f.ExpectedBucketOwner != "" && !accountIDPattern.MatchString(f.ExpectedBucketOwner) {
		return fmt.Errorf("expected-bucket-owner %q: want a 12-digit account id", f.ExpectedBucketOwner)
	}
	if f.Shard != "" {
		if _, err := shard.Parse(f.Shard); err != nil {
			return err
		}
	}
	if f.SecurityHubRegion != "" && !regionPattern.MatchString(f.SecurityHubRegion) {
		return fmt.Errorf("securityhub-region %q: want a name such as eu-west-1", f.SecurityHubRegion)
	}
	if f.SecurityHubRegion != "" && !f.SecurityHub {
		return errors.New("securityhub-region needs --securityhub")
	}
	if f.OCSF != "" && (strings.Contains(f.OCSF, "://") || strings.HasPrefix(strings.ToLower(f.OCSF), "s3:")) && !strings.HasPrefix(f.OCSF, "s3://") {
		return fmt.Errorf("ocsf %q: want a directory or s3://bucket/prefix", f.OCSF)
	}
	if f.RunID != "" && !runIDPattern.MatchString(f.RunID) {
		return fmt.Errorf("run-id %q: want 1-100 characters of letters, digits and ._-", f.RunID)
	}
	if f.Output == "" {
		return errors.New("output: want a directory or s3://bucket/prefix")
	}
	if (strings.Contains(f.Output, "://") || strings.HasPrefix(strings.ToLower(f.Output), "s3:")) && !strings.HasPrefix(f.Output, "s3://") {
		return fmt.Errorf("output %q: want a directory or s3://bucket/prefix", f.Output)
	}
	if !strings.HasPrefix(f.Output, "s3://") && (f.S3PathStyle || f.SSEKMSKeyID != "" || f.ExpectedBucketOwner != "") {
		return errors.New("s3-path-style, sse-kms-key-id and expected-bucket-owner need an s3:// output")
	}
	return nil
}

func (f *scanFlags) filter() accounts.Filter {
	return accounts.Filter{Accounts: f.Accounts, ExcludeAccounts: f.ExcludeAccounts, OUs: f.OUs, ExcludeOUs: f.ExcludeOUs}
}

func (f *scanFlags) rule() check.Options {
	return check.Options{Compat: check.Compat(f.Compat), UnsetUserFails: f.UnsetUser == "fail", HostAccess: f.HostAccess}
}

func scanCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (int, error) {
	var f scanFlags
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	f.bind(fs)
	if err := parse(fs, args, getenv, stdout); err != nil {
		return exitUsage, err
	}
	if f.Concurrency == 0 {
		f.Concurrency = defaultConcurrency(f.ECSRate)
	}
	if err := f.validate(); err != nil {
		return exitUsage, usageError{err}
	}
	// On a terminal, a progress bar; the log prints above it. Off a
	// terminal, the job logs a progress line every progressEvery.
	var display *progressDisplay
	logTo, logFormat := stderr, f.LogFormat
	if isTerminal(stderr) {
		if logFormat == "auto" {
			logFormat = "text"
		}
		if _, err := newLogger(f.LogLevel, logFormat, io.Discard); err != nil {
			return exitUsage, usageError{err}
		}
		display = newProgressDisplay(stderr)
		defer display.Stop()
		logTo = display
	}
	log, err := newLogger(f.LogLevel, logFormat, logTo)
	if err != nil {
		return exitUsage, usageError{err}
	}

	part, err := f.shardFromBatch(getenv)
	if err != nil {
		return exitUsage, usageError{err}
	}
	if part.Count > 1 && f.RunID == "" && getenv("AWS_BATCH_JOB_ID") == "" {
		// Each shard would make up its own run id, and no view would ever
		// show the run: the shards must share one.
		return exitUsage, usagef("shard %s: set --run-id (the same for every shard of the run)", part)
	}
	started := time.Now().UTC()
	runID := f.RunID
	if runID == "" {
		runID = defaultRunID(started, part, getenv)
	}
	// The attempt names this process's files. A run id made up here is
	// unique already; one shared with other processes (shards, a retried
	// shard, a rerun under --run-id) gets a unique suffix.
	attemptID := runID
	switch {
	case part.Count > 1:
		attemptID = fmt.Sprintf("%s-shard%dof%d-%s", runID, part.Index, part.Count, newRunID(started))
	case f.RunID != "":
		attemptID = runID + "-" + newRunID(started)
	}
	sink, earlier, err := f.sink(ctx)
	if err != nil {
		return exitFatal, err
	}
	awsCfg, stopSim, err := f.awsConfig(ctx, log)
	if err != nil {
		return exitFatal, err
	}
	defer stopSim()

	// Profile the run only once every input has been accepted.
	if f.CPUProfile != "" {
		prof, err := os.Create(f.CPUProfile)
		if err != nil {
			return exitFatal, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(prof); err != nil {
			prof.Close()
			return exitFatal, fmt.Errorf("cpu profile: %w", err)
		}
		defer func() { pprof.StopCPUProfile(); prof.Close() }()
	}
	if display != nil {
		// The SDK's own warnings go above the bar too.
		awsCfg.Logger = logging.NewStandardLogger(display)
	}
	opts, _ := json.Marshal(f)
	cfg := job.Config{
		AWS: awsCfg, RoleName: f.RoleName, ExternalID: f.ExternalID,
		Regions: f.Regions, Filter: f.filter(), Revisions: taskdefs.Mode(f.Revisions), Rule: f.rule(),
		Concurrency: f.Concurrency, ECSRate: f.ECSRate, ECSBurst: f.ECSBurst, Grace: f.Grace,
		Previous: earlier, Full: f.Full, Shard: part,
		RunID: runID, AttemptID: attemptID, Started: started, Version: version, Options: string(opts),
		Logger: log.With("run_id", runID),
	}
	var final job.Progress
	cfg.Progress = func(p job.Progress) {
		if p.Done {
			final = p
		}
		if display != nil {
			display.Update(p)
		}
	}
	if display == nil {
		cfg.ProgressEvery = f.ProgressInterval
	}
	var pubs publishers
	if f.SecurityHub {
		pubs = append(pubs, f.securityHub(awsCfg, runID, log.With("run_id", runID)))
	}
	if f.OCSF != "" {
		lake, err := f.sinkAt(ctx, f.OCSF, false)
		if err != nil {
			return exitFatal, err
		}
		pubs = append(pubs, ocsf.NewWriter(lake, attemptID, started, version))
	}
	if len(pubs) > 0 {
		cfg.Publisher = pubs
	}
	log.Info("scan starting", "run_id", runID, "shard", part.String(), "output", f.Output, "simulate", f.Simulate)
	row, err := job.Run(ctx, cfg, output.NewWriter(sink, attemptID, started))
	if errors.Is(err, job.ErrScope) {
		return exitUsage, usageError{err}
	}
	if display != nil {
		display.Stop() // before the summary: the bar is gone, nothing interleaves
	}
	printSummary(stdout, row, final, f.Output)
	if errors.Is(err, job.ErrShardsDisagree) {
		return exitDisagree, nil // the job logged why
	}
	if err != nil {
		return exitFatal, err
	}
	switch row.Status {
	case job.StatusComplete:
		return exitOK, nil
	case job.StatusPartial:
		return exitPartial, nil
	case job.StatusInterrupted:
		return exitInterrupted, nil
	}
	return exitFatal, errors.New("run failed")
}

// shardFromBatch returns --shard, or, when it is unset, the shard AWS Batch
// gives an array job's child.
func (f *scanFlags) shardFromBatch(getenv func(string) string) (shard.Spec, error) {
	if f.Shard != "" {
		return shard.Parse(f.Shard)
	}
	idx, size := getenv("AWS_BATCH_JOB_ARRAY_INDEX"), getenv("AWS_BATCH_JOB_ARRAY_SIZE")
	if idx == "" && size == "" {
		return shard.Single, nil
	}
	s, err := shard.Parse(idx + "/" + size)
	if err != nil {
		return shard.Spec{}, fmt.Errorf("AWS_BATCH_JOB_ARRAY_INDEX/SIZE: %w", err)
	}
	return s, nil
}

// defaultRunID returns a unique run id. Shards of an AWS Batch array job
// share the parent job's id (a child's AWS_BATCH_JOB_ID is "parent:index");
// otherwise it is the start time and 6 random bytes.
func defaultRunID(started time.Time, part shard.Spec, getenv func(string) string) string {
	if parent, _, _ := strings.Cut(getenv("AWS_BATCH_JOB_ID"), ":"); part.Count > 1 && runIDPattern.MatchString("batch-"+parent) && parent != "" {
		return "batch-" + parent
	}
	return newRunID(started)
}

// newRunID returns the start time and 6 random bytes: sortable and unique.
func newRunID(started time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return started.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, o)), nil
	case "auto":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, o)), nil
		}
		return slog.New(slog.NewJSONHandler(w, o)), nil
	}
	return nil, fmt.Errorf("log-format %q: want json, text or auto", format)
}

func printSummary(w io.Writer, r output.Run, p job.Progress, dest string) {
	skipped := r.Targets - r.TargetsScanned - r.TargetsNotScanned
	fmt.Fprintf(w, "ecsaudit run %s: %s\n", r.RunID, r.Status)
	fmt.Fprintf(w, "  accounts %d (not scanned %d), targets %d: scanned %d, not scanned %d, skipped %d\n", r.Accounts, r.AccountsNotScanned, r.Targets, r.TargetsScanned, r.TargetsNotScanned, skipped)
	fmt.Fprintf(w, "  task definitions %d (carried %d), findings %d: FAIL %d, PASS %d, NOT_APPLICABLE %d, ERROR %d\n", r.TaskDefinitions, r.Carried, r.Findings, r.Fail, r.Pass, r.NotApplicable, r.Errors)
	if n := p.FailByRule[check.HostAccessRuleID]; n > 0 {
		fmt.Fprintf(w, "    of the FAILs: control %d, host-access rule %d\n", r.Fail-n, n)
	}
	fmt.Fprintf(w, "  api calls %d, throttled %d, %s\n", r.APICalls, r.ThrottledCalls, r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond))
	if len(p.Excluded) > 0 {
		fmt.Fprintf(w, "  excluded accounts: %s\n", strings.Join(p.Excluded, ", "))
	}
	fmt.Fprintf(w, "  output %s\n", dest)
	if len(p.Worst) > 0 {
		fmt.Fprintf(w, "  worst failing task definitions (most failing containers first):\n")
		for _, t := range p.Worst {
			fmt.Fprintf(w, "    %s %-14s %s:%d  %s\n", t.AccountID, t.Region, printable(t.Family), t.Revision, printable(strings.Join(t.Containers, ", ")))
		}
	}
}

// printable keeps an untrusted name from sending control sequences to a
// terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

// publishers hands a run's findings to each of several destinations.
type publishers []job.Publisher

func (ps publishers) Add(findings []output.Finding, coverage []output.Coverage) {
	for _, p := range ps {
		p.Add(findings, coverage)
	}
}

// Finish finishes every destination, even after one failed.
func (ps publishers) Finish(ctx context.Context) ([]output.Export, error) {
	var rows []output.Export
	var errs []error
	for _, p := range ps {
		r, err := p.Finish(ctx)
		rows = append(rows, r...)
		errs = append(errs, err)
	}
	return rows, errors.Join(errs...)
}
