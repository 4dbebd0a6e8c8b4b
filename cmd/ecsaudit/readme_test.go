package main

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestREADMEDocumentsEveryFlag keeps the README's flag table in step with
// the code: a new flag without documentation fails here.
func TestREADMEDocumentsEveryFlag(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var f scanFlags
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	f.bind(fs)
	fs.VisitAll(func(fl *flag.Flag) {
		row := "| `--" + fl.Name + "` | `" + envName(fl.Name) + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README has no row starting %s", row)
		}
	})
}

// TestREADMEDocumentsEveryRemediateFlag does the same for remediate's
// table, within its own section.
func TestREADMEDocumentsEveryRemediateFlag(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "`ecsaudit remediate` flags")
	if !ok {
		t.Fatal("README has no remediate flags table")
	}
	_, section, _ = strings.Cut(section, "\n\n") // the line that introduces the table
	section, _, _ = strings.Cut(section, "\n\n")
	var f remediateFlags
	fs := flag.NewFlagSet("remediate", flag.ContinueOnError)
	f.bind(fs)
	fs.VisitAll(func(fl *flag.Flag) {
		env := "`" + envName(fl.Name) + "`"
		if slices.Contains(noEnv, fl.Name) {
			env = "none"
		}
		if row := "| `--" + fl.Name + "` | " + env + " |"; !strings.Contains(section, row) {
			t.Errorf("README's remediate table has no row starting %s", row)
		}
	})
}
