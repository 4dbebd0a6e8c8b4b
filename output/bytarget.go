package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"
)

// TargetsKey is the findings file's key/value metadata entry that says where
// each (account, region) target's rows sit: one line per run of adjacent
// rows, "account region first-row rows". Readers that do not know it
// ignore it; the schema does not change.
const TargetsKey = "ecsaudit.targets"

// Target is one (account, region).
type Target struct{ Account, Region string }

// span is a run of adjacent rows of one target in one findings file.
type span struct {
	target     Target
	start, end int64
}

// addRows extends spans by rows appended after row n.
func addRows(spans []span, n int64, rows []Finding) []span {
	for _, f := range rows {
		t := Target{f.AccountID, f.Region}
		if k := len(spans) - 1; k >= 0 && spans[k].target == t && spans[k].end == n {
			spans[k].end++
		} else {
			spans = append(spans, span{target: t, start: n, end: n + 1})
		}
		n++
	}
	return spans
}

func encodeSpans(spans []span) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "%s %s %d %d\n", s.target.Account, s.target.Region, s.start, s.end-s.start)
	}
	return b.String()
}

func decodeSpans(v string) ([]span, error) {
	var spans []span
	for line := range strings.Lines(v) {
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("malformed %s line %q", TargetsKey, line)
		}
		start, err1 := strconv.ParseInt(f[2], 10, 64)
		n, err2 := strconv.ParseInt(f[3], 10, 64)
		if err := errors.Join(err1, err2); err != nil || start < 0 || n < 1 {
			return nil, fmt.Errorf("malformed %s line %q", TargetsKey, line)
		}
		spans = append(spans, span{target: Target{f[0], f[1]}, start: start, end: start + n})
	}
	return spans, nil
}

// ByTarget reads earlier findings files one target at a time: each target's
// rows are read when the target asks for them, and every row at most once
// while targets ask in about the order the files hold them (a bounded
// read-ahead keeps the rows of targets that have yet to ask). Only an
// index of row ranges per target is held for the whole files. It is safe
// for concurrent use.
type ByTarget struct {
	mu      sync.Mutex
	files   []*byTargetFile
	owned   map[Target][]spanAt // the spans of each target not yet taken
	ahead   map[Target][]Finding
	queue   []Target  // buffered targets, oldest first
	rows    int       // rows in ahead
	limit   int       // the most rows ahead may hold
	scratch []Finding // rows passed that no target takes
	sought  int       // spans read by seeking
	closed  bool
}

type spanAt struct {
	file int
	span
}

type byTargetFile struct {
	blob  *Blob
	pf    *parquet.File
	spans []span // in file order
	next  int    // the first span the cursor has not passed
	r     *parquet.GenericReader[Finding]
	pos   int64 // the cursor's row
}

// OpenByTarget opens the findings files at keys and indexes the rows of the
// targets keep takes. A file written with the TargetsKey entry is indexed
// from its footer; an older one by reading its account and region columns
// once. ahead bounds the rows read ahead for targets that have not asked
// yet; beyond it, the oldest are dropped and read again when asked for.
func OpenByTarget(ctx context.Context, src Source, keys []string, keep func(Target) bool, ahead int) (*ByTarget, error) {
	bt := &ByTarget{owned: map[Target][]spanAt{}, ahead: map[Target][]Finding{}, limit: ahead}
	for i, key := range keys {
		f, err := openByTargetFile(ctx, src, key)
		if err != nil {
			bt.Close()
			return nil, err
		}
		bt.files = append(bt.files, f)
		for _, s := range f.spans {
			if keep(s.target) {
				bt.owned[s.target] = append(bt.owned[s.target], spanAt{file: i, span: s})
			}
		}
	}
	return bt, nil
}

func openByTargetFile(ctx context.Context, src Source, key string) (*byTargetFile, error) {
	b, err := src.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	pf, err := parquet.OpenFile(b, b.Size)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	f := &byTargetFile{blob: b, pf: pf}
	if v, ok := pf.Lookup(TargetsKey); ok {
		f.spans, err = decodeSpans(v)
	} else {
		var n int64
		err = readFile(pf, func(r struct {
			AccountID string `parquet:"account_id"`
			Region    string `parquet:"region"`
		}) error {
			f.spans = addRows(f.spans, n, []Finding{{AccountID: r.AccountID, Region: r.Region}})
			n++
			return nil
		})
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("index %s: %w", key, err)
	}
	return f, nil
}

