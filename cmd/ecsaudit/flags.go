package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// errHelp is returned after --help printed the usage.
var errHelp = errors.New("help requested")

// envPrefix prefixes every flag's environment variable: --role-name is
// ECSAUDIT_ROLE_NAME.
const envPrefix = "ECSAUDIT_"

// envName returns the environment variable that stands in for a flag.
func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args, then fills every flag not given on the command line
// from its environment variable. Flags win over the environment.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, stdout)
			return errHelp
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = usagef("invalid value %q for %s: %v", v, envName(f.Name), e)
			}
		}
	})
	return err
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "usage: ecsaudit %s [flags]\n\nEvery flag can also be set by its environment variable; the flag wins.\n\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", name)
		}
		fmt.Fprintf(w, "  (env %s", envName(f.Name))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			fmt.Fprintf(w, ", default %s", f.DefValue)
		}
		fmt.Fprintf(w, ")\n      %s\n", usage)
	})
}

// list is a comma-separated flag value.
type list []string

func (l *list) String() string { return strings.Join(*l, ",") }

// Set replaces the list with the comma-separated values of s, each once:
// a region or account named twice must not be scanned twice.
func (l *list) Set(s string) error {
	*l = nil
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(*l, v) {
			*l = append(*l, v)
		}
	}
	return nil
}
