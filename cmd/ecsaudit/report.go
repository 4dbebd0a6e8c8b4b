package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/report"
)

// reportMemoryLimit is the report's soft memory limit unless GOMEMLIMIT
// sets another.
const reportMemoryLimit = 320 << 20

// reportRules are the rules --rule names.
var reportRules = map[string]string{"control": report.RuleControl, "host-access": report.RuleHostAccess}

// reportFlags is the report command's input, bound to flags and environment.
type reportFlags struct {
	Output              string
	Format              string
	Out                 string
	Limit               int
	TrendDays           int
	Rule                string
	S3PathStyle         bool
	ExpectedBucketOwner string
}

func (f *reportFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&f.Output, "output", "./findings", "the scan's output to read: a `directory` or s3://bucket/prefix")
	fs.StringVar(&f.Format, "format", "auto", "text, json, markdown, csv or html; auto is text on a terminal and json otherwise")
	fs.StringVar(&f.Out, "out", "", "write the report to this `file` instead of standard output (required for html)")
	fs.IntVar(&f.Limit, "limit", report.DefaultLimit, "how many task definitions and gaps each list of text, markdown and html shows (json and csv list all)")
	fs.IntVar(&f.TrendDays, "trend-days", 14, "how many posture days (days with a complete run, and today) the trend shows")
	fs.StringVar(&f.Rule, "rule", "control", "whose posture: control (ECSAUDIT.HOSTNET.1) or host-access (ECSAUDIT.HOSTNET.2)")
	fs.BoolVar(&f.S3PathStyle, "s3-path-style", false, "path-style S3 addressing, for S3-compatible endpoints")
	fs.StringVar(&f.ExpectedBucketOwner, "expected-bucket-owner", "", "`account id` that must own the output bucket")
}

// validate checks every value before anything is read or written.
func (f *reportFlags) validate(stdout io.Writer) error {
	if f.Format == "auto" {
		f.Format = report.FormatJSON
		if isTerminal(stdout) {
			f.Format = report.FormatText
		}
	}
	if !slices.Contains(report.Formats, f.Format) {
		return fmt.Errorf("format %q: want auto, %s", f.Format, strings.Join(report.Formats, ", "))
	}
	if f.Format == report.FormatHTML && f.Out == "" {
		return errors.New("format html needs --out report.html")
	}
	if f.Limit < 1 || f.Limit > 1_000_000 {
		return fmt.Errorf("limit %d: want 1 to 1000000", f.Limit)
	}
	if _, ok := reportRules[f.Rule]; !ok {
		return fmt.Errorf("rule %q: want control or host-access", f.Rule)
	}
	if f.TrendDays < 1 || f.TrendDays > 400 {
		return fmt.Errorf("trend-days %d: want 1 to 400", f.TrendDays)
	}
	if f.ExpectedBucketOwner != "" && !accountIDPattern.MatchString(f.ExpectedBucketOwner) {
		return fmt.Errorf("expected-bucket-owner %q: want a 12-digit account id", f.ExpectedBucketOwner)
	}
	if f.Output == "" || (strings.Contains(f.Output, "://") || strings.HasPrefix(strings.ToLower(f.Output), "s3:")) && !strings.HasPrefix(f.Output, "s3://") {
		return fmt.Errorf("output %q: want a directory or s3://bucket/prefix", f.Output)
	}
	if strings.HasPrefix(f.Output, "s3://") {
		if _, _, err := output.ParseS3URL(f.Output); err != nil {
			return err
		}
	} else {
		if f.S3PathStyle || f.ExpectedBucketOwner != "" {
			return errors.New("s3-path-style and expected-bucket-owner need an s3:// output")
		}
		if st, err := os.Stat(f.Output); err != nil || !st.IsDir() {
			return fmt.Errorf("output %s: no such directory (run ecsaudit scan --output %s first)", f.Output, f.Output)
		}
	}
	if f.Out != "" {
		if st, err := os.Stat(filepath.Dir(f.Out)); err != nil || !st.IsDir() {
			return fmt.Errorf("out %s: its directory does not exist", f.Out)
		}
	}
	return nil
}

// reportCommand prints (or writes to --out) the posture of the output.
func reportCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var f reportFlags
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	f.bind(fs)
	if err := parse(fs, args, getenv, stdout); err != nil {
		return err
	}
	if err := f.validate(stdout); err != nil {
		return usageError{err}
	}
	var src output.Source = output.Dir(f.Output)
	if strings.HasPrefix(f.Output, "s3://") {
		sf := scanFlags{S3PathStyle: f.S3PathStyle, ExpectedBucketOwner: f.ExpectedBucketOwner,
			CallTimeout: defaultCallTimeout, MaxAttempts: 10, Concurrency: 4}
		_, s, err := sf.s3(ctx, f.Output, true)
		if err != nil {
			return err
		}
		src = s
	}
	if getenv("GOMEMLIMIT") == "" {
		// Decoding Parquet makes garbage fast; a soft limit keeps the heap
		// near what the report holds (a few hundred bytes per failing
		// container and a few words per revision) instead of twice that.
		debug.SetMemoryLimit(reportMemoryLimit)
	}
	rep, err := report.Load(ctx, src, time.Now(), report.Options{TrendDays: f.TrendDays, Rule: reportRules[f.Rule]})
	if err != nil {
		return err
	}
	if rep.NewestRun == nil {
		return fmt.Errorf("%s: no complete run to report on", f.Output)
	}
	if f.Out == "" {
		return report.Write(stdout, rep, f.Format, f.Limit)
	}
	return writeFile(f.Out, func(w io.Writer) error { return report.Write(w, rep, f.Format, f.Limit) })
}

// writeFile writes path through a temporary file renamed into place, so a
// failure leaves nothing behind.
func writeFile(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := errors.Join(fill(tmp), tmp.Close()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
