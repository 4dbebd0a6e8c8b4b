package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ecsaudit/ecsaudit/simorg"
)

// simCommand serves a simulated organization until interrupted, and prints
// the environment that points the SDK (and so ecsaudit scan) at it.
func simCommand(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fixture := fs.String("fixture", "", "a JSON fixture `file` (default: the embedded demo organization)")
	accounts := fs.Int("generate-accounts", 0, "generate an organization of this many accounts instead of a fixture")
	regions := fs.Int("generate-regions", 3, "with --generate-accounts: enabled regions per account (1-17)")
	revisions := fs.Int("generate-revisions", 20, "with --generate-accounts: task definition revisions per account and region")
	seed := fs.Int64("seed", 1, "with --generate-accounts: the generator's seed")
	throttle := fs.Bool("throttle", true, "apply ECS's real token bucket per (account, region): burst 50, 20/s")
	latency := fs.Duration("latency", 0, "added to every response")
	useTLS := fs.Bool("tls", false, "serve HTTPS with a certificate of the simulator's own, written to a file that AWS_CA_BUNDLE names")
	if err := parse(fs, args, getenv, stdout); err != nil {
		return err
	}
	var org *simorg.Org
	switch {
	case *fixture != "" && *accounts > 0:
		return usagef("--fixture and --generate-accounts exclude each other")
	case *fixture != "":
		o, err := simorg.Load(*fixture)
		if err != nil {
			return usageError{err}
		}
		org = o
	case *accounts > 0:
		if *regions < 1 || *regions > 17 || *revisions < 0 || *accounts > 100000 {
			return usagef("generate: want 1-17 regions, revisions ≥ 0, at most 100000 accounts")
		}
		org = simorg.Generate(simorg.Spec{Seed: *seed, Accounts: *accounts, Regions: *regions, RevisionsPerRegion: *revisions, NonCompliantShare: 0.1})
	default:
		org = simorg.Default()
	}
	if *latency < 0 {
		return usagef("latency %v: want 0 or more", *latency)
	}
	opts := simorg.Options{Latency: *latency, TLS: *useTLS}
	if *throttle {
		opts.ECSLimit = simorg.RealECSLimit()
	}
	srv, err := simorg.Start(org, opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	trust := ""
	if ca := srv.CABundle(); ca != nil {
		f, err := os.CreateTemp("", "simorg-ca-*.pem")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		if _, err := f.Write(ca); err != nil {
			return errors.Join(err, f.Close())
		}
		if err := f.Close(); err != nil {
			return err
		}
		trust = " AWS_CA_BUNDLE=" + f.Name()
	}
	fmt.Fprintf(stdout, "# simulated organization %s serving; point the SDK at it with:\n", org.ID())
	fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s%s\n",
		srv.URL(), simorg.AccessKeyID, simorg.SecretAccessKey, trust)
	<-ctx.Done()
	return nil
}
