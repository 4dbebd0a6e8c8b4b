package output

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// TestExportsSchemaGolden protects the exports dataset's layout, kept in a
// golden file of its own.
func TestExportsSchemaGolden(t *testing.T) {
	got := parquet.SchemaOf(Export{}).String() + "\n"
	golden := filepath.Join("testdata", "exports.schema.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("exports schema changed (run go test ./output -update if intended):\n%s", got)
	}
}

// TestExportsCommitAndAbort: the exports file becomes visible with the
// run's commit, and not at all when the run aborts; a run that exports
// nothing has no exports file.
func TestExportsCommitAndAbort(t *testing.T) {
	t.Parallel()
	started := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	ctx := context.Background()
	list := func(dir string) []string {
		keys, err := Dir(dir).List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(keys)
		return keys
	}

	dir := t.TempDir()
	w := NewWriter(Dir(dir), "r", started)
	if err := w.Exports(ctx, []Export{{Destination: "securityhub", AccountID: "111111111111", Status: "failed"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(ctx, Run{RunID: "r", StartedAt: started, Status: "partial"}); err != nil {
		t.Fatal(err)
	}
	if got := list(dir); !slices.Contains(got, Key(ExportsDataset, started, "r")) || len(got) != 5 { // findings, coverage, usage, exports, runs
		t.Fatalf("committed files %v", got)
	}
	var rows []Export
	if err := Read(ctx, Dir(dir), Key(ExportsDataset, started, "r"), func(e Export) error { rows = append(rows, e); return nil }); err != nil || len(rows) != 1 || rows[0].Status != "failed" {
		t.Fatalf("read back %+v, %v", rows, err)
	}

	aborted := t.TempDir()
	w = NewWriter(Dir(aborted), "r", started)
	w.Exports(ctx, []Export{{Destination: "securityhub"}})
	w.Abort(nil)
	if got := list(aborted); len(got) != 0 {
		t.Errorf("aborted run left %v", got)
	}

	plain := t.TempDir()
	w = NewWriter(Dir(plain), "r", started)
	if err := w.Commit(ctx, Run{RunID: "r", StartedAt: started}); err != nil {
		t.Fatal(err)
	}
	if got := list(plain); slices.Contains(got, Key(ExportsDataset, started, "r")) {
		t.Errorf("a run without exports wrote %v", got)
	}
}
