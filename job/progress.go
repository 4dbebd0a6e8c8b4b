package job

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
)

// Progress is how far a run has got, as its collector sees it.
type Progress struct {
	TargetsDone  int64
	TargetsTotal int64 // grows while Discovering
	Discovering  bool  // accounts are still being listed into targets
	Described    int64 // task definitions described in this run
	Carried      int64 // task definitions whose verdicts were carried from an earlier run
	Fail         int64 // FAIL findings so far
	Elapsed      time.Duration

	// Set on the last call only, once everything is counted.
	Done     bool
	Worst    []Failing // the task definitions with the most failing containers, at most ten
	Excluded []string  // accounts a filter excluded, sorted
	// FailByRule counts the FAIL findings of each rule (the control's,
	// the host-access rule's) by rule id.
	FailByRule map[string]int64
}

// Failing is one failing task definition revision and its failing
// containers, sorted; a container failing the host-access rule is named
// with " (host access)" after it.
type Failing struct {
	AccountID  string
	Region     string
	Family     string
	Revision   int32
	Containers []string
}

// Percent is the share of the targets known so far that are done, 0 to 100.
func (p Progress) Percent() float64 {
	if p.TargetsTotal == 0 {
		return 0
	}
	return 100 * float64(p.TargetsDone) / float64(p.TargetsTotal)
}

// Rate is task definitions (described or carried) per second so far.
func (p Progress) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Described+p.Carried) / p.Elapsed.Seconds()
}

// ETA estimates the time left from the pace of the targets done so far; ok
// is false before any target is done. While Discovering, the total and so
// the estimate still grow.
func (p Progress) ETA() (left time.Duration, ok bool) {
	if p.TargetsDone == 0 || p.Elapsed <= 0 {
		return 0, false
	}
	remaining := max(p.TargetsTotal-p.TargetsDone, 0)
	return time.Duration(float64(p.Elapsed) * float64(remaining) / float64(p.TargetsDone)), true
}

// Line renders the counts after the targets for a progress display:
// described, carried, FAIL, rate and ETA.
func (p Progress) Line() string {
	eta := "ETA …"
	if left, ok := p.ETA(); ok {
		eta = "ETA " + left.Round(time.Second).String()
	}
	return fmt.Sprintf("described %d  carried %d  FAIL %d  %.0f/s  %s", p.Described, p.Carried, p.Fail, p.Rate(), eta)
}

// worstCount is how many failing task definitions the final Progress names.
const worstCount = 10

// tracker keeps what Progress reports beyond the runs row's counts; only the
// collector goroutine touches it. It holds the worst failing task
// definitions found so far, not every failing one: its size does not grow
// with the organization.
type tracker struct {
	skipped    int64 // targets skipped at discovery (they never enter the fan-out)
	excluded   []string
	worstSoFar []Failing // worst first, at most worstCount
	failByRule map[string]int64
}

func (k *tracker) coverage(c output.Coverage) {
	if c.Region == "" && c.ErrorCode == "Excluded" {
		k.excluded = append(k.excluded, c.AccountID)
	}
}

// findings takes one target's findings rows. Every row of a task definition
// comes in the same call, since a target hands on all its rows, carried
// ones included, at once; so each task definition's failing containers are
// counted here, and only the worst are kept.
func (k *tracker) findings(rows []output.Finding) {
	var failing map[string]*Failing // by task definition ARN, this target's
	for _, f := range rows {
		if check.Result(f.Result) != check.Fail {
			continue
		}
		if failing == nil {
			failing = map[string]*Failing{}
		}
		if k.failByRule == nil {
			k.failByRule = map[string]int64{}
		}
		k.failByRule[f.RuleID]++
		fl := failing[f.TaskDefinitionARN]
		if fl == nil {
			fl = &Failing{AccountID: f.AccountID, Region: f.Region, Family: f.Family, Revision: f.Revision}
			failing[f.TaskDefinitionARN] = fl
		}
		name := f.ContainerName
		if f.RuleID == check.HostAccessRuleID {
			name += " (host access)"
		}
		fl.Containers = append(fl.Containers, name)
	}
	for _, fl := range failing {
		slices.Sort(fl.Containers)
		k.offer(*fl)
	}
}

// offer keeps f if it is among the worstCount worst so far.
func (k *tracker) offer(f Failing) {
	i, _ := slices.BinarySearchFunc(k.worstSoFar, f, worse)
	if i >= worstCount {
		return
	}
	k.worstSoFar = slices.Insert(k.worstSoFar, i, f)
	k.worstSoFar = k.worstSoFar[:min(len(k.worstSoFar), worstCount)]
}

// worse orders failing task definitions worst first: the most failing
// containers, then the newest revision, then by account, region and
// family, so that two different task definitions never tie.
func worse(a, b Failing) int {
	return cmp.Or(cmp.Compare(len(b.Containers), len(a.Containers)), cmp.Compare(b.Revision, a.Revision),
		strings.Compare(a.AccountID, b.AccountID), strings.Compare(a.Region, b.Region), strings.Compare(a.Family, b.Family))
}

// worst returns the task definitions with the most failing containers,
// then the newest revision, at most worstCount.
func (k *tracker) worst() []Failing { return slices.Clone(k.worstSoFar) }
