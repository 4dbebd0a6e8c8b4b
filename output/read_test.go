package output

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestFindPrevious: the newest run by start time (not by file name), every
// shard of it, and of a retried shard only its newest attempt.
func TestFindPrevious(t *testing.T) {
	t.Parallel()
	dir := Dir(t.TempDir())
	ctx := context.Background()
	day := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	write := func(attempt, run string, shard int32, started time.Time, status string) {
		w := NewWriter(dir, attempt, started)
		if err := w.Findings(ctx, []Finding{{RunID: run, AttemptID: attempt, TaskDefinitionARN: "arn:" + attempt}}); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(ctx, Run{RunID: run, AttemptID: attempt, ShardIndex: shard, ShardCount: 2, StartedAt: started, Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	write("zzz-old", "zzz-old", 0, day, "complete") // sorts last by name, started first
	write("batch-1-s0-a", "batch-1", 0, day.Add(24*time.Hour), "complete")
	write("batch-1-s1-a", "batch-1", 1, day.Add(24*time.Hour), "interrupted")
	write("batch-1-s1-b", "batch-1", 1, day.Add(25*time.Hour), "complete") // the retry
	write("failed-run", "failed-run", 0, day.Add(26*time.Hour), "failed")

	got, err := FindPrevious(ctx, dir, func(r Run) bool { return r.Status != "failed" })
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if len(got) != 2 || got[0].Name != "batch-1-s0-a" || got[1].Name != "batch-1-s1-b" {
		t.Fatalf("got %v, want the newest run's shards, the retried one's newest attempt", names)
	}
	if got[1].FindingsKey() != "findings/dt=2026-11-28/batch-1-s1-b.parquet" {
		t.Errorf("findings key %s", got[1].FindingsKey())
	}
	var arns []string
	if err := Read(ctx, dir, got[1].FindingsKey(), func(f Finding) error { arns = append(arns, f.TaskDefinitionARN); return nil }); err != nil || len(arns) != 1 || arns[0] != "arn:batch-1-s1-b" {
		t.Fatalf("read %v, %v", arns, err)
	}
	none, err := FindPrevious(ctx, Dir(t.TempDir()), func(Run) bool { return true })
	if err != nil || len(none) != 0 {
		t.Fatalf("empty output: %v, %v", none, err)
	}
}

// TestFindRun: every shard of one run, each shard's newest attempt, in any
// dt partition; another run whose id begins the same is not taken.
func TestFindRun(t *testing.T) {
	t.Parallel()
	dir := Dir(t.TempDir())
	ctx := context.Background()
	day := time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC)
	write := func(attempt, run string, shard int32, started time.Time) {
		w := NewWriter(dir, attempt, started)
		if err := w.Commit(ctx, Run{RunID: run, AttemptID: attempt, ShardIndex: shard, ShardCount: 2, StartedAt: started, Status: "complete"}); err != nil {
			t.Fatal(err)
		}
	}
	write("night-shard0of2-a", "night", 0, day)
	write("night-shard1of2-a", "night", 1, day)
	write("night-shard1of2-b", "night", 1, day.Add(2*time.Hour)) // retried, next day's partition
	write("night-2-shard0of2-a", "night-2", 0, day.Add(3*time.Hour))
	got, err := FindRun(ctx, dir, "night")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
	}
	if strings.Join(names, " ") != "night-shard0of2-a night-shard1of2-b" {
		t.Fatalf("FindRun = %q", names)
	}
}
