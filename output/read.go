package output

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Source reads back what a Sink wrote: earlier runs, for incremental scans
// and for planning shards.
type Source interface {
	// List returns every key below prefix, in no particular order.
	List(ctx context.Context, prefix string) ([]string, error)
	// Open opens the object at key for random access.
	Open(ctx context.Context, key string) (*Blob, error)
}

// Blob is a stored object opened for random access.
type Blob struct {
	io.ReaderAt
	Size  int64
	Close func() error
}

var _ Source = Dir("")

// List returns the committed files below prefix (temporary files excluded).
func (d Dir) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	root := filepath.Join(string(d), filepath.FromSlash(prefix))
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(string(d), p)
		if err != nil {
			return err
		}
		keys = append(keys, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	return keys, nil
}

// Open opens the file at key.
func (d Dir) Open(_ context.Context, key string) (*Blob, error) {
	f, err := os.Open(filepath.Join(string(d), filepath.FromSlash(key)))
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Blob{ReaderAt: f, Size: st.Size(), Close: f.Close}, nil
}

// Previous is one file set of an earlier run: its runs row and the name its
// three datasets' files share.
type Previous struct {
	Run     Run
	Name    string // file name without .parquet: the run id, plus a shard suffix
	RunsKey string
}

// FindingsKey returns the key of the run's findings file.
func (p Previous) FindingsKey() string { return sibling(p.RunsKey, FindingsDataset) }

// CoverageKey returns the key of the run's coverage file.
func (p Previous) CoverageKey() string { return sibling(p.RunsKey, CoverageDataset) }

func sibling(runsKey, dataset string) string {
	return dataset + strings.TrimPrefix(runsKey, RunsDataset)
}

// FindPrevious returns the files of the newest earlier run (by start time)
// that has at least one runs row accept takes, and only those rows: a run id
// has one runs row per shard. It reads only the runs dataset, newest date
// partition first, and returns nothing when no run qualifies.
func FindPrevious(ctx context.Context, src Source, accept func(Run) bool) ([]Previous, error) {
	keys, err := src.List(ctx, RunsDataset+"/")
	if err != nil {
		return nil, fmt.Errorf("list earlier runs: %w", err)
	}
	byPartition := map[string][]string{}
	var partitions []string
	for _, key := range keys {
		dir, _, ok := strings.Cut(strings.TrimPrefix(key, RunsDataset+"/"), "/")
		if !ok || !strings.HasSuffix(key, ".parquet") {
			continue
		}
		if byPartition[dir] == nil {
			partitions = append(partitions, dir)
		}
		byPartition[dir] = append(byPartition[dir], key)
	}
	slices.Sort(partitions)
	for _, dir := range slices.Backward(partitions) {
		var found []Previous
		for _, key := range byPartition[dir] {
			name := strings.TrimSuffix(key[strings.LastIndexByte(key, '/')+1:], ".parquet")
			err := Read(ctx, src, key, func(r Run) error {
				if accept(r) {
					found = append(found, Previous{Run: r, Name: name, RunsKey: key})
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		if len(found) == 0 {
			continue
		}
		newest := slices.MaxFunc(found, byStart).Run.RunID
		found = slices.DeleteFunc(found, func(p Previous) bool { return p.Run.RunID != newest })
		return newestAttempts(found), nil
	}
	return nil, nil
}

// FindRun returns the newest attempt of each shard of the run that has
// committed its runs row, in shard order, in whatever dt partitions they
// sit. It reads only the runs files whose name begins with the run id, as
// every attempt's name does.
func FindRun(ctx context.Context, src Source, runID string) ([]Previous, error) {
	keys, err := src.List(ctx, RunsDataset+"/")
	if err != nil {
		return nil, fmt.Errorf("list the run's shards: %w", err)
	}
	var found []Previous
	for _, key := range keys {
		name := strings.TrimSuffix(key[strings.LastIndexByte(key, '/')+1:], ".parquet")
		if !strings.HasPrefix(name, runID) || !strings.HasSuffix(key, ".parquet") {
			continue
		}
		err := Read(ctx, src, key, func(r Run) error {
			if r.RunID == runID {
				found = append(found, Previous{Run: r, Name: name, RunsKey: key})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return newestAttempts(found), nil
}

func byStart(a, b Previous) int { return a.Run.StartedAt.Compare(b.Run.StartedAt) }

// newestAttempts keeps the newest attempt of each shard of one run (a
// retried shard left an older one), in shard order.
func newestAttempts(found []Previous) []Previous {
	slices.SortFunc(found, func(a, b Previous) int {
		return cmp.Or(-byStart(a, b), -strings.Compare(a.Run.AttemptID, b.Run.AttemptID))
	})
	seen := map[int32]bool{}
	found = slices.DeleteFunc(found, func(p Previous) bool {
		dup := seen[p.Run.ShardIndex]
		seen[p.Run.ShardIndex] = true
		return dup
	})
	slices.SortFunc(found, func(a, b Previous) int { return cmp.Compare(a.Run.ShardIndex, b.Run.ShardIndex) })
	return found
}

// Read streams every row of the Parquet file at key to fn. T may name a
// subset of the file's columns; only those are decoded.
func Read[T any](ctx context.Context, src Source, key string, fn func(T) error) error {
	b, err := src.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("open %s: %w", key, err)
	}
	defer b.Close()
	f, err := parquet.OpenFile(b, b.Size)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	var fnErr error
	err = readFile(f, func(row T) error {
		fnErr = fn(row)
		return fnErr
	})
	if fnErr != nil {
		return fnErr // as fn returned it
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	return nil
}

// readFile streams every row of f to fn, decoding only T's columns.
func readFile[T any](f *parquet.File, fn func(T) error) error {
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	buf := make([]T, 1024)
	for {
		n, err := r.Read(buf)
		for _, row := range buf[:n] {
			if ferr := fn(row); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// UsageKey returns the key of the run's usage file.
func (p Previous) UsageKey() string { return sibling(p.RunsKey, UsageDataset) }