// Rows returns the rows the files hold for target t, in file order, and
// forgets them: asking again returns none.
func (bt *ByTarget) Rows(t Target) ([]Finding, error) {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.closed {
		return nil, errors.New("earlier findings: closed")
	}
	spans := bt.owned[t]
	delete(bt.owned, t)
	if buffered, ok := bt.ahead[t]; ok {
		delete(bt.ahead, t)
		bt.rows -= len(buffered)
		return buffered, nil
	}
	var rows []Finding
	for _, s := range spans {
		got, err := bt.read(s)
		if err != nil {
			return nil, err
		}
		rows = append(rows, got...)
	}
	return rows, nil
}

// read returns the rows of s: from the cursor when s lies ahead of it,
// buffering the rows of the kept targets it passes, or else by seeking.
func (bt *ByTarget) read(s spanAt) ([]Finding, error) {
	f := bt.files[s.file]
	if s.start < f.pos {
		bt.sought++
		return readAt(f.pf, s.start, s.end)
	}
	if f.r == nil {
		f.r = parquet.NewGenericReader[Finding](f.pf)
	}
	for ; f.next < len(f.spans) && f.spans[f.next].start < s.start; f.next++ {
		p := f.spans[f.next]
		_, kept := bt.owned[p.target]
		rows := bt.scratch[:0]
		if kept {
			rows = nil
		}
		rows = append(rows, make([]Finding, p.end-p.start)...)
		if err := readFull(f.r, rows); err != nil {
			return nil, err
		}
		f.pos = p.end
		if kept {
			bt.buffer(p.target, rows)
		} else {
			bt.scratch = rows
		}
	}
	rows := make([]Finding, s.end-s.start)
	if err := readFull(f.r, rows); err != nil {
		return nil, err
	}
	f.pos = s.end
	f.next++
	return rows, nil
}

// buffer keeps the rows of a target that has not asked yet; when that makes
// too many rows, the oldest targets' rows are dropped.
func (bt *ByTarget) buffer(t Target, rows []Finding) {
	if len(bt.owned[t]) > 1 {
		return // in more than one place: read when asked
	}
	bt.ahead[t] = rows
	bt.queue = append(bt.queue, t)
	bt.rows += len(rows)
	for bt.rows > bt.limit && len(bt.queue) > 0 {
		old := bt.queue[0]
		bt.queue = bt.queue[1:]
		bt.rows -= len(bt.ahead[old])
		delete(bt.ahead, old)
	}
	if len(bt.queue) > 0 && len(bt.ahead) < len(bt.queue)/2 {
		bt.queue = compactQueue(bt.queue, bt.ahead) // taken targets leave holes
	}
}

func compactQueue(q []Target, ahead map[Target][]Finding) []Target {
	out := q[:0]
	for _, t := range q {
		if _, ok := ahead[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// Sought returns how many row ranges were read by seeking because their
// target asked after the cursor had passed them and they were no longer
// read ahead. Each such read decompresses a page of every column, so many
// of them mean targets asked far out of the files' order.
func (bt *ByTarget) Sought() int {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	return bt.sought
}

// Close releases the files. Rows fails afterwards.
func (bt *ByTarget) Close() error {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	bt.closed = true
	var errs []error
	for _, f := range bt.files {
		if f.r != nil {
			errs = append(errs, f.r.Close())
		}
		errs = append(errs, f.blob.Close())
	}
	bt.files, bt.ahead, bt.owned = nil, nil, nil
	return errors.Join(errs...)
}

// readAt reads rows [start, end) of pf with a reader of their own.
func readAt(pf *parquet.File, start, end int64) ([]Finding, error) {
	r := parquet.NewGenericReader[Finding](pf)
	defer r.Close()
	if err := r.SeekToRow(start); err != nil {
		return nil, err
	}
	rows := make([]Finding, end-start)
	return rows, readFull(r, rows)
}

func readFull(r *parquet.GenericReader[Finding], rows []Finding) error {
	for len(rows) > 0 {
		n, err := r.Read(rows)
		rows = rows[n:]
		if len(rows) == 0 {
			return nil
		}
		if errors.Is(err, io.EOF) {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	}
	return nil
}
