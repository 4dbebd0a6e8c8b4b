package budget

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestUntilTick: a sleep on the real clock ends on the first tick at or
// after it is due, never before it and less than one grain after it.
func TestUntilTick(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	at := func(n int64) time.Time { return time.Unix(1_800_000_000, n) } // 1,800,000,000 s is a multiple of 20 ms
	for _, c := range []struct {
		now  time.Time
		d    time.Duration
		want time.Duration
	}{
		{at(0), 0, 0},                            // on a tick, due now
		{at(0), 1, 20 * ms},                      // a nanosecond after a tick waits for the next
		{at(int64(5 * ms)), 15 * ms, 15 * ms},    // due exactly on a tick
		{at(int64(5 * ms)), 16 * ms, 35 * ms},    // just after one
		{at(int64(19 * ms)), 100 * ms, 101 * ms}, // 119 ms → 120 ms
		{at(int64(3 * ms)), 3 * ms, 17 * ms},     // 6 ms → 20 ms
	} {
		if got := untilTick(c.now, c.d, grain); got != c.want {
			t.Errorf("untilTick(+%v, %v) = %v, want %v", time.Duration(c.now.Nanosecond()), c.d, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		now := time.Unix(r.Int64N(4_000_000_000), r.Int64N(1e9))
		d := time.Duration(r.Int64N(int64(3 * time.Second)))
		got := untilTick(now, d, grain)
		if got < d || got >= d+grain || now.Add(got).UnixNano()%int64(grain) != 0 {
			t.Fatalf("untilTick(%v, %v) = %v: want the first multiple of %v at or after it is due", now, d, got, grain)
		}
	}
}
