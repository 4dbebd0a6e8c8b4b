package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/ecsaudit/ecsaudit/accounts"
	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/remediate"
	"github.com/ecsaudit/ecsaudit/taskdefs"
	"github.com/ecsaudit/ecsaudit/usage"
)

// remediateFlags is the remediate command's input, bound to flags and
// environment.
type remediateFlags struct {
	ARNs                list
	Output              string
	Out                 string
	User                string
	UserMap             string
	Accounts            list
	Regions             list
	Simulate            bool
	RoleName            string
	RemediationRoleName string
	ExternalID          string
	Apply               bool
	S3PathStyle         bool
	LogLevel            string
	LogFormat           string
}

// noEnv are the remediate flags that have no environment variable: what
// changes an organization must be typed.
var noEnv = []string{"apply"}

func (f *remediateFlags) bind(fs *flag.FlagSet) {
	fs.Var(appendList{&f.ARNs}, "arn", "a failing task definition revision's `ARN` to remediate; repeat the flag or separate with commas")
	fs.StringVar(&f.Output, "output", "", "read the control's failing revisions (and what runs them) from the newest complete run in these datasets: a `directory` or s3://bucket/prefix")
	fs.StringVar(&f.Out, "out", "./remediation", "write the plan and files to this local `directory` (never S3: the files hold environment values)")
	fs.StringVar(&f.User, "user", "", "the non-root `user` failing containers run as, such as 1000:1000")
	fs.StringVar(&f.UserMap, "user-map", "", "a JSON `file` of family → container → user, which wins over --user")
	fs.Var(&f.Accounts, "accounts", "remediate only in these comma-separated account `ids`")
	fs.Var(&f.Regions, "regions", "remediate only in these comma-separated `regions`")
	fs.BoolVar(&f.Simulate, "simulate", false, "remediate the embedded simulated organization instead of AWS (a demo; no credentials needed)")
	fs.StringVar(&f.RoleName, "role-name", "ecsaudit-read", "the read-only `role` that reads the live revisions and what runs them")
	fs.StringVar(&f.RemediationRoleName, "remediation-role-name", "ecsaudit-remediate", "the `role` --apply registers with, deployed only where remediation is wanted")
	fs.StringVar(&f.ExternalID, "external-id", "", "the sts:ExternalId both roles' trust policies require")
	fs.BoolVar(&f.Apply, "apply", false, "register the new revisions (never services) with the remediation role; no environment variable")
	fs.BoolVar(&f.S3PathStyle, "s3-path-style", false, "path-style S3 addressing for an s3:// --output, for S3-compatible endpoints")
	fs.StringVar(&f.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.LogFormat, "log-format", "auto", "json, text, or auto (text on a terminal, JSON otherwise)")
}

// appendList is a list flag that adds to itself each time it is given.
type appendList struct{ l *list }

func (a appendList) String() string {
	if a.l == nil {
		return ""
	}
	return a.l.String()
}

func (a appendList) Set(s string) error {
	var more list
	more.Set(s) //nolint:errcheck // never fails
	for _, v := range more {
		if !slices.Contains(*a.l, v) {
			*a.l = append(*a.l, v)
		}
	}
	return nil
}

// validate checks every value and reads the user map, before anything is
// called or written.
func (f *remediateFlags) validate() (remediate.Users, []remediate.Failing, error) {
	users := remediate.Users{Default: f.User}
	if len(f.ARNs) == 0 && f.Output == "" {
		return users, nil, errors.New("nothing to remediate: give --arn or --output")
	}
	var named []remediate.Failing
	for _, a := range f.ARNs {
		it, err := remediate.ParseARN(a)
		if err != nil {
			return users, nil, err
		}
		named = append(named, it)
	}
	if f.User != "" {
		if err := remediate.ValidateUser(f.User); err != nil {
			return users, nil, err
		}
	}
	if f.UserMap != "" {
		b, err := os.ReadFile(f.UserMap)
		if err != nil {
			return users, nil, fmt.Errorf("user-map: %w", err)
		}
		if users.ByFamily, err = remediate.ParseUserMap(b); err != nil {
			return users, nil, err
		}
	}
	if f.Out == "" || strings.Contains(f.Out, "://") || strings.HasPrefix(strings.ToLower(f.Out), "s3:") {
		return users, nil, fmt.Errorf("out %q: want a local directory (the files hold environment values: never S3)", f.Out)
	}
	if f.Output != "" && (strings.Contains(f.Output, "://") || strings.HasPrefix(strings.ToLower(f.Output), "s3:")) && !strings.HasPrefix(f.Output, "s3://") {
		return users, nil, fmt.Errorf("output %q: want a directory or s3://bucket/prefix", f.Output)
	}
	if err := (accounts.Filter{Accounts: f.Accounts}).Validate(); err != nil {
		return users, nil, err
	}
	for _, r := range f.Regions {
		if !regionPattern.MatchString(r) {
			return users, nil, fmt.Errorf("region %q: want a name such as eu-west-1", r)
		}
	}
	for _, name := range []string{f.RoleName, f.RemediationRoleName} {
		if err := assume.ValidateRoleName(name); err != nil {
			return users, nil, err
		}
	}
	if f.RoleName == f.RemediationRoleName {
		return users, nil, errors.New("remediation-role-name: want a role other than the read-only --role-name")
	}
	if err := assume.ValidateExternalID(f.ExternalID); err != nil {
		return users, nil, err
	}
	return users, named, nil
}

