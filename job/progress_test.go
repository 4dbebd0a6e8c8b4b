package job

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
)

// TestProgressFigures pins the arithmetic of the progress display and of
// the JSON progress lines, with elapsed times given, not measured.
func TestProgressFigures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p        Progress
		percent  float64
		rate     float64
		eta      time.Duration
		etaKnown bool
		line     string
	}{
		{Progress{}, 0, 0, 0, false, "described 0  carried 0  FAIL 0  0/s  ETA …"},
		{Progress{TargetsDone: 25, TargetsTotal: 100, Described: 300, Carried: 700, Fail: 12, Elapsed: 10 * time.Second},
			25, 100, 30 * time.Second, true, "described 300  carried 700  FAIL 12  100/s  ETA 30s"},
		{Progress{TargetsDone: 100, TargetsTotal: 100, Described: 50, Elapsed: 5 * time.Second}, 100, 10, 0, true,
			"described 50  carried 0  FAIL 0  10/s  ETA 0s"},
		// Discovery may lag: done can pass a total still growing.
		{Progress{TargetsDone: 12, TargetsTotal: 10, Discovering: true, Elapsed: time.Second}, 120, 0, 0, true,
			"described 0  carried 0  FAIL 0  0/s  ETA 0s"},
	}
	for _, tt := range tests {
		eta, ok := tt.p.ETA()
		if tt.p.Percent() != tt.percent || tt.p.Rate() != tt.rate || eta != tt.eta || ok != tt.etaKnown || tt.p.Line() != tt.line {
			t.Errorf("%+v: percent %v, rate %v, eta %v %v, line %q; want %v, %v, %v %v, %q",
				tt.p, tt.p.Percent(), tt.p.Rate(), eta, ok, tt.p.Line(), tt.percent, tt.rate, tt.eta, tt.etaKnown, tt.line)
		}
	}
}

// TestWorstFailing: the summary names the task definitions with the most
// failing containers, newest revision first among equals, at most ten,
// whichever target's rows came first, and keeps no more than ten.
func TestWorstFailing(t *testing.T) {
	t.Parallel()
	fail := func(arn, family string, rev int32, container string) output.Finding {
		return output.Finding{TaskDefinitionARN: arn, AccountID: "111111111111", Region: "us-east-1", Family: family, Revision: rev,
			ContainerName: container, Result: "FAIL"}
	}
	var one [][]output.Finding // twelve targets, one failing revision each
	for i := range 12 {
		one = append(one, []output.Finding{fail("arn:one:"+string(rune('a'+i)), "one", int32(i+1), "c")})
	}
	two := []output.Finding{fail("arn:two", "two", 1, "b"), fail("arn:two", "two", 1, "a"),
		{TaskDefinitionARN: "arn:pass", Family: "pass", Result: "PASS"}}
	reversed := slices.Clone(one)
	slices.Reverse(reversed)
	for _, order := range [][][]output.Finding{
		append(slices.Clone(one), two),
		append([][]output.Finding{two}, reversed...),
	} {
		var k tracker
		for _, target := range order {
			k.findings(target)
		}
		got := k.worst()
		if len(got) != 10 || got[0].Family != "two" || len(got[0].Containers) != 2 || got[0].Containers[0] != "a" ||
			got[1].Revision != 12 || got[9].Revision != 4 {
			t.Errorf("worst: %+v", got)
		}
		if len(k.worstSoFar) > worstCount {
			t.Errorf("kept %d failing task definitions, want at most %d", len(k.worstSoFar), worstCount)
		}
	}
}

func TestFailingByRule(t *testing.T) {
	t.Parallel()
	var k tracker
	k.findings([]output.Finding{
		{TaskDefinitionARN: "arn:m", Family: "m", Revision: 1, ContainerName: "agent", RuleID: check.RuleID, Result: "FAIL"},
		{TaskDefinitionARN: "arn:m", Family: "m", Revision: 1, ContainerName: "agent", RuleID: check.HostAccessRuleID, Result: "FAIL"},
		{TaskDefinitionARN: "arn:m", Family: "m", Revision: 1, ContainerName: "init", RuleID: check.HostAccessRuleID, Result: "FAIL"},
		{TaskDefinitionARN: "arn:m", Family: "m", Revision: 1, ContainerName: "init", RuleID: check.RuleID, Result: "PASS"},
	})
	if k.failByRule[check.RuleID] != 1 || k.failByRule[check.HostAccessRuleID] != 2 {
		t.Errorf("FAIL by rule: %v", k.failByRule)
	}
	if w := k.worst(); len(w) != 1 || strings.Join(w[0].Containers, ", ") != "agent, agent (host access), init (host access)" {
		t.Errorf("worst: %+v", w)
	}
}
