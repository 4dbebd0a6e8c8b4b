// Package virtualclock is a clock for tests whose time moves only when
// something sleeps on it: a sleeper returns at once, having advanced the
// clock by what it asked for. A client budget and a simulated bucket that
// share one see exactly the times the code under test chose, however slowly
// a loaded machine runs the test.
package virtualclock

import (
	"context"
	"sync"
	"time"
)

// Clock is a virtual clock. Its zero value starts at the Unix epoch.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a clock that reads start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = time.Unix(0, 0)
	}
	return c.now
}

// Sleep advances the clock by d and returns at once, unless ctx has ended.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

// Advance moves the clock d forward.
func (c *Clock) Advance(d time.Duration) {
	c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
}
