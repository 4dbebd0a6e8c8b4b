package output

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

var update = flag.Bool("update", false, "rewrite the schema golden file")

// TestSchemaGolden protects the Parquet layout Athena's tables are declared
// against: a renamed or retyped column fails here first.
func TestSchemaGolden(t *testing.T) {
	var b strings.Builder
	for _, s := range []*parquet.Schema{
		parquet.SchemaOf(Finding{}), parquet.SchemaOf(Coverage{}), parquet.SchemaOf(Run{}), parquet.SchemaOf(Usage{}),
	} {
		b.WriteString(s.String())
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "schema.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("schema changed (run go test ./output -update if intended):\n%s", got)
	}
}

func TestWriterCommitsRunRowLast(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	started := time.Date(2026, 11, 28, 23, 59, 0, 0, time.UTC)
	w := NewWriter(Dir(dir), "run1", started)
	ctx := context.Background()
	yes := true
	rows := make([]Finding, rowGroupRows+10) // crosses a row-group boundary
	for i := range rows {
		rows[i] = Finding{RunID: "run1", AccountID: "111111111111", Result: "PASS", Privileged: &yes, ScannedAt: started}
	}
	if err := w.Findings(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "runs")); !os.IsNotExist(err) {
		t.Fatalf("runs dataset exists before commit: %v", err)
	}
	if err := w.Commit(ctx, Run{RunID: "run1", Status: "complete", StartedAt: started, EndedAt: started.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	got, err := parquet.ReadFile[Finding](filepath.Join(dir, "findings", "dt=2026-11-28", "run1.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) || got[0].Privileged == nil || !*got[0].Privileged || !got[0].ScannedAt.Equal(started) {
		t.Fatalf("read back %d rows, first %+v", len(got), got[0])
	}
	runs, err := parquet.ReadFile[Run](filepath.Join(dir, "runs", "dt=2026-11-28", "run1.parquet"))
	if err != nil || len(runs) != 1 || runs[0].Status != "complete" {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	if cov, err := parquet.ReadFile[Coverage](filepath.Join(dir, "coverage", "dt=2026-11-28", "run1.parquet")); err != nil || len(cov) != 0 {
		t.Fatalf("coverage = %d rows, %v; want an empty file", len(cov), err)
	}
	assertNoTemp(t, dir)
}

func TestWriterAbortLeavesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := NewWriter(Dir(dir), "run2", time.Now())
	if err := w.Coverage(context.Background(), []Coverage{{RunID: "run2"}}); err != nil {
		t.Fatal(err)
	}
	w.Abort(errors.New("interrupted"))
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Fatalf("abort left files: %v", files)
	}
}

func TestDirNeverOverwrites(t *testing.T) {
	t.Parallel()
	d := Dir(t.TempDir())
	ctx := context.Background()
	for i, want := range []bool{true, false} {
		o, err := d.Create(ctx, "findings/dt=2026-01-01/same.parquet")
		if err != nil {
			t.Fatal(err)
		}
		o.Write([]byte{byte(i)})
		err = o.Finish(nil)
		if (err == nil) != want {
			t.Fatalf("finish #%d: err = %v", i, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(string(d), "findings", "dt=2026-01-01", "same.parquet"))
	if len(b) != 1 || b[0] != 0 {
		t.Fatalf("file content %v: the first commit was overwritten", b)
	}
	if _, err := d.Create(ctx, "../escape.parquet"); err == nil {
		t.Fatal("a key escaping the directory was accepted")
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}
