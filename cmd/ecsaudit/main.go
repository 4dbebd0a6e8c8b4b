// Command ecsaudit audits every ECS task definition of an AWS organization
// against the control "host networking must not run privileged containers or
// containers as root", and writes Parquet findings for Athena.
//
//	ecsaudit scan [flags]   scan the organization (or --simulate one)
//	ecsaudit report [flags] show the posture of a scan's output (text, json, markdown, csv, html)
//	ecsaudit remediate [flags]  plan (and --apply) the fix of failing revisions
//	ecsaudit sim [flags]    serve a simulated organization on loopback
//	ecsaudit version        print the version
//
// Exit codes: 0 complete, 1 fatal (organization not listable, output not
// writable), 2 usage error, 3 complete with some targets not scanned,
// 4 interrupted, 5 the last shard of a run found that its shards disagree.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes.
const (
	exitOK          = 0
	exitFatal       = 1
	exitUsage       = 2
	exitPartial     = 3
	exitInterrupted = 4
	exitDisagree    = 5 // this shard committed; the run's shards do not add up
)

func main() {
	setMemoryLimit(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a bad flag or value: one line, exit 2, nothing written.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

const topUsage = `usage: ecsaudit <command> [flags]

commands:
  scan      scan the organization's ECS task definitions (see 'ecsaudit scan --help')
  remediate plan, and with --apply register, the fix of failing task definitions (see 'ecsaudit remediate --help')
  report    show the organization's posture from the scan's output (see 'ecsaudit report --help')
  sim       serve a simulated organization on loopback (see 'ecsaudit sim --help')
  version   print the version
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return exitUsage
	}
	var err error
	code := exitOK
	switch args[0] {
	case "scan":
		code, err = scanCommand(ctx, args[1:], getenv, stdout, stderr)
	case "remediate":
		code, err = remediateCommand(ctx, args[1:], getenv, stdout, stderr)
	case "report":
		err = reportCommand(ctx, args[1:], getenv, stdout)
	case "sim":
		err = simCommand(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "ecsaudit", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, topUsage)
	default:
		err = usagef("unknown command %q (want scan, report, remediate, sim or version)", args[0])
	}
	var ue usageError
	switch {
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "ecsaudit:", ue.err)
		return exitUsage
	case err != nil:
		fmt.Fprintln(stderr, "ecsaudit:", err)
		return exitFatal
	}
	return code
}
