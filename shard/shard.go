// Package shard splits an organization's accounts over the N containers of
// an array job, with no coordinator: every shard computes the same plan from
// the same inputs and scans only its own accounts, so an account — and so
// each (account, region) ECS rate bucket — belongs to exactly one shard.
package shard

import (
	"cmp"
	"fmt"
	"hash/fnv"
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
// each account took last night), it balances work: heaviest first, each
// into the least-loaded shard; an account without a weight counts as an
// average one. Without weights, a stable hash of the id decides, so adding
// an account moves no other. The plan depends only on its inputs.
func Plan(ids []string, weights map[string]int64, n int) map[string]int {
	plan := make(map[string]int, len(ids))
	if n <= 1 {
		for _, id := range ids {
			plan[id] = 0
		}
		return plan
	}
	if len(weights) == 0 {
		for _, id := range ids {
			h := fnv.New64a()
			h.Write([]byte(id))
			plan[id] = int(h.Sum64() % uint64(n))
		}
		return plan
	}
	var total int64
	for _, w := range weights {
		total += max(w, 1)
	}
	mean := max(total/int64(len(weights)), 1)
	weight := func(id string) int64 {
		if w, ok := weights[id]; ok {
			return max(w, 1)
		}
		return mean
	}
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b string) int {
		return cmp.Or(cmp.Compare(weight(b), weight(a)), cmp.Compare(a, b))
	})
	load := make([]int64, n)
	for _, id := range sorted {
		least := 0
		for s := 1; s < n; s++ {
			if load[s] < load[least] {
				least = s
			}
		}
		plan[id] = least
		load[least] += weight(id)
	}
	return plan
}
