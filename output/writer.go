package output

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// The dataset names, which are also the top-level prefixes of the layout.
const (
	FindingsDataset = "findings"
	CoverageDataset = "coverage"
	RunsDataset     = "runs"
	// ExportsDataset is written only by runs that export findings
	// elsewhere (Security Hub).
	ExportsDataset = "exports"
	// UsageDataset is what runs each task definition revision, read anew
	// every run.
	UsageDataset = "usage"
)

// rowGroupRows bounds a row group, and so the rows held in memory per dataset.
const rowGroupRows = 50_000

// pageBytes is where a column's page is cut (uncompressed): a quarter of
// parquet-go's default. Every open writer holds a page buffer per column,
// and every reader decompresses a whole page per column, so the page size
// is paid per column for each of them. Smaller pages compress a little
// worse: the benchmark's findings files grew 19% (docs/performance.md).
const pageBytes = 64 << 10

// Key returns the object key of one run's file in a dataset. The dt
// partition is fixed by the run's start time in UTC, so a run that crosses
// midnight stays in one partition.
func Key(dataset string, started time.Time, name string) string {
	return fmt.Sprintf("%s/dt=%s/%s.parquet", dataset, started.UTC().Format("2006-01-02"), name)
}

// Writer writes one run's datasets to a Sink. Its methods are not safe for
// concurrent use: one collector goroutine owns it.
type Writer struct {
	sink     Sink
	name     string
	started  time.Time
	findings *file[Finding]
	coverage *file[Coverage]
	exports  *file[Export]
	usage    *file[Usage]
	done     bool
	// spans are where each target's findings rows sit, for the footer's
	// TargetsKey entry.
	spans []span
}

// NewWriter returns a Writer for the run; name is the file name within each
// partition (the run id, plus a shard suffix for sharded runs). Nothing is
// created until the first rows arrive or Commit is called.
func NewWriter(sink Sink, name string, started time.Time) *Writer {
	return &Writer{sink: sink, name: name, started: started}
}

// Findings appends rows to the findings dataset.
func (w *Writer) Findings(ctx context.Context, rows []Finding) error {
	if w.findings == nil {
		f, err := openFile[Finding](ctx, w.sink, Key(FindingsDataset, w.started, w.name))
		if err != nil {
			return err
		}
		w.findings = f
	}
	w.spans = addRows(w.spans, w.findings.rows, rows)
	return w.findings.write(rows)
}

// Coverage appends rows to the coverage dataset.
func (w *Writer) Coverage(ctx context.Context, rows []Coverage) error {
	if w.coverage == nil {
		f, err := openFile[Coverage](ctx, w.sink, Key(CoverageDataset, w.started, w.name))
		if err != nil {
			return err
		}
		w.coverage = f
	}
	return w.coverage.write(rows)
}

// Usage appends rows to the usage dataset.
func (w *Writer) Usage(ctx context.Context, rows []Usage) error {
	if w.usage == nil {
		f, err := openFile[Usage](ctx, w.sink, Key(UsageDataset, w.started, w.name))
		if err != nil {
			return err
		}
		w.usage = f
	}
	return w.usage.write(rows)
}

// Exports appends rows to the exports dataset, which exists only for runs
// that call it.
func (w *Writer) Exports(ctx context.Context, rows []Export) error {
	if w.exports == nil {
		f, err := openFile[Export](ctx, w.sink, Key(ExportsDataset, w.started, w.name))
		if err != nil {
			return err
		}
		w.exports = f
	}
	return w.exports.write(rows)
}

// Commit finishes the findings, coverage and usage files (creating empty
// ones when no rows came) and then writes the run's single runs row: the
// commit point.
func (w *Writer) Commit(ctx context.Context, run Run) error {
	if w.done {
		return errors.New("commit: writer already closed")
	}
	if err := errors.Join(w.Findings(ctx, nil), w.Coverage(ctx, nil), w.Usage(ctx, nil)); err != nil {
		return w.fail(err)
	}
	w.done = true
	w.findings.pw.SetKeyValueMetadata(TargetsKey, encodeSpans(w.spans))
	// Once one file fails, the rest are discarded with its error.
	var err error
	for _, f := range []interface{ finish(error) error }{w.findings, w.coverage, w.usage} {
		if e := f.finish(err); err == nil {
			err = e
		}
	}
	if w.exports != nil {
		if e := w.exports.finish(err); err == nil {
			err = e
		}
	}
	if err != nil {
		return err
	}
	runs, err := openFile[Run](ctx, w.sink, Key(RunsDataset, w.started, w.name))
	if err != nil {
		return err
	}
	if err := runs.write([]Run{run}); err != nil {
		runs.finish(err)
		return err
	}
	return runs.finish(nil)
}

// Abort discards whatever was written; nothing of the run becomes visible.
func (w *Writer) Abort(cause error) {
	if cause == nil {
		cause = errors.New("aborted")
	}
	w.fail(cause)
}

func (w *Writer) fail(err error) error {
	if w.done {
		return err
	}
	w.done = true
	if w.findings != nil {
		w.findings.finish(err)
	}
	if w.coverage != nil {
		w.coverage.finish(err)
	}
	if w.exports != nil {
		w.exports.finish(err)
	}
	if w.usage != nil {
		w.usage.finish(err)
	}
	return err
}

// file is one Parquet file being streamed to an Object.
type file[T any] struct {
	key     string
	obj     Object
	pw      *parquet.GenericWriter[T]
	pending int
	rows    int64 // rows written
}

func openFile[T any](ctx context.Context, sink Sink, key string) (*file[T], error) {
	obj, err := sink.Create(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	pw := parquet.NewGenericWriter[T](obj,
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}),
		parquet.CreatedBy("ecsaudit", "", ""),
		parquet.PageBufferSize(pageBytes),
	)
	return &file[T]{key: key, obj: obj, pw: pw}, nil
}

func (f *file[T]) write(rows []T) error {
	for len(rows) > 0 {
		n := min(len(rows), rowGroupRows-f.pending)
		if _, err := f.pw.Write(rows[:n]); err != nil {
			return fmt.Errorf("write %s: %w", f.key, err)
		}
		rows = rows[n:]
		f.pending += n
		f.rows += int64(n)
		if f.pending >= rowGroupRows {
			if err := f.pw.Flush(); err != nil {
				return fmt.Errorf("write %s: %w", f.key, err)
			}
			f.pending = 0
		}
	}
	return nil
}

// finish closes the Parquet footer and commits the object, or discards it
// when cause is set.
func (f *file[T]) finish(cause error) error {
	if cause == nil {
		if err := f.pw.Close(); err != nil {
			cause = fmt.Errorf("write %s: %w", f.key, err)
			f.obj.Finish(cause)
			return cause
		}
	}
	if err := f.obj.Finish(cause); err != nil {
		return fmt.Errorf("commit %s: %w", f.key, err)
	}
	return cause
}
