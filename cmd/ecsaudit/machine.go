package main

import (
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/ecsaudit/ecsaudit/job"
)

// defaultConcurrency is how many targets this machine carries at once at
// a budget of rate requests/s per bucket: its CPUs, its memory budget and
// its file descriptors (Go raises the soft limit to the hard one at start).
func defaultConcurrency(rate float64) int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		rl.Cur = 0 // unknown
	}
	return job.Concurrency(runtime.GOMAXPROCS(0), rl.Cur, rate)
}

// memoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT sets
// another: the scan's budget of 256 MiB resident, less the binary and what
// the runtime keeps outside its heap. Near it the garbage collector runs
// more often instead of letting the heap grow to twice what is live.
const memoryLimit = 200 << 20

// setMemoryLimit applies memoryLimit when the environment sets none.
func setMemoryLimit(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}