// sdk returns the scan's SDK settings for the remediate command.
func (f *remediateFlags) sdk() *scanFlags {
	return &scanFlags{Simulate: f.Simulate, Concurrency: 4, MaxAttempts: 10, CallTimeout: defaultCallTimeout, S3PathStyle: f.S3PathStyle}
}

func remediateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (int, error) {
	var f remediateFlags
	fs := flag.NewFlagSet("remediate", flag.ContinueOnError)
	f.bind(fs)
	env := func(k string) string {
		for _, name := range noEnv {
			if k == envName(name) {
				return ""
			}
		}
		return getenv(k)
	}
	if err := parse(fs, args, env, stdout); err != nil {
		return exitUsage, err
	}
	users, named, err := f.validate()
	if err != nil {
		return exitUsage, usageError{err}
	}
	log, err := newLogger(f.LogLevel, f.LogFormat, stderr)
	if err != nil {
		return exitUsage, usageError{err}
	}
	sdk := f.sdk()
	awsCfg, stopSim, err := sdk.awsConfig(ctx, log)
	if err != nil {
		return exitFatal, err
	}
	defer stopSim()
	if len(f.Accounts) > 0 {
		list, err := accounts.List(ctx, organizations.NewFromConfig(awsCfg))
		if err != nil {
			return exitFatal, fmt.Errorf("list the organization to check --accounts: %w", err)
		}
		var bad []string
		for _, id := range f.Accounts {
			if !slices.ContainsFunc(list, func(a accounts.Account) bool { return a.ID == id }) {
				bad = append(bad, id)
			}
		}
		if len(bad) > 0 {
			return exitUsage, usagef("--accounts %s is no account of the organization", strings.Join(bad, ","))
		}
	}

	header := fmt.Sprintf("Generated %s by ecsaudit %s", time.Now().UTC().Format(time.RFC3339), version)
	var failing []remediate.Failing
	if f.Output != "" {
		src, err := f.source(ctx, sdk)
		if err != nil {
			return exitFatal, err
		}
		runID, fromData, err := remediate.FromDatasets(ctx, src)
		if err != nil {
			return exitFatal, fmt.Errorf("read the datasets at %s: %w", f.Output, err)
		}
		if runID == "" {
			return exitFatal, fmt.Errorf("the datasets at %s hold no finished run (complete or partial)", f.Output)
		}
		header += fmt.Sprintf(" from the failing revisions of run %s in %s", runID, f.Output)
		failing = fromData
	}
	for _, n := range named {
		if !slices.ContainsFunc(failing, func(x remediate.Failing) bool { return x.ARN == n.ARN }) {
			failing = append(failing, n)
		}
	}
	if len(named) > 0 {
		header += fmt.Sprintf(", and %d revisions named with --arn", len(named))
	}
	header += "."
	failing = slices.DeleteFunc(failing, func(x remediate.Failing) bool {
		return (len(f.Accounts) > 0 && !slices.Contains(f.Accounts, x.Account)) || (len(f.Regions) > 0 && !slices.Contains(f.Regions, x.Region))
	})

	slices.SortFunc(failing, func(a, b remediate.Failing) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Region, b.Region), remediate.CompareARN(a.ARN, b.ARN))
	})
	r := &remediator{flags: &f, cfg: awsCfg, sts: sts.NewFromConfig(awsCfg), users: users, log: log,
		creds: map[string]aws.CredentialsProvider{}, usage: map[[2]string]*liveUsage{}}
	items := make([]remediate.Item, len(failing))
	errs := make([]error, len(failing))
	var g errgroup.Group
	g.SetLimit(4)
	for i, x := range failing {
		g.Go(func() error {
			items[i], errs[i] = r.one(ctx, x)
			return nil
		})
	}
	g.Wait() //nolint:errcheck // each goroutine reports into its own slot
	var done []remediate.Item
	code := exitOK
	for i, err := range errs {
		if err != nil {
			fmt.Fprintf(stderr, "ecsaudit: %s: %v\n", failing[i].ARN, err)
			code = exitPartial
		}
		if items[i].ARN != "" { // planned, even if --apply then failed
			done = append(done, items[i])
		}
	}
	if err := remediate.Write(f.Out, done, header); err != nil {
		return exitFatal, err
	}
	printPlan(stdout, done, f.Out, f.Apply)
	return code, nil
}

