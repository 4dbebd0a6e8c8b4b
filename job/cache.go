package job

import (
	"context"
	"fmt"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
)

// aheadRows bounds the earlier findings rows read ahead for targets that
// have not started yet: about 12 MiB of rows, several times what the
// targets in flight at once hold in a large organization.
const aheadRows = 20_000

// cache is what an earlier run evaluated under the same rule. Task
// definition revisions are immutable — one ARN, one content — so a revision
// found here is not described again: its rows are carried into this run.
// Each target reads its own earlier rows when it runs, once; the cache holds
// only where each target's rows are, not the rows.
type cache struct {
	from    []output.Previous
	earlier *output.ByTarget
}

// carried is one revision a target took from the cache, with its earlier
// rows.
type carried struct {
	arn    string
	status string // as listed now: the one field of a revision that changes
	rows   []output.Finding
}

// loadCache finds the newest earlier run that committed its findings under
// the same rule version and switches, and indexes where each target's rows
// are in its findings files. A run that was partial or interrupted
// qualifies: every non-ERROR row it committed is exactly as valid as a
// complete run's, but a target it did not fully scan has no PASS rows, so
// its revisions are not taken. Only accounts mine takes are indexed: a shard
// holds its own share.
func loadCache(ctx context.Context, src output.Source, runID string, rule check.Options, mine func(account string) bool) (*cache, error) {
	prev, err := output.FindPrevious(ctx, src, func(r output.Run) bool {
		return r.RunID != runID && r.Status != StatusFailed &&
			r.RuleVersion == check.RuleVersion && r.RuleOptions == rule.String()
	})
	if err != nil || len(prev) == 0 {
		return nil, err
	}
	type targetRow struct {
		AccountID string `parquet:"account_id"`
		Region    string `parquet:"region"`
		Status    string `parquet:"status"`
	}
	// A target not fully scanned wrote no PASS rows, so its revisions'
	// rows are incomplete: describe them again. (A target belongs to one
	// shard of a run, so one set serves every shard's files.)
	partial := map[output.Target]bool{}
	keys := make([]string, 0, len(prev))
	for _, p := range prev {
		err := output.Read(ctx, src, p.CoverageKey(), func(r targetRow) error {
			if r.Status != Scanned {
				partial[output.Target{Account: r.AccountID, Region: r.Region}] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read earlier coverage: %w", err)
		}
		keys = append(keys, p.FindingsKey())
	}
	earlier, err := output.OpenByTarget(ctx, src, keys, func(t output.Target) bool {
		return mine(t.Account) && !partial[t]
	}, aheadRows)
	if err != nil {
		return nil, fmt.Errorf("read earlier findings: %w", err)
	}
	return &cache{from: prev, earlier: earlier}, nil
}

// rows returns the earlier evaluated rows of target t by revision ARN,
// ERROR rows left out. It reads them from the output the first time and
// returns nothing the second.
func (c *cache) rows(t target) (map[string][]output.Finding, error) {
	if c == nil {
		return nil, nil
	}
	rows, err := c.earlier.Rows(output.Target{Account: t.account.ID, Region: t.region})
	if err != nil {
		return nil, fmt.Errorf("read earlier findings: %w", err)
	}
	byARN := map[string][]output.Finding{}
	for _, f := range rows {
		if f.Result != string(check.Error) && f.TaskDefinitionARN != "" {
			byARN[f.TaskDefinitionARN] = append(byARN[f.TaskDefinitionARN], f)
		}
	}
	return byARN, nil
}

// close releases the earlier findings: nothing is read after the last
// target.
func (c *cache) close() error {
	if c == nil {
		return nil
	}
	return c.earlier.Close()
}

// sought is how many targets' earlier rows were read by seeking, out of
// the files' order (output.ByTarget.Sought); 0 without a cache.
func (c *cache) sought() int {
	if c == nil {
		return 0
	}
	return c.earlier.Sought()
}

// carry returns k's earlier rows as this run's: marked as carried, with the
// status the revision has now, what runs it now and the account's current
// name and OU.
func (k carried) carry(t target, use inUse) []output.Finding {
	rows := make([]output.Finding, 0, len(k.rows))
	for _, f := range k.rows {
		f.Carried, f.Status = true, k.status
		use.mark(&f)
		f.AccountName, f.OUPath, f.OUNames = output.Text(t.account.Name), t.account.OUPath, output.Text(t.account.OUNames)
		rows = append(rows, f)
	}
	return rows
}
