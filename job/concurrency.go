package job

// What targets in flight cost the machine. These are the figures the
// default concurrency is computed from; docs/performance.md says where
// they come from.
const (
	// targetsPerCPU: a target makes about 10-15 calls a second at about
	// 0.5 ms of client CPU each; measured, 128 targets in flight kept 0.65
	// of a core busy (small, docs/performance.md), so one CPU carries 128
	// with room for the output and for a busier host.
	targetsPerCPU = 128
	// connsPerTarget: the most describes one target keeps in flight and
	// its one usage call.
	connsPerTarget = maxDescribesInFlight + 1
	// maxCallsInMemory: what a call in flight holds (its response, its
	// connection's buffers and two goroutines, its caller's deep stack)
	// is most of what a target costs in memory, so the memory budget
	// bounds calls in flight: 768, which is 256 targets at the default
	// budget (2 describes and 1 usage call each) beside the process's
	// base, within a 256 MiB budget. At 20 requests/s and more a target
	// keeps 5 calls in flight, and 153 targets fill the same budget.
	maxCallsInMemory = 768
)

// Concurrency returns how many targets to keep in flight on a machine with
// cpus CPUs and a limit of openFiles file descriptors (0: unknown), under a
// budget of rate requests/s per bucket: the fewest of what its CPUs, its
// memory budget (calls in flight; see DescribesInFlight) and half its
// descriptors carry, at least 1. Each target has its own AWS buckets, so
// targets in flight are bounded by the machine, not by AWS.
func Concurrency(cpus int, openFiles uint64, rate float64) int {
	n := min(targetsPerCPU*max(cpus, 1), maxCallsInMemory/(DescribesInFlight(rate)+1))
	if openFiles > 0 {
		n = min(n, int(min(openFiles/2/connsPerTarget, uint64(n))))
	}
	return max(n, 1)
}
