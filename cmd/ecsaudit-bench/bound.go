package main

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/ecsaudit/ecsaudit/job"
)

// describesInFlight is how many DescribeTaskDefinition calls ecsaudit keeps
// in flight per target under a budget of rate requests/s.
func describesInFlight(rate float64) int64 { return int64(job.DescribesInFlight(rate)) }

// defaultConcurrency is the --concurrency ecsaudit picks when the flag is
// not given, at a budget of rate requests/s, computed as cmd/ecsaudit
// does: job.Concurrency of GOMAXPROCS, the soft limit on open files and
// the rate. The child reads the same figures: it
// gets this process's GOMAXPROCS setting (childEnv) and CPUs, and the
// soft limit this process started with (os/exec restores it), which its
// runtime raises at start as this process's did.
func defaultConcurrency(rate float64) int {
	return job.Concurrency(runtime.GOMAXPROCS(0), openFiles(), rate)
}

// openFiles is this process's soft RLIMIT_NOFILE, 0 when unknown.
func openFiles() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}

// bound is a lower bound on a scan's wall time, from the work the
// organization implies and the budget the scan runs under. See
// docs/performance.md for the derivation.
type bound struct {
	// Slowest is the slowest single target's bound.
	Slowest time.Duration
	// Budget is the sum of every target's bound divided by the targets
	// scanned at once: with C targets at a time, C budgets refill at once.
	Budget time.Duration
	// Rounds is the same in whole rounds: among the C·j+1 slowest targets,
	// some slot scans j+1 one after another, so the scan takes at least j+1
	// times the (C·j+1)-th slowest target's bound, for every j.
	Rounds time.Duration
	// Latency is every ECS call's latency divided by the calls that can be
	// in flight at once (concurrency × (describes in flight + 1 usage read)).
	Latency time.Duration
	// Discovery is the serial prefix before the first target can start:
	// one ListAccounts page, one AssumeRole, one DescribeRegions.
	Discovery time.Duration
	// Total is Discovery plus the largest of the other four.
	Total time.Duration
	// Binding names the term that decided Total.
	Binding string
}

// work is one target's ECS calls: task-definition list pages and
// describes, and the calls that read what runs, each in a bucket of its own.
type work struct {
	pages, describes int64
	usage            usageCalls
}

// fullWork is the work of targets scanned in full: every revision listed
// in pages of 100 and described, and what runs read (usage[i] is target
// i's; nil: nothing).
func fullWork(revisions []int, usage []usageCalls) []work {
	w := make([]work, len(revisions))
	for i, n := range revisions {
		w[i] = work{pages: listPages(n), describes: int64(n)}
		if i < len(usage) {
			w[i].usage = usage[i]
		}
	}
	return w
}

// total sums the work of every target.
func total(ws []work) work {
	var t work
	for _, w := range ws {
		t.pages += w.pages
		t.describes += w.describes
		for k := range t.usage {
			t.usage[k] += w.usage[k]
		}
	}
	return t
}

// calls is every ECS call of the work.
func (w work) calls() int64 { return w.pages + w.describes + w.usage.sum() }

// targetBound is the least time one (account, region) takes under a budget
// of rate requests/s with burst: its list pages and describes, less the
// burst, at the rate; and never less than its calls' latency: the pages
// one after another, then the describes describesInFlight(rate) at a time. What
// runs is read beside them, one call at a time, each operation under a
// budget of its own: no less than its calls' latency, nor than any one
// operation's calls, less the burst, at the rate.
func targetBound(w work, rate float64, burst int, latency time.Duration) time.Duration {
	byRate := func(calls int64) time.Duration {
		return time.Duration(math.Max(0, float64(calls)-float64(burst)) / rate * float64(time.Second))
	}
	rounds := w.pages + (w.describes+describesInFlight(rate)-1)/describesInFlight(rate)
	t := max(byRate(w.pages+w.describes), time.Duration(rounds)*latency)
	t = max(t, time.Duration(w.usage.sum())*latency)
	for _, n := range w.usage {
		t = max(t, byRate(n))
	}
	return t
}

// lowerBound combines the targets' bounds: the slowest target, the total
// budget time shared by the concurrency slots (also counted in whole
// rounds), and the total latency shared by every call that can be in
// flight, whichever is largest, after discovery.
func lowerBound(targets []work, concurrency int, rate float64, burst int, latency time.Duration) bound {
	var b bound
	var sum time.Duration
	var calls int64
	times := make([]time.Duration, len(targets))
	for i, w := range targets {
		times[i] = targetBound(w, rate, burst, latency)
		b.Slowest = max(b.Slowest, times[i])
		sum += times[i]
		calls += w.calls()
	}
	c := max(1, min(concurrency, len(targets)))
	b.Budget = sum / time.Duration(c)
	slices.SortFunc(times, func(x, y time.Duration) int { return cmp.Compare(y, x) })
	for j := 0; c*j < len(times); j++ {
		b.Rounds = max(b.Rounds, time.Duration(j+1)*times[c*j])
	}
	b.Latency = time.Duration(calls) * latency / time.Duration(int64(c)*(describesInFlight(rate)+1))
	b.Discovery = 3 * latency
	b.Binding, b.Total = "slowest target", b.Slowest
	if b.Budget > b.Total {
		b.Binding, b.Total = "budget ÷ concurrency", b.Budget
	}
	if b.Rounds > b.Total {
		b.Binding, b.Total = "whole rounds of targets", b.Rounds
	}
	if b.Latency > b.Total {
		b.Binding, b.Total = "latency ÷ in-flight", b.Latency
	}
	b.Total += b.Discovery
	return b
}
