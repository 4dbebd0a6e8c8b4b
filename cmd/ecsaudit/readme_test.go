package main

import (
	"flag"
	"os"
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
