package job

import (
	"slices"
	"strings"
	"testing"

	"github.com/ecsaudit/ecsaudit/output"
)

// TestDisagreements: the last shard finds a run whose shards do not make
// one scan of the organization, and says why in words.
func TestDisagreements(t *testing.T) {
	t.Parallel()
	shard := func(i int32, plan, digest string) output.Run {
		return output.Run{ShardIndex: i, ShardCount: 2, PlanRunID: plan, OrgDigest: digest}
	}
	listed := []string{"111111111111", "222222222222"}
	all := map[string]bool{"111111111111": true, "222222222222": true}
	for _, tc := range []struct {
		name    string
		rows    []output.Run
		covered map[string]bool
		want    []string // substrings, one per problem
	}{
		{"agree", []output.Run{shard(0, "n1", "d"), shard(1, "n1", "d")}, all, nil},
		{"agree on hashing", []output.Run{shard(0, "", "d"), shard(1, "", "d")}, all, nil},
		{"plan basis", []output.Run{shard(0, "n1", "d"), shard(1, "n2", "d")}, all,
			[]string{`plan basis (plan_run_id) differs (shards 0: "n1", shards 1: "n2")`}},
		{"organization", []output.Run{shard(0, "n1", "d1"), shard(1, "n1", "d2")}, all,
			[]string{"organization listed (org_digest) differs"}},
		{"shard count", []output.Run{shard(0, "", "d"), {ShardIndex: 1, ShardCount: 3, OrgDigest: "d"}}, all,
			[]string{"shard count differs"}},
		{"uncovered account", []output.Run{shard(0, "n1", "d"), shard(1, "n1", "d")}, map[string]bool{"111111111111": true},
			[]string{"1 listed accounts in no shard's coverage: 222222222222"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := disagreements(tc.rows, listed, tc.covered)
			if len(got) != len(tc.want) || !slices.EqualFunc(got, tc.want, strings.Contains) {
				t.Errorf("disagreements = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDigestIgnoresOrder: shards that list the same accounts in another
// order record the same digest; another organization gets another.
func TestDigestIgnoresOrder(t *testing.T) {
	t.Parallel()
	a, b := digest([]string{"1", "2", "3"}), digest([]string{"3", "1", "2"})
	if a != b || a == digest([]string{"1", "2"}) || len(a) != 32 {
		t.Errorf("digests %s, %s", a, b)
	}
}
