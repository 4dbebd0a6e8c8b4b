package ocsf

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/ecsaudit/ecsaudit/output"
)

// Destination names the OCSF dataset in the exports dataset.
const Destination = "ocsf"

// Writer collects a run's events and writes one Parquet file per (region,
// account) under Security Lake's partitions when the run finishes. Add and
// Finish must not be called concurrently.
type Writer struct {
	sink    output.Sink
	name    string
	day     string
	started int64 // ms: every event's time, the run observed it then
	version string
	events  map[[2]string][]Event // (region, account) → events
}

// NewWriter returns a Writer into sink (the custom source's location,
// s3://<lake bucket>/ext/<source>/, or any directory); name is the file
// name in each partition, started the run's start (its eventDay).
func NewWriter(sink output.Sink, name string, started time.Time, version string) *Writer {
	return &Writer{sink: sink, name: name, day: eventDay(started), started: started.UnixMilli(), version: version, events: map[[2]string][]Event{}}
}

// Key returns the key of one (region, account) file of a run.
func Key(region, account, day, name string) string {
	return fmt.Sprintf("region=%s/accountId=%s/eventDay=%s/%s.parquet", region, account, day, name)
}

// Add takes findings rows; NOT_APPLICABLE rows have no event.
func (w *Writer) Add(findings []output.Finding, _ []output.Coverage) {
	for _, f := range findings {
		if e, ok := FromFinding(f, w.version); ok {
			// Observed in this run, whenever first evaluated: the event's
			// time falls on its eventDay.
			e.Time, e.FindingInfo.LastSeenTime = w.started, w.started
			k := [2]string{f.Region, f.AccountID}
			w.events[k] = append(w.events[k], e)
		}
	}
}

// Finish writes the files, sorted by time within each as Security Lake
// asks, and returns one exports row per file.
func (w *Writer) Finish(ctx context.Context) ([]output.Export, error) {
	keys := make([][2]string, 0, len(w.events))
	for k := range w.events {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		return cmp.Compare(a[1], b[1])
	})
	var rows []output.Export
	var errs []error
	for _, k := range keys {
		started := time.Now()
		events := w.events[k]
		slices.SortStableFunc(events, func(a, b Event) int { return cmp.Compare(a.Time, b.Time) })
		row := output.Export{Destination: Destination, AccountID: k[1], Region: k[0], Status: "imported", StartedAt: started.UTC()}
		if err := w.write(ctx, Key(k[0], k[1], w.day, w.name), events); err != nil {
			row.Status, row.ErrorCode, row.ErrorMessage = "failed", "WriteFailed", output.Text(err.Error())
			row.Failed = int64(len(events))
			errs = append(errs, err)
		} else {
			row.Imported = int64(len(events))
		}
		row.DurationMS = time.Since(started).Milliseconds()
		rows = append(rows, row)
	}
	if len(errs) > 0 {
		return rows, fmt.Errorf("ocsf: %d of %d files failed: %w", len(errs), len(keys), errors.Join(errs...))
	}
	return rows, nil
}

func (w *Writer) write(ctx context.Context, key string, events []Event) error {
	obj, err := w.sink.Create(ctx, key)
	if err != nil {
		return fmt.Errorf("create %s: %w", key, err)
	}
	pw := parquet.NewGenericWriter[Event](obj, parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}), parquet.CreatedBy("ecsaudit", w.version, ""))
	if _, err := pw.Write(events); err != nil {
		obj.Finish(err)
		return fmt.Errorf("write %s: %w", key, err)
	}
	if err := pw.Close(); err != nil {
		obj.Finish(err)
		return fmt.Errorf("write %s: %w", key, err)
	}
	if err := obj.Finish(nil); err != nil {
		return fmt.Errorf("commit %s: %w", key, err)
	}
	return nil
}
