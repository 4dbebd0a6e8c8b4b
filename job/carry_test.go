package job

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// events is one log of what a run read from the earlier findings and which
// targets it handed on, in the order they happened.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, s)
}

// recordingSource is an output directory that logs every read of a
// findings file.
type recordingSource struct {
	output.Dir
	ev *events
}

func (s recordingSource) Open(ctx context.Context, key string) (*output.Blob, error) {
	b, err := s.Dir.Open(ctx, key)
	if err != nil || !strings.HasPrefix(key, output.FindingsDataset+"/") {
		return b, err
	}
	inner := b.ReaderAt
	b.ReaderAt = readerFunc(func(p []byte, off int64) (int, error) {
		s.ev.add("read")
		return inner.ReadAt(p, off)
	})
	return b, nil
}

type readerFunc func(p []byte, off int64) (int, error)

func (f readerFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

// recordingPublisher logs each finished target with the rows it carried.
type recordingPublisher struct {
	ev      *events
	mu      sync.Mutex
	targets int
	carried map[output.Target]int
	strays  int // carried rows handed on with another target's coverage
}

func (p *recordingPublisher) Add(findings []output.Finding, coverage []output.Coverage) {
	if len(coverage) == 0 || coverage[0].Region == "" {
		return
	}
	p.ev.add("target")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.targets++
	t := output.Target{Account: coverage[0].AccountID, Region: coverage[0].Region}
	for _, f := range findings {
		if !f.Carried {
			continue
		}
		if f.AccountID != t.Account || f.Region != t.Region {
			p.strays++
		}
		p.carried[t]++
	}
}

func (p *recordingPublisher) Finish(context.Context) ([]output.Export, error) { return nil, nil }

// TestCarryReadsPerTargetAndNothingAfter: on a warm night each target takes
// its own earlier rows while it runs, hands them on with its own coverage,
// and nothing of the earlier findings is read after the last target is done.
func TestCarryReadsPerTargetAndNothingAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spec := simorg.Spec{Seed: 17, Accounts: 4, Regions: 2, RevisionsPerRegion: 12, NonCompliantShare: 0.2}
	night1 := simorg.Generate(spec)
	spec.NewRevisionsShare = 0.25
	night2 := simorg.Generate(spec)
	dir := output.Dir(t.TempDir())

	scan := func(org *simorg.Org, runID string, started time.Time, src output.Source, pub Publisher) output.Run {
		t.Helper()
		srv, err := simorg.Start(org, simorg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		aws, err := srv.ClientConfig(ctx, "us-east-1")
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{AWS: aws, RoleName: org.RoleName(), Concurrency: 3, ECSRate: 1000, ECSBurst: 100,
			Previous: src, Publisher: pub, RunID: runID, AttemptID: runID, Started: started}
		row, err := Run(ctx, cfg, output.NewWriter(dir, runID, started))
		if err != nil || row.Status != StatusComplete {
			t.Fatalf("%s: %s, %v", runID, row.Status, err)
		}
		return row
	}
	night := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	cold := scan(night1, "night-1", night, dir, nil)

	ev := &events{}
	pub := &recordingPublisher{ev: ev, carried: map[output.Target]int{}}
	warm := scan(night2, "night-2", night.Add(24*time.Hour), recordingSource{Dir: dir, ev: ev}, pub)

	if warm.Carried == 0 || warm.Carried != cold.TaskDefinitions-cold.Errors {
		t.Fatalf("carried %d revisions, want the %d night 1 described", warm.Carried, cold.TaskDefinitions)
	}
	if pub.strays != 0 {
		t.Errorf("%d carried rows came with another target's coverage", pub.strays)
	}
	if len(pub.carried) != int(warm.TargetsScanned) {
		t.Errorf("%d of %d scanned targets carried rows", len(pub.carried), warm.TargetsScanned)
	}
	last := -1
	for i, e := range ev.log {
		if e == "target" {
			last = i
		}
	}
	if last < 0 {
		t.Fatal("no target was handed on")
	}
	for _, e := range ev.log[last:] {
		if e == "read" {
			t.Fatalf("the earlier findings were read after the last target was done:\n%s", strings.Join(ev.log[last:], "\n"))
		}
	}
}
