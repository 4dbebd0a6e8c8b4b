package remediate

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/usage"
)

// Failing is one failing revision to remediate, and what is known of what
// runs it.
type Failing struct {
	ARN, Account, Region string
	Containers           []string // the containers a scan failed; empty when named by the operator
	UsageKnown           bool
	Uses                 []Use
	UsageNote            string
}

// ParseARN reads a task definition revision's ARN.
func ParseARN(s string) (Failing, error) {
	a, err := arn.Parse(s)
	rest, ok := strings.CutPrefix(a.Resource, "task-definition/")
	family, rev, hasRev := strings.Cut(rest, ":")
	if err != nil || a.Service != "ecs" || !ok || family == "" || !hasRev || rev == "" || strings.Trim(rev, "0123456789") != "" {
		return Failing{}, fmt.Errorf("arn %q: want arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>", s)
	}
	return Failing{ARN: s, Account: a.AccountID, Region: a.Region}, nil
}

// FromDatasets returns the control's failing revisions as the datasets at
// src hold them, and the run it read: the FAIL rows of rule
// ECSAUDIT.HOSTNET.1 in the newest run that finished, complete or partial
// (some targets not scanned: what it did scan stands), with the run's
// usage rows. It is the one place that decides what "failing now" means; the
// posture the report computes can take its place.
func FromDatasets(ctx context.Context, src output.Source) (string, []Failing, error) {
	found, err := output.FindPrevious(ctx, src, func(r output.Run) bool { return r.Status == "complete" || r.Status == "partial" })
	if err != nil {
		return "", nil, err
	}
	if len(found) == 0 {
		return "", nil, nil
	}
	byARN := map[string]*Failing{}
	var order []string
	for _, p := range found {
		err := output.Read(ctx, src, p.FindingsKey(), func(f output.Finding) error {
			if f.RuleID != check.RuleID || f.Result != string(check.Fail) {
				return nil
			}
			it, ok := byARN[f.TaskDefinitionARN]
			if !ok {
				it = &Failing{ARN: f.TaskDefinitionARN, Account: f.AccountID, Region: f.Region, UsageKnown: f.InUse != nil,
					UsageNote: "usage of run " + p.Run.RunID}
				if f.InUse == nil {
					it.UsageNote = "the scan could not read what runs in " + f.Region
				}
				byARN[f.TaskDefinitionARN] = it
				order = append(order, f.TaskDefinitionARN)
			}
			if !slices.Contains(it.Containers, f.ContainerName) {
				it.Containers = append(it.Containers, f.ContainerName)
			}
			return nil
		})
		if err != nil {
			return "", nil, err
		}
	}
	for _, p := range found {
		err := output.Read(ctx, src, p.UsageKey(), func(u output.Usage) error {
			if it, ok := byARN[u.TaskDefinitionARN]; ok {
				it.Uses = append(it.Uses, Use{Cluster: u.ClusterARN, Service: u.Service, DesiredCount: u.DesiredCount,
					RunningCount: u.RunningCount, RunningTasks: u.RunningTasks, StartedBy: u.StartedBy})
			}
			return nil
		})
		if err != nil {
			return "", nil, err
		}
	}
	out := make([]Failing, 0, len(order))
	for _, a := range order {
		out = append(out, *byARN[a])
	}
	return found[0].Run.RunID, out, nil
}

// UsesOf returns what runs the revision arn among rows read live.
func UsesOf(rows []usage.Row, arn string) []Use {
	var out []Use
	for _, r := range rows {
		if r.TaskDefinitionARN == arn {
			out = append(out, Use{Cluster: r.ClusterARN, Service: r.Service, DesiredCount: r.DesiredCount,
				RunningCount: r.RunningCount, RunningTasks: r.Tasks, StartedBy: strings.Join(r.StartedBy, ",")})
		}
	}
	return out
}

// CompareARN orders revision ARNs by family, then revision number.
func CompareARN(a, b string) int {
	fa, ra, _ := strings.Cut(a[strings.LastIndexByte(a, '/')+1:], ":")
	fb, rb, _ := strings.Cut(b[strings.LastIndexByte(b, '/')+1:], ":")
	return cmp.Or(cmp.Compare(fa, fb), cmp.Compare(len(ra), len(rb)), cmp.Compare(ra, rb))
}
