package main

import (
	"runtime"
	"syscall"

	"github.com/ecsaudit/ecsaudit/job"
)

// defaultConcurrency is how many targets this machine carries at once: its
// CPUs, its memory budget and its file descriptors (Go raises the soft
// limit to the hard one at start).
func defaultConcurrency() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		rl.Cur = 0 // unknown
	}
	return job.Concurrency(runtime.GOMAXPROCS(0), rl.Cur)
}
