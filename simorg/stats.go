package simorg

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of what the server saw since Start or ResetStats.
// Operations are named as on the wire: "ListAccounts", "AssumeRole",
// "DescribeTaskDefinition", ….
type Stats struct {
	// Requests counts every HTTP request, including unroutable ones.
	Requests int64
	// Calls counts requests by operation, whatever their outcome.
	Calls map[string]int64
	// TargetCalls counts authenticated requests by caller account, region
	// of the signature's scope, and operation.
	TargetCalls map[Target]map[string]int64
	// Throttled counts requests that found their token bucket empty, by
	// operation.
	Throttled map[string]int64
	// Errors counts error responses by error code, injected ones included.
	Errors map[string]int64
	// Injected5xx, Resets and Slow count injected faults; EmptyPages the
	// empty Organizations pages served.
	Injected5xx, Resets, Slow, EmptyPages int64
	// SignedExpired counts requests signed (X-Amz-Date) at or after the
	// expiry of the session they were signed with: credentials the client
	// should have known were expired. A request signed in time that
	// arrives late is rejected as expired too, but not counted here.
	SignedExpired int64
	// MaxECSPerSecond is, for each (account, region), the most ECS
	// task-definition requests (the one bucket they share) that arrived
	// within one second (sliding window, 10 ms resolution).
	MaxECSPerSecond map[Target]int64
	// Assumes lists AssumeRole calls in arrival order, denied ones included.
	Assumes []AssumeRecord
}

// TotalThrottled returns the number of throttled requests.
func (s Stats) TotalThrottled() int64 {
	var n int64
	for _, v := range s.Throttled {
		n += v
	}
	return n
}

// AssumeRecord is one AssumeRole call.
type AssumeRecord struct {
	Account         string // of the role ARN; empty when it did not parse
	RoleARN         string
	RoleSessionName string
	ExternalID      string
	DurationSeconds int32 // as requested; zero when absent
	// Error is the error code returned, or "" when credentials were issued.
	Error       string
	AccessKeyID string // issued
	Expiration  time.Time
	At          time.Time
}

// recorder accumulates Stats without a global lock on the request path.
type recorder struct {
	requests                          atomic.Int64
	calls, throttled                  [numOps]atomic.Int64
	injected, resets, slow, emptyPage atomic.Int64
	signedExpired                     atomic.Int64
	errors                            sync.Map // code → *atomic.Int64
	targets                           sync.Map // Target → *targetStats

	mu      sync.Mutex
	assumes []AssumeRecord
}

// window counts requests in 10 ms slots over the last second.
const (
	slotWidth = 10 * time.Millisecond
	numSlots  = int64(time.Second / slotWidth)
)

type targetStats struct {
	calls [numOps]atomic.Int64

	mu    sync.Mutex
	slots [numSlots]int64
	last  int64 // slot number of the newest request
	sum   int64 // requests in the last numSlots slots
	max   int64
}

func (r *recorder) target(account, region string) *targetStats {
	t := Target{account, region}
	if v, ok := r.targets.Load(t); ok {
		return v.(*targetStats)
	}
	v, _ := r.targets.LoadOrStore(t, &targetStats{})
	return v.(*targetStats)
}

// record counts one call; ECS task-definition calls also feed the
// one-second window.
func (t *targetStats) record(o op, now time.Time) {
	t.calls[o].Add(1)
	if opService[o] != "ecs" || ecsBucket(o) != opListTaskDefinitions {
		return
	}
	slot := now.UnixNano() / int64(slotWidth)
	t.mu.Lock()
	defer t.mu.Unlock()
	if slot > t.last {
		for k := t.last + 1; k <= slot && k <= t.last+numSlots; k++ {
			t.sum -= t.slots[k%numSlots]
			t.slots[k%numSlots] = 0
		}
		t.last = slot
	}
	if slot > t.last-numSlots { // requests older than the window are not counted
		t.slots[slot%numSlots]++
		t.sum++
	}
	t.max = max(t.max, t.sum)
}

func (r *recorder) countError(code string) {
	v, ok := r.errors.Load(code)
	if !ok {
		v, _ = r.errors.LoadOrStore(code, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

func (r *recorder) assumed(a AssumeRecord) {
	r.mu.Lock()
	r.assumes = append(r.assumes, a)
	r.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	r := &s.stats
	st := Stats{
		Requests:    r.requests.Load(),
		Calls:       map[string]int64{},
		TargetCalls: map[Target]map[string]int64{},
		Throttled:   map[string]int64{},
		Errors:      map[string]int64{},
		Injected5xx: r.injected.Load(), Resets: r.resets.Load(), Slow: r.slow.Load(), EmptyPages: r.emptyPage.Load(),
		SignedExpired:   r.signedExpired.Load(),
		MaxECSPerSecond: map[Target]int64{},
	}
	for o := opUnknown + 1; o < numOps; o++ {
		if n := r.calls[o].Load(); n > 0 {
			st.Calls[o.String()] = n
		}
		if n := r.throttled[o].Load(); n > 0 {
			st.Throttled[o.String()] = n
		}
	}
	r.errors.Range(func(k, v any) bool {
		st.Errors[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	r.targets.Range(func(k, v any) bool {
		t, ts := k.(Target), v.(*targetStats)
		calls := map[string]int64{}
		for o := opUnknown + 1; o < numOps; o++ {
			if n := ts.calls[o].Load(); n > 0 {
				calls[o.String()] = n
			}
		}
		st.TargetCalls[t] = calls
		ts.mu.Lock()
		if ts.max > 0 {
			st.MaxECSPerSecond[t] = ts.max
		}
		ts.mu.Unlock()
		return true
	})
	r.mu.Lock()
	st.Assumes = slices.Clone(r.assumes)
	r.mu.Unlock()
	return st
}

// ResetStats sets every counter back to zero. Token buckets, sessions and
// the remaining empty pages are server state, not statistics, and stay.
func (s *Server) ResetStats() {
	r := &s.stats
	r.requests.Store(0)
	for o := range numOps {
		r.calls[o].Store(0)
		r.throttled[o].Store(0)
	}
	r.injected.Store(0)
	r.resets.Store(0)
	r.slow.Store(0)
	r.emptyPage.Store(0)
	r.signedExpired.Store(0)
	r.errors.Clear()
	r.targets.Clear()
	r.mu.Lock()
	r.assumes = nil
	r.mu.Unlock()
}
