package job

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/ecsaudit/ecsaudit/accounts"
	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
)

// arnKey is a revision's ARN, hashed to keep the cache small: 850,000
// revisions take tens of MiB, not the hundreds their rows would.
type arnKey [16]byte

func keyOf(arn string) arnKey {
	h := sha256.Sum256([]byte(arn))
	return arnKey(h[:16])
}

// cache is what an earlier run evaluated under the same rule. Task
// definition revisions are immutable — one ARN, one content — so a revision
// found here is not described again: its rows are carried into this run.
// It is read-only once loaded, so targets look it up concurrently.
type cache struct {
	from []output.Previous
	rows map[arnKey]uint16 // rows the revision had; ERROR rows are never cached
}

// carried is one revision a target took from the cache.
type carried struct {
	key    arnKey
	status string // as listed now: the one field of a revision that changes
	arn    string // until the target is done; not kept
	use    inUse  // what runs it now
}

// now is what changes of a carried revision: its status and what runs it.
type now struct {
	status string
	use    inUse
}

// loadCache finds the newest earlier run that committed its findings under
// the same rule version and switches, and indexes its evaluated revisions.
// A run that was partial or interrupted qualifies: every non-ERROR row it
// committed is exactly as valid as a complete run's, but a target it did
// not fully scan has no PASS rows, so its revisions are not taken.
// Only accounts mine takes are indexed: a shard holds its own share.
func loadCache(ctx context.Context, src output.Source, runID string, rule check.Options, mine func(account string) bool) (*cache, error) {
	prev, err := output.FindPrevious(ctx, src, func(r output.Run) bool {
		return r.RunID != runID && r.Status != StatusFailed &&
			r.RuleVersion == check.RuleVersion && r.RuleOptions == rule.String()
	})
	if err != nil || len(prev) == 0 {
		return nil, err
	}
	c := &cache{from: prev, rows: map[arnKey]uint16{}}
	type arnRow struct {
		ARN       string `parquet:"task_definition_arn"`
		Result    string `parquet:"result"`
		AccountID string `parquet:"account_id"`
		Region    string `parquet:"region"`
	}
	type targetRow struct {
		AccountID string `parquet:"account_id"`
		Region    string `parquet:"region"`
		Status    string `parquet:"status"`
	}
	for _, p := range prev {
		// A target not fully scanned wrote no PASS rows, so its revisions'
		// rows are incomplete: describe them again.
		partial := map[[2]string]bool{}
		err := output.Read(ctx, src, p.CoverageKey(), func(r targetRow) error {
			if r.Status != Scanned {
				partial[[2]string{r.AccountID, r.Region}] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read earlier coverage: %w", err)
		}
		err = output.Read(ctx, src, p.FindingsKey(), func(r arnRow) error {
			if r.Result != string(check.Error) && r.ARN != "" && mine(r.AccountID) && !partial[[2]string{r.AccountID, r.Region}] {
				k := keyOf(r.ARN)
				c.rows[k] = min(c.rows[k]+1, 65535)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read earlier findings: %w", err)
		}
	}
	return c, nil
}

// lookup returns how many rows the revision had, zero when it must be
// described.
func (c *cache) lookup(arn string) int {
	if c == nil {
		return 0
	}
	return int(c.rows[keyOf(arn)])
}

// carry copies the earlier run's rows of every revision in keep into w,
// marked as carried, with the status the revision has now, what runs it now
// and the account's current name and OU. It streams: one earlier row at a time.
func (c *cache) carry(ctx context.Context, src output.Source, w *output.Writer, runID, attemptID string,
	keep map[arnKey]now, accts map[string]accounts.Account, count func(output.Finding)) error {
	batch := make([]output.Finding, 0, 1024)
	flush := func() error {
		err := w.Findings(ctx, batch)
		batch = batch[:0]
		return err
	}
	for _, p := range c.from {
		err := output.Read(ctx, src, p.FindingsKey(), func(f output.Finding) error {
			if f.Result == string(check.Error) {
				return nil
			}
			n, ok := keep[keyOf(f.TaskDefinitionARN)]
			if !ok {
				return nil
			}
			f.RunID, f.AttemptID, f.Carried, f.Status = runID, attemptID, true, n.status
			n.use.mark(&f)
			if a, ok := accts[f.AccountID]; ok {
				f.AccountName, f.OUPath, f.OUNames = output.Text(a.Name), a.OUPath, output.Text(a.OUNames)
			}
			count(f)
			batch = append(batch, f)
			if len(batch) == cap(batch) {
				return flush()
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("carry earlier findings: %w", err)
		}
	}
	if len(batch) > 0 {
		return flush()
	}
	return nil
}
