package job

import "testing"

// TestConcurrency: targets in flight follow the CPUs until the memory
// budget (768 calls in flight) caps them, and never take more than half
// the file descriptors.
func TestConcurrency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cpus      int
		openFiles uint64
		rate      float64
		want      int
	}{
		{"one CPU", 1, 0, 10, 128},
		{"two CPUs: the memory budget", 2, 1 << 20, 10, 256}, // 768 calls ÷ 3 a target
		{"many CPUs: the memory budget", 64, 0, 10, 256},
		{"a fast budget: 5 calls a target", 2, 1 << 20, 100, 153}, // 768 ÷ 5
		{"a slow budget: 2 calls a target", 64, 0, 2, 384},        // 768 ÷ 2
		{"one CPU, fast budget: the CPU", 1, 0, 100, 128},
		{"few descriptors", 2, 256, 10, 25}, // 256 ÷ 2 ÷ 5
		{"almost none", 2, 4, 10, 1},
		{"no CPU reported", 0, 0, 10, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Concurrency(tt.cpus, tt.openFiles, tt.rate); got != tt.want {
				t.Errorf("Concurrency(%d, %d, %v) = %d, want %d", tt.cpus, tt.openFiles, tt.rate, got, tt.want)
			}
		})
	}
}
