// Package budget bounds and counts the AWS API calls made against one
// rate-limit bucket, such as ECS's shared task-definition bucket of one
// (account, region). It plugs into an SDK client as per-attempt middleware,
// so retries spend the budget too.
package budget

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Budget is one bucket's client-side rate limit and its call counters.
type Budget struct {
	limiter   *rate.Limiter // nil: count only
	clock     Clock
	calls     atomic.Int64
	throttled atomic.Int64
}

// Clock is the time a Budget reads and waits on.
type Clock interface {
	Now() time.Time
	// Sleep returns after d, or with ctx's error when ctx ends first.
	Sleep(ctx context.Context, d time.Duration) error
}

// New returns a Budget of perSecond attempts with the given burst on the
// real clock; a perSecond of zero or less only counts.
func New(perSecond float64, burst int) *Budget {
	return NewOnClock(perSecond, burst, realClock{})
}

// NewOnClock is New on another clock, such as a virtual one whose Sleep
// advances its time: a test then decides exactly when each attempt is sent.
func NewOnClock(perSecond float64, burst int, clock Clock) *Budget {
	b := &Budget{clock: clock}
	if perSecond > 0 {
		b.limiter = rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
	}
	return b
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// grain is the tick that sleeps on the real clock end on. Every attempt
// due within one tick is sent at its end, so that the thousands of targets
// in flight wake the process once a tick instead of once an attempt; an
// attempt goes out at most one grain late and never early, so the budget
// holds (a token bucket is never exceeded by sending later), and its rate
// does not drop (each token is reserved when the last one was due, not
// when it was sent).
const grain = 20 * time.Millisecond

// untilTick returns how long to sleep from now so as to wake at the first
// multiple of grain since the Unix epoch that is at least d from now.
func untilTick(now time.Time, d, grain time.Duration) time.Duration {
	due := now.Add(d).UnixNano()
	tick := (due + int64(grain) - 1) / int64(grain) * int64(grain)
	return d + time.Duration(tick-due)
}

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(untilTick(time.Now(), d, grain))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Calls returns how many attempts were sent, retries included.
func (b *Budget) Calls() int64 { return b.calls.Load() }

// Throttled returns how many attempts the service answered with a
// throttling error.
func (b *Budget) Throttled() int64 { return b.throttled.Load() }

// Attach adds the budget to a client's middleware stack, after the retry
// middleware so that it runs once per attempt. Use it in an SDK client's
// APIOptions.
func (b *Budget) Attach(stack *middleware.Stack) error {
	return stack.Finalize.Insert(b, "Retry", middleware.After)
}

// ID names the middleware.
func (*Budget) ID() string { return "ecsaudit.Budget" }

var throttles = retry.IsErrorThrottles(retry.DefaultThrottles)

// HandleFinalize waits for the bucket, sends one attempt and counts it.
func (b *Budget) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	if b.limiter != nil {
		if err := b.wait(ctx); err != nil {
			return middleware.FinalizeOutput{}, middleware.Metadata{}, err
		}
	}
	b.calls.Add(1)
	out, md, err := next.HandleFinalize(ctx, in)
	if err != nil && throttles.IsErrorThrottle(err) == aws.TrueTernary {
		b.throttled.Add(1)
	}
	return out, md, err
}

// wait takes one token, sleeping on the budget's clock until it is due.
// A wait the context cuts short gives its token back.
func (b *Budget) wait(ctx context.Context) error {
	now := b.clock.Now()
	r := b.limiter.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("budget: burst %d cannot hold one attempt", b.limiter.Burst())
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if err := b.clock.Sleep(ctx, d); err != nil {
		r.CancelAt(b.clock.Now())
		return err
	}
	return nil
}

// Buckets is one Budget per operation, for a client whose operations each
// draw on a bucket of their own, as ECS's ListClusters, ListServices,
// DescribeServices, ListTasks and DescribeTasks do.
type Buckets map[string]*Budget

// Attach adds the budgets to a client's middleware stack, after the retry
// middleware so that each attempt waits for, and is counted in, the bucket
// of its operation. An operation without a bucket fails before it is sent.
func (b Buckets) Attach(stack *middleware.Stack) error {
	return stack.Finalize.Insert(bucketsMiddleware{b}, "Retry", middleware.After)
}

// Calls returns how many attempts were sent, over every bucket.
func (b Buckets) Calls() int64 {
	var n int64
	for _, x := range b {
		n += x.Calls()
	}
	return n
}

// Throttled returns how many attempts were throttled, over every bucket.
func (b Buckets) Throttled() int64 {
	var n int64
	for _, x := range b {
		n += x.Throttled()
	}
	return n
}

type bucketsMiddleware struct{ b Buckets }

func (bucketsMiddleware) ID() string { return "ecsaudit.Buckets" }

func (m bucketsMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	op := awsmiddleware.GetOperationName(ctx)
	b, ok := m.b[op]
	if !ok {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("budget: no bucket for operation %q", op)
	}
	return b.HandleFinalize(ctx, in, next)
}