// source returns the datasets at --output to read.
func (f *remediateFlags) source(ctx context.Context, sdk *scanFlags) (output.Source, error) {
	if !strings.HasPrefix(f.Output, "s3://") {
		return output.Dir(f.Output), nil
	}
	_, src, err := sdk.s3(ctx, f.Output, false)
	return src, err
}

// remediator reads, plans and applies one failing revision at a time,
// sharing credentials per account and role, and live usage per target.
type remediator struct {
	flags *remediateFlags
	cfg   aws.Config
	sts   *sts.Client
	users remediate.Users
	log   *slog.Logger

	mu    sync.Mutex
	creds map[string]aws.CredentialsProvider // role name + account → provider
	usage map[[2]string]*liveUsage
}

// liveUsage is what runs in one target, read once.
type liveUsage struct {
	once sync.Once
	rows []usage.Row
	err  error
}

// client returns an ECS client in the account and region with a role.
func (r *remediator) client(partition, account, region, role string) *ecs.Client {
	r.mu.Lock()
	creds, ok := r.creds[role+"/"+account]
	if !ok {
		creds = assume.Credentials(r.sts, partition, account, assume.Options{RoleName: role, ExternalID: r.flags.ExternalID, SessionName: "ecsaudit-remediate"})
		r.creds[role+"/"+account] = creds
	}
	r.mu.Unlock()
	cfg := r.cfg.Copy()
	cfg.Region, cfg.Credentials = region, creds
	return ecs.NewFromConfig(cfg)
}

func (r *remediator) one(ctx context.Context, x remediate.Failing) (remediate.Item, error) {
	a, _ := arn.Parse(x.ARN)
	read := r.client(a.Partition, x.Account, x.Region, r.flags.RoleName)
	full, err := taskdefs.DescribeFull(ctx, read, x.ARN)
	if err != nil {
		return remediate.Item{}, err
	}
	if err := remediate.CheckNames(x.Account, x.Region, full.TaskDefinition.Family); err != nil {
		return remediate.Item{}, err
	}
	if !x.UsageKnown && len(x.Containers) == 0 {
		// Named with --arn: read what runs it live.
		r.mu.Lock()
		u, ok := r.usage[[2]string{x.Account, x.Region}]
		if !ok {
			u = &liveUsage{}
			r.usage[[2]string{x.Account, x.Region}] = u
		}
		r.mu.Unlock()
		u.once.Do(func() {
			got, err := usage.Read(ctx, read, read, read)
			u.rows, u.err = got.Rows, err
		})
		if u.err != nil {
			x.UsageNote = "could not read what runs in " + x.Region + ": " + u.err.Error()
		} else {
			x.UsageKnown, x.Uses, x.UsageNote = true, remediate.UsesOf(u.rows, x.ARN), "read live"
		}
	}
	it := remediate.Plan(x.Account, x.Region, full, x.Containers, r.users, x.Uses, x.UsageKnown, x.UsageNote)
	if r.flags.Apply && it.Action == remediate.Register {
		if err := remediate.Apply(ctx, r.client(a.Partition, x.Account, x.Region, r.flags.RemediationRoleName), &it); err != nil {
			return it, err
		}
		r.log.Info("remediation applied", "account", x.Account, "region", x.Region, "task_definition", it.ARN, "new", it.NewARN, "applied", it.Applied)
	}
	return it, nil
}

func printPlan(w io.Writer, items []remediate.Item, dir string, applied bool) {
	fmt.Fprintf(w, "ecsaudit remediate: %d failing revisions\n", len(items))
	for _, it := range items {
		line := fmt.Sprintf("  %s %s %s:%d  %s", it.Account, it.Region, it.Family, it.Revision, it.Action)
		if it.NewARN != "" {
			line += fmt.Sprintf(" (%s %s)", it.Applied, it.NewARN)
		}
		fmt.Fprintln(w, line)
	}
	if !applied {
		fmt.Fprintln(w, "  nothing registered: review the plan, then run again with --apply")
	}
	fmt.Fprintf(w, "  plan %s/%s\n", dir, remediate.PlanFile)
	fmt.Fprintf(w, "  the register files hold the task definitions' environment values: they stay local, in %s (0700; files 0600)\n", dir)
}
