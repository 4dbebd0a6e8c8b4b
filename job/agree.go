package job

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ecsaudit/ecsaudit/output"
)

// ErrShardsDisagree is returned, wrapped with the reasons, by the last
// shard of a run to commit when the run's shards do not add up to one
// scan of the organization: they balanced their plans on different runs,
// listed different organizations, were started with different shard
// counts, or left a listed account in no shard's coverage. Every shard's
// files and runs row are committed; the views do not count the run as
// complete.
var ErrShardsDisagree = errors.New("the run's shards disagree")

// checkShards runs after this shard committed. When every shard of the run
// has committed a finished runs row, it checks that they agree; it cannot
// tell whether another shard is still to come, so a shard that finds some
// missing leaves the check to the last.
func (r *run) checkShards(ctx context.Context) error {
	if r.row.ShardCount <= 1 || r.cfg.Previous == nil {
		return nil
	}
	shards, err := output.FindRun(ctx, r.cfg.Previous, r.cfg.RunID)
	if err != nil {
		r.log.Warn("cannot check that the run's shards agree", "error", err.Error())
		return nil
	}
	rows := make([]output.Run, len(shards))
	for i, s := range shards {
		rows[i] = s.Run
		if s.Run.Status != StatusComplete && s.Run.Status != StatusPartial {
			return nil // a shard to be retried: the run is not finished
		}
	}
	if len(rows) < int(r.row.ShardCount) {
		return nil // not the last shard
	}
	covered := map[string]bool{}
	type account struct {
		ID string `parquet:"account_id"`
	}
	for _, s := range shards {
		err := output.Read(ctx, r.cfg.Previous, s.CoverageKey(), func(a account) error {
			covered[a.ID] = true
			return nil
		})
		if err != nil {
			r.log.Warn("cannot check that the run's shards agree", "error", err.Error())
			return nil
		}
	}
	problems := disagreements(rows, r.listed, covered)
	if len(problems) == 0 {
		r.log.Info("every shard of the run committed and they agree", "shards", len(rows))
		return nil
	}
	err = fmt.Errorf("%w: %s", ErrShardsDisagree, strings.Join(problems, "; "))
	r.log.Error("the run's shards disagree: the views do not count this run as complete", "error", err.Error())
	return err
}

// disagreements lists, in words, why the finished shards rows of one run do
// not make one scan of the organization whose accounts are listed: every
// shard must have the same shard count, plan basis and organization
// digest, and every listed account must be in some shard's coverage.
func disagreements(rows []output.Run, listed []string, covered map[string]bool) []string {
	var out []string
	differ := func(what string, key func(output.Run) string) {
		seen := map[string][]string{}
		for _, r := range rows {
			seen[key(r)] = append(seen[key(r)], fmt.Sprint(r.ShardIndex))
		}
		if len(seen) < 2 {
			return
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(seen)) {
			parts = append(parts, fmt.Sprintf("shards %s: %q", strings.Join(seen[k], ","), k))
		}
		out = append(out, what+" differs ("+strings.Join(parts, ", ")+")")
	}
	differ("shard count", func(r output.Run) string { return fmt.Sprint(r.ShardCount) })
	differ("plan basis (plan_run_id)", func(r output.Run) string { return r.PlanRunID })
	differ("organization listed (org_digest)", func(r output.Run) string { return r.OrgDigest })
	var missing []string
	for _, id := range listed {
		if !covered[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		shown := missing[:min(len(missing), 10)]
		out = append(out, fmt.Sprintf("%d listed accounts in no shard's coverage: %s", len(missing), strings.Join(shown, ",")))
	}
	return out
}
