package job

import "testing"

// TestDescribesInFlight: enough describes in flight to spend the budget's
// rate at 200 ms round trips, from 1 to 4.
func TestDescribesInFlight(t *testing.T) {
	t.Parallel()
	for rate, want := range map[float64]int{
		0:   4, // unlimited
		-1:  4,
		0.5: 1,
		5:   1, // one call every 200 ms
		5.1: 2,
		10:  2, // the default budget
		15:  3,
		20:  4,
		100: 4,
	} {
		if got := DescribesInFlight(rate); got != want {
			t.Errorf("DescribesInFlight(%v) = %d, want %d", rate, got, want)
		}
	}
}
