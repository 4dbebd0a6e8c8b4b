package simorg

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Fault kinds, mixed into the hash that decides a request's faults so the
// decisions are independent of each other.
const (
	faultSlow uint64 = iota + 1
	faultReset
	faultError
	faultJitter
)

// chance decides, from the seed and the request's sequence number, whether
// fault kind strikes request n.
func (s *Server) chance(n, kind uint64, share float64) bool {
	return share > 0 && unit(mix(uint64(s.opts.Seed), n, kind)) < share
}

// limits holds the token buckets: per (account, region), one for ECS's
// task-definition reads and one for each of its cluster, service and task
// reads; one for Organizations; and the counts of requests each has seen,
// for ThrottleFirst.
type limits struct {
	ecs      Limit
	ecsByKey sync.Map // hubKey{target, ecsBucket(op)} → *rate.Limiter
	org      *rate.Limiter
	hub      bool
	hubByKey sync.Map // hubKey → *rate.Limiter

	first   int64
	ecsSeen sync.Map // hubKey{target, ecsBucket(op)} → *atomic.Int64
	orgSeen atomic.Int64
}

// hubKey names one Security Hub bucket: an operation in one (account,
// region).
type hubKey struct {
	Target
	op op
}

// stormed reports whether this request is among the first ThrottleFirst of
// its bucket.
func (l *limits) stormed(c *call) bool {
	if l.first == 0 {
		return false
	}
	switch c.service {
	case "ecs":
		v, _ := l.ecsSeen.LoadOrStore(hubKey{Target{c.who.account, c.who.region}, ecsBucket(c.op)}, new(atomic.Int64))
		return v.(*atomic.Int64).Add(1) <= l.first
	case "organizations":
		return l.orgSeen.Add(1) <= l.first
	}
	return false
}

// now is the server's clock.
func (s *Server) now() time.Time {
	if s.opts.Clock != nil {
		return s.opts.Clock()
	}
	return time.Now()
}

func newLimits(o Options) *limits {
	scale := o.LimitScale
	if scale == 0 {
		scale = 1
	}
	scaled := func(l Limit) Limit {
		if l.Burst == 0 {
			return l
		}
		return Limit{Burst: max(1, int(math.Round(float64(l.Burst)*scale))), Rate: l.Rate * scale}
	}
	l := &limits{ecs: scaled(o.ECSLimit), first: int64(o.ThrottleFirst), hub: o.SecurityHubLimits}
	if org := scaled(o.OrganizationsLimit); org.Burst > 0 {
		l.org = rate.NewLimiter(rate.Limit(org.Rate), org.Burst)
	}
	return l
}

// ecsBucket names the bucket an ECS operation draws on: the three
// task-definition reads share one, as ecsaudit's budget assumes; the
// cluster, service and task reads have one each.
func ecsBucket(o op) op {
	switch o {
	case opListTaskDefinitions, opListTaskDefinitionFamilies, opDescribeTaskDefinition:
		return opListTaskDefinitions
	}
	return o
}

// ecsBucket returns the bucket of one operation in one (account, region),
// or nil when ECS is not limited.
func (l *limits) ecsBucket(t Target, o op) *rate.Limiter {
	if l.ecs.Burst == 0 {
		return nil
	}
	k := hubKey{t, ecsBucket(o)}
	if v, ok := l.ecsByKey.Load(k); ok {
		return v.(*rate.Limiter)
	}
	v, _ := l.ecsByKey.LoadOrStore(k, rate.NewLimiter(rate.Limit(l.ecs.Rate), l.ecs.Burst))
	return v.(*rate.Limiter)
}

// throttle takes a token from the call's bucket, if it has one.
func (s *Server) throttle(c *call) *apiError {
	stormed := s.limits.stormed(c)
	switch c.service {
	case "ecs":
		if b := s.limits.ecsBucket(Target{c.who.account, c.who.region}, c.op); stormed || b != nil && !b.AllowN(s.now(), 1) {
			s.stats.throttled[c.op].Add(1)
			return &apiError{status: 400, code: "ThrottlingException", message: "Rate exceeded"}
		}
	case "securityhub":
		if !s.limits.hub {
			return nil
		}
		k := hubKey{Target{c.who.account, c.who.region}, c.op}
		v, ok := s.limits.hubByKey.Load(k)
		if !ok {
			l := hubLimit(c.op)
			v, _ = s.limits.hubByKey.LoadOrStore(k, rate.NewLimiter(rate.Limit(l.Rate), l.Burst))
		}
		if !v.(*rate.Limiter).AllowN(s.now(), 1) {
			s.stats.throttled[c.op].Add(1)
			return &apiError{status: 429, code: "TooManyRequestsException", message: "Too Many Requests"}
		}
	case "organizations":
		if b := s.limits.org; stormed || b != nil && !b.AllowN(s.now(), 1) {
			s.stats.throttled[c.op].Add(1)
			return &apiError{status: 400, code: "TooManyRequestsException", message: "AWS Organizations can't complete your request because it received too many requests. Try again later."}
		}
	}
	return nil
}
