package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ecsaudit/ecsaudit/simorg"
)

var summaryRunID = regexp.MustCompile(`ecsaudit run (\S+): (\w+)`)

// runIDOf returns the run id the summary printed.
func runIDOf(t *testing.T, res scanResult) string {
	t.Helper()
	m := summaryRunID.FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("no summary (exit %d)\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	return m[1]
}

// verdicts returns one string per findings row of a run, without the
// columns that legitimately differ between runs.
func verdicts(t *testing.T, dir, runID string) []string {
	t.Helper()
	var out []string
	cols := "run_id, account_id, region, task_definition_arn, status, container_name, image, coalesce(CAST(privileged AS VARCHAR), 'null'), coalesce(\"user\", 'null'), user_unset, rule_id, result, reason, severity"
	for _, r := range query(t, dir, "findings", cols) {
		if r[0] == runID {
			out = append(out, strings.Join(r[1:], " | "))
		}
	}
	slices.Sort(out)
	return out
}

// TestWarmRunEqualsColdRun: the next night, with new revisions, a run that
// carries earlier verdicts writes exactly what a full run writes, and
// describes only what it has not seen.
func TestWarmRunEqualsColdRun(t *testing.T) {
	t.Parallel()
	spec := simorg.Spec{Seed: 11, Accounts: 5, Regions: 2, RevisionsPerRegion: 30, NonCompliantShare: 0.2, InactiveShare: 0.1, VanishShare: 0.05}
	night1 := simorg.Generate(spec)
	spec.NewRevisionsShare = 0.1
	night2 := simorg.Generate(spec)

	out := t.TempDir()
	srv1, err := simorg.Start(night1, simorg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv1.Close()
	cold := runScan(t, srv1, nil, "--output", out)
	if cold.code != exitOK {
		t.Fatalf("night 1: exit %d\n%s", cold.code, cold.stderr)
	}

	srv2, err := simorg.Start(night2, simorg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	warm := runScan(t, srv2, nil, "--output", out)
	warmDescribes := srv2.Stats().Calls["DescribeTaskDefinition"]
	srv2.ResetStats()
	full := runScan(t, srv2, nil, "--full")
	fullDescribes := srv2.Stats().Calls["DescribeTaskDefinition"]
	if warm.code != exitOK || full.code != exitOK {
		t.Fatalf("night 2: warm exit %d, full exit %d\n%s\n%s", warm.code, full.code, warm.stderr, full.stderr)
	}

	got, want := verdicts(t, out, runIDOf(t, warm)), verdicts(t, full.out, runIDOf(t, full))
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("warm run differs from full run: %d vs %d rows\nwarm only: %q\nfull only: %q",
			len(got), len(want), minus(got, want), minus(want, got))
	}

	// Described again: night 2's new revisions, and the ones that could not
	// be described on night 1 (ERROR is never cached).
	var active1, vanished1, active2 int
	for _, a := range night1.Accounts() {
		for _, reg := range night1.EnabledRegions(a.ID) {
			for _, td := range night1.TaskDefinitions(a.ID, reg) {
				if td.Status == simorg.StatusActive {
					active1++
					if td.Vanishes {
						vanished1++
					}
				}
			}
			for _, td := range night2.TaskDefinitions(a.ID, reg) {
				if td.Status == simorg.StatusActive {
					active2++
				}
			}
		}
	}
	if fullDescribes != int64(active2) {
		t.Errorf("full run described %d, the org has %d active revisions", fullDescribes, active2)
	}
	if wantWarm := int64(active2 - active1 + vanished1); warmDescribes != wantWarm {
		t.Errorf("warm run described %d revisions, want %d (new %d + vanished %d)", warmDescribes, wantWarm, active2-active1, vanished1)
	}
	t.Logf("describes: warm %d, full %d (%.1f%%)", warmDescribes, fullDescribes, 100*float64(warmDescribes)/float64(fullDescribes))

	// Carried rows are marked and keep their night-1 scan time.
	warmID := runIDOf(t, warm)
	var started string
	for _, r := range query(t, out, "runs", "run_id, CAST(epoch_ms(started_at) AS VARCHAR)") {
		if r[0] == warmID {
			started = r[1]
		}
	}
	var carried, carriedLate int
	for _, r := range query(t, out, "findings", "run_id, carried, CAST(epoch_ms(scanned_at) AS VARCHAR)") {
		if r[0] == warmID && r[1] == "true" {
			carried++
			if len(r[2]) > len(started) || (len(r[2]) == len(started) && r[2] >= started) {
				carriedLate++
			}
		}
	}
	if carried == 0 || carriedLate != 0 {
		t.Errorf("%d carried rows, %d of them scanned during the warm run: want some, and none", carried, carriedLate)
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// TestShardsTogetherEqualOneRun: four shards of one run, started at once,
// write together exactly what one unsharded run writes, each account in
// exactly one shard.
func TestShardsTogetherEqualOneRun(t *testing.T) {
	t.Parallel()
	org := simorg.Generate(simorg.Spec{Seed: 5, Accounts: 13, Regions: 2, RevisionsPerRegion: 8, NonCompliantShare: 0.3})
	srv, err := simorg.Start(org, simorg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// Last night's run in the same output: the shards plan by its work per
	// account and carry its verdicts.
	out := t.TempDir()
	single := runScan(t, srv, nil, "--output", out)
	want := verdicts(t, out, runIDOf(t, single))

	var wg sync.WaitGroup
	results := make([]scanResult, 4)
	for i := range results {
		wg.Go(func() {
			// The Batch variables pick the shard and the shared run id.
			results[i] = runScan(t, srv, []string{
				fmt.Sprintf("AWS_BATCH_JOB_ARRAY_INDEX=%d", i), "AWS_BATCH_JOB_ARRAY_SIZE=4",
				fmt.Sprintf("AWS_BATCH_JOB_ID=0f6a0ad8-39b4-4a5c-9c55-1a2b3c4d5e6f:%d", i),
			}, "--output", out)
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.code != exitOK || runIDOf(t, r) != "batch-0f6a0ad8-39b4-4a5c-9c55-1a2b3c4d5e6f" {
			t.Fatalf("shard %d: exit %d, run %s\n%s", i, r.code, runIDOf(t, r), r.stderr)
		}
		if !strings.Contains(r.stderr, `"plan_run_id":"`) || strings.Contains(r.stderr, `"plan_run_id":""`) {
			t.Errorf("shard %d did not plan by last night's work:\n%s", i, r.stderr)
		}
	}
	got := verdicts(t, out, "batch-0f6a0ad8-39b4-4a5c-9c55-1a2b3c4d5e6f")
	if !slices.Equal(got, want) {
		t.Fatalf("shards' union differs from one run: %d vs %d rows\nshards only: %q\nsingle only: %q", len(got), len(want), minus(got, want), minus(want, got))
	}
	// Sorted and compared whole, a duplicate row would have failed above;
	// the runs rows say each shard covered a disjoint share of the accounts.
	rows := query(t, out, "runs", "shard_index, shard_count, status, accounts, run_id")
	rows = slices.DeleteFunc(rows, func(r []string) bool { return r[4] != "batch-0f6a0ad8-39b4-4a5c-9c55-1a2b3c4d5e6f" })
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	var accounts int
	for i, r := range rows {
		if r[0] != fmt.Sprint(i) || r[1] != "4" || r[2] != "complete" {
			t.Errorf("runs row %d: %v", i, r)
		}
		var n int
		fmt.Sscan(r[3], &n)
		accounts += n
	}
	if len(rows) != 4 || accounts != len(org.Accounts()) {
		t.Errorf("%d runs rows covering %d accounts; want 4 covering %d", len(rows), accounts, len(org.Accounts()))
	}
}
