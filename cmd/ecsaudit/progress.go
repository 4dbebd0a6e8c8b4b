package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/ecsaudit/ecsaudit/job"
)

// barPrefix begins the progress bar's line; the tmux test looks for it.
const barPrefix = "scan targets"

// progressDisplay draws a run's progress on a terminal: one bar of targets
// with task definitions described and carried, FAIL so far, rate and ETA.
// It is also the writer of the log: a log line is printed above the bar,
// never through it, and once the display stops, straight to the terminal.
type progressDisplay struct {
	out  io.Writer
	p    *mpb.Progress
	bar  *mpb.Bar
	last atomic.Pointer[job.Progress]
	quit chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex // serializes writes with Stop
	stopped bool
}

// newProgressDisplay starts the display on the terminal out.
func newProgressDisplay(out io.Writer) *progressDisplay {
	d := &progressDisplay{out: out, quit: make(chan struct{})}
	d.last.Store(&job.Progress{Discovering: true})
	d.p = mpb.New(mpb.WithOutput(out), mpb.WithWidth(30), mpb.WithRefreshRate(200*time.Millisecond))
	d.bar = d.p.New(0, mpb.BarStyle().Lbound("[").Filler("=").Tip(">").Padding("-").Rbound("]"),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			p := d.last.Load()
			more := ""
			if p.Discovering {
				more = "+"
			}
			return fmt.Sprintf("%s %d/%d%s", barPrefix, p.TargetsDone, p.TargetsTotal, more)
		}, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { return d.last.Load().Line() })),
	)
	d.wg.Add(1)
	go d.feed()
	return d
}

// feed moves the newest counts into the bar.
func (d *progressDisplay) feed() {
	defer d.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-d.quit:
			return
		case <-t.C:
			p := d.last.Load()
			d.bar.SetTotal(max(p.TargetsTotal, 1), false)
			d.bar.SetCurrent(p.TargetsDone)
		}
	}
}

// Update records the run's newest counts; the job calls it from its
// collector, so it only stores them.
func (d *progressDisplay) Update(p job.Progress) { d.last.Store(&p) }

// Write prints a log line above the bar.
func (d *progressDisplay) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return d.out.Write(b)
	}
	return d.p.Write(b)
}

// Stop removes the bar from the terminal and waits until it is gone. It
// may be called more than once.
func (d *progressDisplay) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	close(d.quit)
	d.wg.Wait()
	d.bar.Abort(true)
	d.p.Wait()
	d.stopped = true
}
