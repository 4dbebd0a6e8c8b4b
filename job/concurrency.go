package job

// What one target in flight costs the machine at the default budget (10
// requests/s and burst 10 per bucket; a target draws on six buckets but
// spends most of its calls on one). These are the figures the default
// concurrency is computed from; docs/performance.md says where they come
// from.
const (
	// targetsPerCPU: a target makes about 10-15 calls a second at about
	// 0.5 ms of client CPU each; measured, 128 targets in flight kept 0.65
	// of a core busy (small, docs/performance.md), so one CPU carries 128
	// with room for the output and for a busier host.
	targetsPerCPU = 128
	// connsPerTarget: its describes in flight and its one usage call.
	connsPerTarget = maxDescribesInFlight + 1
	// maxTargetsInMemory: at about 0.5 MiB a target (its responses, its
	// rows and its connections' buffers), 128 MiB beside the process's
	// base of about 100 MiB, within a 256 MiB budget.
	maxTargetsInMemory = 256
)

// Concurrency returns how many targets to keep in flight on a machine with
// cpus CPUs and a limit of openFiles file descriptors (0: unknown): the
// fewest of what its CPUs, its memory budget and half its descriptors
// carry, at least 1. Each target has its own AWS buckets, so targets in
// flight are bounded by the machine, not by AWS.
func Concurrency(cpus int, openFiles uint64) int {
	n := min(targetsPerCPU*max(cpus, 1), maxTargetsInMemory)
	if openFiles > 0 {
		n = min(n, int(min(openFiles/2/connsPerTarget, uint64(n))))
	}
	return max(n, 1)
}
