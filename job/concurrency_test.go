package job

import "testing"

// TestConcurrency: targets in flight follow the CPUs until the memory
// budget caps them, and never take more than half the file descriptors.
func TestConcurrency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cpus      int
		openFiles uint64
		want      int
	}{
		{"one CPU", 1, 0, 128},
		{"two CPUs: the memory budget", 2, 1 << 20, 256},
		{"many CPUs: the memory budget", 64, 0, 256},
		{"few descriptors", 2, 256, 25},
		{"almost none", 2, 4, 1},
		{"no CPU reported", 0, 0, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Concurrency(tt.cpus, tt.openFiles); got != tt.want {
				t.Errorf("Concurrency(%d, %d) = %d, want %d", tt.cpus, tt.openFiles, got, tt.want)
			}
		})
	}
}
