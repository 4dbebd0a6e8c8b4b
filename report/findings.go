package report

import (
	"context"
	"hash/maphash"

	"github.com/ecsaudit/ecsaudit/output"
)

// detailLevel is how much of a scan's findings the report keeps beyond its
// tally.
type detailLevel uint8

const (
	detailNone    detailLevel = iota
	detailFailing             // its failing containers' names, no reasons
	detailFull                // its failing and ERROR rows, and its containers counted by result
)

// scanInfo is what the findings of one target's scan add up to.
type scanInfo struct {
	detail detailLevel
	tally  tally            // every task definition, NOT_APPLICABLE where the rule gave no verdict
	judged tally            // the task definitions the rule gave a verdict for
	states map[string]int64 // containers by result
	rows   []findingDetail  // FAIL and ERROR rows (FAIL only, without reasons, for detailFailing)
}

func (d *Counts) add(t target, need map[scanKey]*scanInfo) {
	d.Targets++
	switch t.state {
	case StateStale:
		d.TargetsStale++
		return
	case StateNotScanned:
		d.TargetsNotScanned++
		return
	}
	s := need[*t.scan]
	d.TaskDefinitions += s.tally.taskDefinitions
	d.Fail += s.tally.fail
	d.Pass += s.tally.pass
	d.NotApplicable += s.tally.notApplicable
	d.Errors += s.tally.errors
}

// readFindings reads the findings of every run a needed scan belongs to,
// projecting only the columns the report uses, and fills in need with the
// verdicts of rule. A task definition the rule gives no verdict for (the
// host-access rule reads host networking only) counts as NOT_APPLICABLE
// under it, as in the posture views.
func readFindings(ctx context.Context, src output.Source, runs []*run, need map[scanKey]*scanInfo, rule string) error {
	wanted := map[string]bool{}
	detailed := map[string]bool{}
	for k, s := range need {
		wanted[k.run] = true
		if s.detail != detailNone {
			detailed[k.run] = true
		}
	}
	seed := maphash.MakeSeed()
	for _, r := range runs {
		if !wanted[r.id] {
			continue
		}
		// Worst verdict per task definition of the run; ARNs are hashed so
		// that memory grows with the run's revisions by a few words each.
		type td struct {
			scan   *scanInfo
			worst  uint8
			judged bool // a row of the rule was seen
		}
		tds := map[uint64]td{}
		for _, a := range r.attempts {
			key := a.FindingsKey()
			var err error
			// tallyRow counts a row into its task definition's worst verdict
			// and returns its scan, nil when no posture needs it.
			tallyRow := func(account, region, arn, result string, judged bool) *scanInfo {
				s := need[scanKey{r.id, account, region}]
				if s != nil {
					h := maphash.String(seed, arn)
					old := tds[h]
					tds[h] = td{scan: s, worst: max(old.worst, weight(result)), judged: old.judged || judged}
				}
				return s
			}
			if detailed[r.id] {
				err = output.Read(ctx, src, key, func(f findingDetail) error {
					if f.RuleID != rule {
						tallyRow(f.AccountID, f.Region, f.TaskDefinitionARN, NotApplicable, false)
						return nil
					}
					s := tallyRow(f.AccountID, f.Region, f.TaskDefinitionARN, f.Result, true)
					switch {
					case s == nil:
					case s.detail == detailFull:
						if s.states == nil {
							s.states = map[string]int64{}
						}
						s.states[f.Result]++
						if f.Result == Fail || f.Result == Error {
							s.rows = append(s.rows, f)
						}
					case s.detail == detailFailing && f.Result == Fail:
						f.Reason = "" // only which task definitions fail counts
						s.rows = append(s.rows, f)
					}
					return nil
				})
			} else {
				err = output.Read(ctx, src, key, func(f findingTally) error {
					if f.RuleID != rule {
						tallyRow(f.AccountID, f.Region, f.TaskDefinitionARN, NotApplicable, false)
						return nil
					}
					tallyRow(f.AccountID, f.Region, f.TaskDefinitionARN, f.Result, true)
					return nil
				})
			}
			if err != nil {
				return err
			}
		}
		for _, t := range tds {
			t.scan.tally.count(byWeight[t.worst])
			if t.judged {
				t.scan.judged.count(byWeight[t.worst])
			}
		}
	}
	return nil
}
