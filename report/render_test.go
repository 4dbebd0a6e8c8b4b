package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// hostile is a report whose strings, from AWS, try to reach a terminal, a
// spreadsheet and a page as code.
func hostile() *Report {
	td := TaskDefinition{AccountID: "111111111111", AccountName: "evil\x1b]0;pwned\x07name", OUNames: "=HYPERLINK(\"x\")", Region: "us-east-1",
		ARN: "arn:aws:ecs:us-east-1:111111111111:task-definition/fam:2", Family: "fam", Revision: 2, ScanDT: "2026-11-30",
		RegisteredAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		Containers:   []Container{{Name: "<script>alert(1)</script>", Reason: "runs as root | privileged"}}}
	return &Report{AsOf: "2026-11-30", Totals: map[string]int64{Fail: 1}, TaskDefinitions: map[string]int64{Fail: 1}, Targets: map[string]int64{Fail: 1},
		NewestRun: &RunInfo{RunID: "r1", Status: "complete"}, Failing: []TaskDefinition{td},
		Accounts: []Account{{AccountID: "111111111111", AccountName: td.AccountName, OUNames: td.OUNames, Counts: Counts{Targets: 1, Fail: 1}}},
		Trend:    []Day{{DT: "2026-11-30", Counts: Counts{Targets: 1, Fail: 1}}}}
}

func TestRenderingKeepsUntrustedStringsInert(t *testing.T) {
	t.Parallel()
	for _, format := range Formats {
		var b bytes.Buffer
		if err := Write(&b, hostile(), format, 0); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		out := b.String()
		if strings.Contains(out, "\x1b") || strings.Contains(out, "\x07") {
			t.Errorf("%s: a control character reached the output", format)
		}
		switch format {
		case FormatHTML:
			if strings.Contains(out, "<script>alert") {
				t.Errorf("html: a container name became markup")
			}
		case FormatMarkdown:
			if !strings.Contains(out, `root \| privileged`) {
				t.Errorf("markdown: a | in a reason was not escaped:\n%s", out)
			}
		case FormatCSV:
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || len(rows) != 2 || rows[1][3] != `'=HYPERLINK("x")` {
				t.Errorf("csv: %v, %q; want the formula quoted inert", err, rows)
			}
		}
	}
	if err := Write(&bytes.Buffer{}, hostile(), "pdf", 0); err == nil {
		t.Error("format pdf: no error")
	}
}

func TestConsoleURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ arn, region, want string }{
		{"arn:aws:ecs:eu-west-1:1:task-definition/web:3", "eu-west-1", "https://eu-west-1.console.aws.amazon.com/ecs/v2/task-definitions/web/3/containers?region=eu-west-1"},
		{"arn:aws-us-gov:ecs:us-gov-west-1:1:task-definition/web:3", "us-gov-west-1", "https://console.amazonaws-us-gov.com/ecs/v2/task-definitions/web/3/containers?region=us-gov-west-1"},
		{"arn:aws-cn:ecs:cn-north-1:1:task-definition/web:3", "cn-north-1", "https://console.amazonaws.cn/ecs/v2/task-definitions/web/3/containers?region=cn-north-1"},
	}
	for _, tt := range tests {
		td := TaskDefinition{ARN: tt.arn, Region: tt.region, Family: "web", Revision: 3}
		if got := td.ConsoleURL(); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.arn, got, tt.want)
		}
	}
}

// TestJSONStreamsTheReport: the streamed JSON is the Report as
// encoding/json would write it, but for empty lists: [] rather than null.
func TestJSONStreamsTheReport(t *testing.T) {
	t.Parallel()
	for _, r := range []*Report{hostile(), {AsOf: "2026-11-30", Totals: map[string]int64{}}} {
		r.Changes = Changes{Since: "r0", NewFails: r.Failing, NewGaps: []Gap{{AccountID: "1", Gap: "account"}}}
		var b bytes.Buffer
		if err := Write(&b, r, FormatJSON, 0); err != nil {
			t.Fatal(err)
		}
		var got, want any
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		// Lists stream as [] where encoding/json writes null for nil.
		full := *r
		for _, l := range []*[]TaskDefinition{&full.Failing, &full.Errors, &full.Changes.NewFails, &full.Changes.Fixed} {
			*l = append([]TaskDefinition{}, *l...)
		}
		for _, l := range []*[]Gap{&full.Gaps, &full.Changes.NewGaps} {
			*l = append([]Gap{}, *l...)
		}
		full.Accounts, full.Trend = append([]Account{}, full.Accounts...), append([]Day{}, full.Trend...)
		direct, _ := json.Marshal(&full)
		_ = json.Unmarshal(direct, &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("streamed\n%s\nwant\n%s", b.String(), direct)
		}
	}
}
