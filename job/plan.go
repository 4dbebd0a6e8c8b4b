package job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/ecsaudit/ecsaudit/accounts"
	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/shard"
	"github.com/ecsaudit/ecsaudit/taskdefs"
)

// plan decides which of the organization's accounts this shard scans. With
// more than one shard it balances by last night's work per account, read
// from the output; every shard reads the same run, so every shard computes
// the same plan.
func (r *run) plan(ctx context.Context, accts []accounts.Account) error {
	count := max(r.cfg.Shard.Count, 1)
	ids := make([]string, len(accts))
	for i, a := range accts {
		ids[i] = a.ID
	}
	r.listed = ids
	r.row.OrgAccounts, r.row.OrgDigest = int64(len(ids)), digest(ids)
	var weights map[string]int64
	if count > 1 && r.cfg.Previous != nil {
		w, basis, err := r.lastNightsWork(ctx)
		if err != nil {
			// A shard that planned differently from its siblings would
			// scan some accounts twice and others never.
			return fmt.Errorf("plan shards: %w", err)
		}
		weights, r.row.PlanRunID = w, basis
	}
	plan := shard.Plan(ids, weights, count)
	r.mine = func(id string) bool { return plan[id] == r.cfg.Shard.Index }
	r.accounts = map[string]accounts.Account{}
	for _, a := range accts {
		if r.mine(a.ID) {
			r.accounts[a.ID] = a
		}
	}
	r.row.Accounts = int64(len(r.accounts))
	if count > 1 {
		r.log.Info("shard planned", "shard", r.cfg.Shard.String(), "accounts", len(r.accounts), "of", len(accts), "plan_run_id", r.row.PlanRunID)
	}
	return nil
}

// digest returns a hash of the account ids, whatever their order: shards
// that listed the same organization record the same digest.
func digest(ids []string) string {
	sorted := slices.Sorted(slices.Values(ids))
	h := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return hex.EncodeToString(h[:16])
}

// lastNightsWork sums each account's work in the newest earlier run: the
// revisions described plus one per target for its listing. It returns that
// run's id, the plan's basis, or nothing when there is no earlier run.
func (r *run) lastNightsWork(ctx context.Context) (map[string]int64, string, error) {
	prev, err := output.FindPrevious(ctx, r.cfg.Previous, func(p output.Run) bool {
		return p.RunID != r.cfg.RunID && p.Status != StatusFailed
	})
	if err != nil || len(prev) == 0 {
		return nil, "", err
	}
	type work struct {
		AccountID       string `parquet:"account_id"`
		TaskDefinitions int64  `parquet:"task_definitions"`
	}
	weights := map[string]int64{}
	for _, p := range prev {
		err := output.Read(ctx, r.cfg.Previous, p.CoverageKey(), func(w work) error {
			weights[w.AccountID] += w.TaskDefinitions + 1
			return nil
		})
		if err != nil {
			return nil, "", err
		}
	}
	return weights, prev[0].Run.RunID, nil
}

// loadCache loads the revisions an earlier run evaluated under the same
// rule, unless the run is to be full. The latest-per-family mode lists
// families, not revisions, so it has nothing to look up.
func (r *run) loadCache(ctx context.Context) error {
	if r.cfg.Previous == nil || r.cfg.Full || r.cfg.Revisions == taskdefs.Latest {
		return nil
	}
	c, err := loadCache(ctx, r.cfg.Previous, r.cfg.RunID, r.cfg.Rule, r.mine)
	if err != nil || c == nil {
		return err
	}
	r.cache = c
	r.row.PreviousRunID = c.from[0].Run.RunID
	r.log.Info("earlier verdicts indexed", "previous_run_id", r.row.PreviousRunID)
	return nil
}
