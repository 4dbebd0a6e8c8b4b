package output

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// byTargetFixture writes one run's findings as the collector does, one
// target's rows at a time, with a target (a) coming back later in the file
// as an older run's carried rows did; it returns the rows of each target.
func byTargetFixture(t *testing.T, dir Dir, name string) map[Target][]string {
	t.Helper()
	ctx := context.Background()
	started := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	w := NewWriter(dir, name, started)
	want := map[Target][]string{}
	write := func(account, region string, n int) {
		tg := Target{account, region}
		var rows []Finding
		for range n {
			arn := fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/web:%d", region, account, len(want[tg])+1)
			want[tg] = append(want[tg], arn)
			rows = append(rows, Finding{AccountID: account, Region: region, TaskDefinitionARN: arn})
		}
		if err := w.Findings(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	write("111111111111", "us-east-1", 3)
	write("111111111111", "eu-west-1", 2)
	write("222222222222", "us-east-1", 4)
	write("333333333333", "us-east-1", 1)
	write("111111111111", "us-east-1", 2) // a's second span
	if err := w.Commit(ctx, Run{RunID: name, AttemptID: name, StartedAt: started}); err != nil {
		t.Fatal(err)
	}
	return want
}

func arnsOf(rows []Finding) []string {
	var arns []string
	for _, f := range rows {
		arns = append(arns, f.TaskDefinitionARN)
	}
	return arns
}

// TestByTargetEachTargetGetsItsOwnRows: whatever order targets ask in, and
// whether their rows were read ahead or must be sought, each gets exactly
// its own rows, once; a target the caller does not keep gets none.
func TestByTargetEachTargetGetsItsOwnRows(t *testing.T) {
	t.Parallel()
	dir := Dir(t.TempDir())
	want := byTargetFixture(t, dir, "earlier")
	key := Key(FindingsDataset, time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC), "earlier")
	a, b, c, d := Target{"111111111111", "us-east-1"}, Target{"111111111111", "eu-west-1"}, Target{"222222222222", "us-east-1"}, Target{"333333333333", "us-east-1"}
	// The file holds a(3 rows) b(2) c(4) d(1) a(2); a is in two places, so
	// it is never read ahead; d is not kept. sought counts the spans read
	// behind the cursor.
	tests := []struct {
		name   string
		order  []Target
		ahead  int
		sought int
	}{
		{"file order", []Target{a, b, c, d}, 100, 0},
		{"reversed, read ahead", []Target{d, c, b, a}, 100, 1},  // a's first span
		{"reversed, nothing ahead", []Target{d, c, b, a}, 0, 2}, // b, and a's first span
		{"shuffled, little ahead", []Target{c, a, d, b}, 2, 1},  // a's first span; b's 2 rows fit ahead
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bt, err := OpenByTarget(context.Background(), dir, []string{key}, func(tg Target) bool { return tg != d }, tt.ahead)
			if err != nil {
				t.Fatal(err)
			}
			defer bt.Close()
			for _, tg := range tt.order {
				rows, err := bt.Rows(tg)
				if err != nil {
					t.Fatal(err)
				}
				wantARNs := want[tg]
				if tg == d {
					wantARNs = nil // not kept
				}
				if got := arnsOf(rows); !slices.Equal(got, wantARNs) {
					t.Errorf("%v got %v, want %v", tg, got, wantARNs)
				}
				if again, err := bt.Rows(tg); err != nil || len(again) != 0 {
					t.Errorf("%v asked again: %d rows, %v; want none", tg, len(again), err)
				}
			}
			if got := bt.Sought(); got != tt.sought {
				t.Errorf("%d ranges read by seeking, want %d", got, tt.sought)
			}
			bt.Close()
			if _, err := bt.Rows(a); err == nil {
				t.Error("Rows after Close: no error")
			}
		})
	}
}

// TestByTargetIndexesOlderFiles: a findings file written without the
// footer's index (before it existed) is indexed from its account and region
// columns, with the same answer.
func TestByTargetIndexesOlderFiles(t *testing.T) {
	t.Parallel()
	dir := Dir(t.TempDir())
	want := byTargetFixture(t, dir, "earlier")
	key := Key(FindingsDataset, time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC), "earlier")
	// Rewrite the file without key/value metadata.
	var rows []Finding
	if err := Read(context.Background(), dir, key, func(f Finding) error { rows = append(rows, f); return nil }); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(string(dir), filepath.FromSlash(key))
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pw := parquet.NewGenericWriter[Finding](out)
	if _, err := pw.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	f, err := openByTargetFile(context.Background(), dir, key)
	if err != nil {
		t.Fatal(err)
	}
	defer f.blob.Close()
	if _, ok := f.pf.Lookup(TargetsKey); ok {
		t.Fatal("the rewritten file still has the index")
	}
	bt, err := OpenByTarget(context.Background(), dir, []string{key}, func(Target) bool { return true }, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer bt.Close()
	for tg, arns := range want {
		got, err := bt.Rows(tg)
		if err != nil || !slices.Equal(arnsOf(got), arns) {
			t.Errorf("%v got %v, %v; want %v", tg, arnsOf(got), err, arns)
		}
	}
}

// TestWriterIndexesTargets: the findings file's footer says where each
// target's adjacent rows are.
func TestWriterIndexesTargets(t *testing.T) {
	t.Parallel()
	dir := Dir(t.TempDir())
	byTargetFixture(t, dir, "earlier")
	f, err := openByTargetFile(context.Background(), dir, Key(FindingsDataset, time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC), "earlier"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.blob.Close()
	v, _ := f.pf.Lookup(TargetsKey)
	want := "111111111111 us-east-1 0 3\n111111111111 eu-west-1 3 2\n222222222222 us-east-1 5 4\n333333333333 us-east-1 9 1\n111111111111 us-east-1 10 2\n"
	if v != want {
		t.Errorf("%s =\n%s\nwant\n%s", TargetsKey, v, want)
	}
}
