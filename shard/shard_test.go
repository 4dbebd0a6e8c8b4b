package shard

import (
	"fmt"
	"maps"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0/1", "3/4", "9999/10000"} {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "1", "4/4", "-1/4", "0/0", "0/10001", "a/b", "1/2/3", " 1/2"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%012d", 100000000000+i*7919)
	}
	return out
}

func TestPlanCoversEveryAccountOnceAndIsDeterministic(t *testing.T) {
	t.Parallel()
	accts := ids(500)
	weights := map[string]int64{}
	for i, id := range accts[:400] { // 100 accounts are new since last night
		weights[id] = int64(i%37 + 1)
	}
	for _, w := range []map[string]int64{nil, weights} {
		a, b := Plan(accts, w, 4), Plan(accts, w, 4)
		if !maps.Equal(a, b) {
			t.Fatal("the same inputs gave two plans")
		}
		if len(a) != len(accts) {
			t.Fatalf("%d of %d accounts planned", len(a), len(accts))
		}
		for id, s := range a {
			if s < 0 || s >= 4 {
				t.Fatalf("%s in shard %d", id, s)
			}
		}
		// Input order must not matter: reverse it.
		rev := make([]string, len(accts))
		for i, id := range accts {
			rev[len(accts)-1-i] = id
		}
		if !maps.Equal(a, Plan(rev, w, 4)) {
			t.Fatal("the plan depends on the order of the account list")
		}
	}
}

// TestPlanBalancesSkewedWork: a few accounts hold most revisions (Zipf:
// the top 10 of 200 hold half); the largest shard's work stays within 1.2×
// of the mean. An account cannot be split, so no plan can do better than
// its heaviest account: this skew keeps that below the mean.
func TestPlanBalancesSkewedWork(t *testing.T) {
	t.Parallel()
	accts := ids(200)
	weights := map[string]int64{}
	var total int64
	for i, id := range accts {
		w := int64(20000 / (i + 1))
		weights[id] = w
		total += w
	}
	const n = 4
	load := make([]int64, n)
	for id, s := range Plan(accts, weights, n) {
		load[s] += weights[id]
	}
	mean := float64(total) / n
	for s, l := range load {
		if float64(l) > 1.2*mean {
			t.Errorf("shard %d has %d of mean %.0f (loads %v)", s, l, mean, load)
		}
	}
	t.Logf("loads %v, mean %.0f, largest/mean %.3f", load, mean, float64(max(load[0], load[1], load[2], load[3]))/mean)
}

// TestPlanAgreesAcrossOrganizationChanges: shards list the organization at
// slightly different times. One that saw an account more (created in
// between) or one fewer (closed) must still place every other account
// where its siblings did, or accounts would be scanned twice or never.
func TestPlanAgreesAcrossOrganizationChanges(t *testing.T) {
	t.Parallel()
	accts := ids(1000)
	weights := map[string]int64{}
	for i, id := range accts {
		weights[id] = int64(i%97 + 1)
	}
	before := Plan(accts, weights, 8)
	created := append(slices.Clone(accts), "999999999999")
	closed := accts[1:]
	for name, list := range map[string][]string{"created": created, "closed": closed} {
		after := Plan(list, weights, 8)
		for _, id := range list {
			if s, ok := before[id]; ok && after[id] != s {
				t.Fatalf("%s: %s moved from shard %d to %d", name, id, s, after[id])
			}
		}
	}
}

func TestPlanWithoutWeightsIsStableWhenAccountsAreAdded(t *testing.T) {
	t.Parallel()
	accts := ids(300)
	before := Plan(accts[:200], nil, 8)
	after := Plan(accts, nil, 8)
	for id, s := range before {
		if after[id] != s {
			t.Fatalf("%s moved from shard %d to %d when accounts were added", id, s, after[id])
		}
	}
}
