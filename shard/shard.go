// Package shard splits an organization's accounts over the N containers of
// an array job, with no coordinator: every shard computes the same plan from
// the same inputs and scans only its own accounts, so an account — and so
// each (account, region) ECS rate bucket — belongs to exactly one shard.
package shard

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// MaxCount is the largest array an AWS Batch array job can have.
const MaxCount = 10000

// Spec is one shard of a run: Index of Count, 0-based like
// AWS_BATCH_JOB_ARRAY_INDEX.
type Spec struct {
	Index, Count int
}

// Single is the spec of an unsharded run.
var Single = Spec{Index: 0, Count: 1}

// Parse reads "I/N", 0 ≤ I < N ≤ MaxCount.
func Parse(s string) (Spec, error) {
	i, n, ok := strings.Cut(s, "/")
	idx, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || count < 1 || count > MaxCount || idx < 0 || idx >= count {
		return Spec{}, fmt.Errorf("shard %q: want I/N with 0 ≤ I < N ≤ %d", s, MaxCount)
	}
	return Spec{Index: idx, Count: count}, nil
}

// String returns "I/N".
func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Plan assigns every account id to a shard of n. With weights (the work
// each account took in the previous run), it balances work: heaviest first,
// each into the least-loaded shard. The balancing runs over the weighted
// accounts only, not over ids: the previous run is fixed for the night, so
// shards that list the organization at slightly different times still agree,
// whatever accounts appeared or left in between. Accounts without a weight
// (new since the previous run, or every account when there is none) go by a
// stable hash of the id, so adding an account moves no other.
func Plan(ids []string, weights map[string]int64, n int) map[string]int {
	plan := make(map[string]int, len(ids))
	if n <= 1 {
		for _, id := range ids {
			plan[id] = 0
		}
		return plan
	}
	balanced := balance(weights, n)
	for _, id := range ids {
		if s, ok := balanced[id]; ok {
			plan[id] = s
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(id))
		plan[id] = int(h.Sum64() % uint64(n))
	}
	return plan
}

// balance places the weighted accounts, heaviest first (ties by id), each
// into the least-loaded shard (ties to the lowest index).
func balance(weights map[string]int64, n int) map[string]int {
	weight := func(id string) int64 { return max(weights[id], 1) }
	sorted := slices.Collect(maps.Keys(weights))
	slices.SortFunc(sorted, func(a, b string) int {
		return cmp.Or(cmp.Compare(weight(b), weight(a)), cmp.Compare(a, b))
	})
	load := make([]int64, n)
	out := make(map[string]int, len(sorted))
	for _, id := range sorted {
		least := 0
		for s := 1; s < n; s++ {
			if load[s] < load[least] {
				least = s
			}
		}
		out[id] = least
		load[least] += weight(id)
	}
	return out
}
