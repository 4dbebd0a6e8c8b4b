package check

import (
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestEvaluate(t *testing.T) {
	t.Parallel()
	type want struct {
		result    Result
		unset     bool
		reasonHas []string
		severity  string
	}
	tests := []struct {
		name       string
		mode       string
		privileged *bool
		user       *string
		opts       Options
		want       want
	}{
		// The examples.
		{"bridge privileged root", "bridge", ptr(true), ptr("root"), Options{}, want{result: NotApplicable}},
		{"host unset everything", "host", nil, nil, Options{}, want{result: Pass, unset: true, reasonHas: []string{"user unset", "often root"}}},
		{"host root", "host", ptr(false), ptr("root"), Options{}, want{result: Fail, reasonHas: []string{"root"}, severity: SeverityHigh}},
		{"host privileged uid 1000", "host", ptr(true), ptr("1000"), Options{}, want{result: Fail, reasonHas: []string{"privileged"}, severity: SeverityCritical}},
		{"host 0:0", "host", nil, ptr("0:0"), Options{}, want{result: Fail, reasonHas: []string{"root"}}},
		{"host root:app", "host", ptr(false), ptr("root:app"), Options{}, want{result: Fail}},
		{"host 1000:0 root group", "host", nil, ptr("1000:0"), Options{}, want{result: Pass, reasonHas: []string{"root group"}}},
		{"host appuser", "host", nil, ptr("appuser"), Options{}, want{result: Pass}},

		// Network modes.
		{"absent mode is bridge", "", ptr(true), ptr("root"), Options{}, want{result: NotApplicable, reasonHas: []string{"bridge"}}},
		{"awsvpc", "awsvpc", ptr(true), ptr("0"), Options{}, want{result: NotApplicable}},
		{"none", "none", ptr(true), nil, Options{}, want{result: NotApplicable}},
		{"HOST is not host", "HOST", ptr(true), ptr("root"), Options{}, want{result: NotApplicable}},

		// Numeric spellings of uid 0 the runtime accepts.
		{"00", "host", nil, ptr("00"), Options{}, want{result: Fail}},
		{"+0", "host", nil, ptr("+0"), Options{}, want{result: Fail}},
		{"-0", "host", nil, ptr("-0"), Options{}, want{result: Fail}},
		{"0000:1000", "host", nil, ptr("0000:1000"), Options{}, want{result: Fail}},
		{"0:", "host", nil, ptr("0:"), Options{}, want{result: Fail}},
		{"root:", "host", nil, ptr("root:"), Options{}, want{result: Fail}},
		{"10", "host", nil, ptr("10"), Options{}, want{result: Pass}},
		{"01", "host", nil, ptr("01"), Options{}, want{result: Pass}},
		{"sign only", "host", nil, ptr("+"), Options{}, want{result: Pass}},
		{"0x0 is not decimal", "host", nil, ptr("0x0"), Options{}, want{result: Pass}},
		{"huge zero string", "host", nil, ptr(strings.Repeat("0", 40)), Options{}, want{result: Fail}},
		{"huge nonzero", "host", nil, ptr("99999999999999999999999"), Options{}, want{result: Pass, reasonHas: []string{"refuses to start"}}},

		// Group part alone never makes it root.
		{"app:root", "host", nil, ptr("app:root"), Options{}, want{result: Pass, reasonHas: []string{"root group"}}},
		{"1000:00", "host", nil, ptr("1000:00"), Options{}, want{result: Pass, reasonHas: []string{"root group"}}},
		{"1000:+0 signed root group", "host", nil, ptr("1000:+0"), Options{}, want{result: Pass, reasonHas: []string{"root group"}}},

		// An empty user part is the runtime's default uid, 0, whatever the group.
		{":0 empty user part", "host", nil, ptr(":0"), Options{}, want{result: Fail, reasonHas: []string{"empty user part", "uid 0"}, severity: SeverityHigh}},
		{":1000 empty user part", "host", nil, ptr(":1000"), Options{}, want{result: Fail, reasonHas: []string{"empty user part"}}},
		{": alone", "host", nil, ptr(":"), Options{}, want{result: Fail}},
		{":app", "host", ptr(false), ptr(":app"), Options{}, want{result: Fail}},
		{"::", "host", nil, ptr("::"), Options{}, want{result: Fail}},
		{"aws-config :1000", "host", nil, ptr(":1000"), Options{Compat: AWSConfig}, want{result: Fail, reasonHas: []string{"empty user part"}}},

		// Numbers the runtime refuses: the container cannot start.
		{"-1", "host", nil, ptr("-1"), Options{}, want{result: Pass, reasonHas: []string{"refuses to start"}}},
		{"2147483648", "host", nil, ptr("2147483648"), Options{}, want{result: Pass, reasonHas: []string{"refuses to start"}}},
		{"2147483647", "host", nil, ptr("2147483647"), Options{}, want{result: Pass}},
		{"root with out-of-range group", "host", nil, ptr("root:99999999999999999999"), Options{}, want{result: Fail}},
		{"0:a:b", "host", nil, ptr("0:a:b"), Options{}, want{result: Fail}},

		// Names rest on the passwd assumption, and say so.
		{"named user", "host", nil, ptr("www-data"), Options{}, want{result: Pass, reasonHas: []string{"only root has uid 0"}}},

		// Unusual spellings are not root to the runtime.
		{"ROOT", "host", nil, ptr("ROOT"), Options{}, want{result: Pass, reasonHas: []string{"unusual spelling"}}},
		{"leading space", "host", nil, ptr(" root"), Options{}, want{result: Pass, reasonHas: []string{"unusual spelling"}}},
		{"trailing space zero", "host", nil, ptr("0 "), Options{}, want{result: Pass, reasonHas: []string{"unusual spelling"}}},
		{"Root:Root", "host", nil, ptr("Root:Root"), Options{}, want{result: Pass, reasonHas: []string{"unusual spelling"}}},
		{"rootless", "host", nil, ptr("rootless"), Options{}, want{result: Pass}},

		// Unset user: empty is unset too.
		{"empty user", "host", ptr(false), ptr(""), Options{}, want{result: Pass, unset: true}},
		{"unset user fails on request", "host", nil, nil, Options{UnsetUserFails: true}, want{result: Fail, unset: true, severity: SeverityMedium}},
		{"unset user fails, off host", "bridge", nil, nil, Options{UnsetUserFails: true}, want{result: NotApplicable}},

		// Both reasons at once.
		{"privileged and root", "host", ptr(true), ptr("root"), Options{}, want{result: Fail, reasonHas: []string{"privileged", "root"}, severity: SeverityCritical}},
		{"privileged and unset", "host", ptr(true), nil, Options{}, want{result: Fail, unset: true, reasonHas: []string{"privileged", "user unset"}}},

		// AWS Config's logic.
		{"aws-config privileged root passes", "host", ptr(true), ptr("root"), Options{Compat: AWSConfig}, want{result: Pass}},
		{"aws-config root fails", "host", ptr(false), ptr("0"), Options{Compat: AWSConfig}, want{result: Fail}},
		{"aws-config unset fails", "host", nil, nil, Options{Compat: AWSConfig}, want{result: Fail, unset: true}},
		{"aws-config non-root passes", "host", nil, ptr("1000"), Options{Compat: AWSConfig}, want{result: Pass}},
		{"aws-config bridge", "bridge", nil, nil, Options{Compat: AWSConfig}, want{result: NotApplicable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			td := TaskDefinition{NetworkMode: tt.mode, Containers: []Container{{Name: "c", Image: "img", Privileged: tt.privileged, User: tt.user}}}
			got := Evaluate(td, tt.opts)
			if len(got) != 1 {
				t.Fatalf("got %d verdicts, want 1", len(got))
			}
			v := got[0]
			if v.Result != tt.want.result || v.UserUnset != tt.want.unset {
				t.Fatalf("got %s unset=%v (%s), want %s unset=%v", v.Result, v.UserUnset, v.Reason, tt.want.result, tt.want.unset)
			}
			for _, s := range tt.want.reasonHas {
				if !strings.Contains(v.Reason, s) {
					t.Errorf("reason %q lacks %q", v.Reason, s)
				}
			}
			if tt.want.severity != "" && v.Severity != tt.want.severity {
				t.Errorf("severity %s, want %s", v.Severity, tt.want.severity)
			}
			if v.Reason == "" || v.Container != "c" || v.Image != "img" {
				t.Errorf("verdict incomplete: %+v", v)
			}
			wantRule := RuleID
			if tt.opts.Compat == AWSConfig {
				wantRule = AWSConfigRuleID
			}
			if v.RuleID != wantRule {
				t.Errorf("rule %s, want %s", v.RuleID, wantRule)
			}
		})
	}
}

func TestEvaluateEveryContainerInOrder(t *testing.T) {
	t.Parallel()
	td := TaskDefinition{NetworkMode: "host", Containers: []Container{
		{Name: "app", User: ptr("1000")},
		{Name: "sidecar", Privileged: ptr(true)},
		{Name: "init", User: ptr("root")},
	}}
	got := Evaluate(td, Options{})
	want := []Result{Pass, Fail, Fail}
	if len(got) != len(want) {
		t.Fatalf("%d verdicts", len(got))
	}
	for i, v := range got {
		if v.Result != want[i] || v.Container != td.Containers[i].Name {
			t.Errorf("container %d: %s %s, want %s %s", i, v.Container, v.Result, td.Containers[i].Name, want[i])
		}
	}
	if n := len(Evaluate(TaskDefinition{NetworkMode: "host"}, Options{})); n != 0 {
		t.Errorf("no containers gave %d verdicts", n)
	}
}

func TestErrorVerdictIsNeverPass(t *testing.T) {
	t.Parallel()
	for _, opts := range []Options{{}, {HostAccess: true}} {
		vs := ErrorVerdicts("describe failed: ThrottlingException", opts)
		want := 1
		if opts.HostAccess {
			want = 2 // the task definition may use host networking: the second rule has no answer either
		}
		if len(vs) != want {
			t.Fatalf("%+v: %d verdicts, want %d", opts, len(vs), want)
		}
		for _, v := range vs {
			if v.Result != Error || v.Reason == "" || v.RuleVersion == "" {
				t.Fatalf("%+v", v)
			}
		}
	}
}

func TestUnusualSpellingIsQuotedSafely(t *testing.T) {
	t.Parallel()
	v := Evaluate(TaskDefinition{NetworkMode: "host", Containers: []Container{{Name: "x", User: ptr("ROOT\n\x1b[31m")}}}, Options{})[0]
	if strings.ContainsAny(v.Reason, "\n\x1b") {
		t.Fatalf("reason carries raw control characters: %q", v.Reason)
	}
}
