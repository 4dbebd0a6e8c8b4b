package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// writeJSON streams r as JSON, the keys of Report's json tags in order, one
// list element per line: the failing task definitions of a large
// organization are never all encoded in memory at once.
func writeJSON(w io.Writer, r *Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	raw := func(s string) {
		if err == nil {
			_, err = bw.WriteString(s)
		}
	}
	value := func(v any) {
		if err != nil {
			return
		}
		var b []byte
		if b, err = json.Marshal(v); err == nil {
			_, err = bw.Write(b)
		}
	}
	field := func(name string, v any, last bool) {
		raw(strconv.Quote(name) + ": ")
		value(v)
		if !last {
			raw(",")
		}
		raw("\n")
	}
	list := func(name string, n int, item func(int) any, last bool) {
		raw(strconv.Quote(name) + ": [")
		for i := range n {
			if i > 0 {
				raw(",")
			}
			raw("\n")
			value(item(i))
		}
		raw("]")
		if !last {
			raw(",")
		}
		raw("\n")
	}
	tds := func(name string, s []TaskDefinition, last bool) {
		list(name, len(s), func(i int) any { return s[i] }, last)
	}
	gaps := func(name string, s []Gap, last bool) {
		list(name, len(s), func(i int) any { return s[i] }, last)
	}
	raw("{\n")
	field("as_of", r.AsOf, false)
	field("rule_id", r.RuleID, false)
	field("totals", r.Totals, false)
	field("task_definitions", r.TaskDefinitions, false)
	field("targets", r.Targets, false)
	if r.NewestRun != nil {
		field("newest_run", r.NewestRun, false)
	}
	list("accounts", len(r.Accounts), func(i int) any { return r.Accounts[i] }, false)
	tds("failing", r.Failing, false)
	tds("errors", r.Errors, false)
	gaps("coverage_gaps", r.Gaps, false)
	raw(`"changes": {`)
	if r.Changes.Since != "" {
		field("since_run_id", r.Changes.Since, false)
	}
	tds("new_fails", r.Changes.NewFails, false)
	tds("fixed", r.Changes.Fixed, false)
	gaps("new_coverage_gaps", r.Changes.NewGaps, true)
	raw("},\n")
	list("trend", len(r.Trend), func(i int) any { return r.Trend[i] }, true)
	raw("}\n")
	if err != nil {
		return err
	}
	return bw.Flush()
}

// mdCells matches the cells of a Markdown table row.
var mdCells = regexp.MustCompile(`[^|]+`)

// md escapes an untrusted string for a Markdown table cell.
func md(s string) string {
	s = clean(s)
	r := strings.NewReplacer("|", `\|`, "`", "'", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

func writeMarkdown(w io.Writer, r *Report, limit int) error {
	p := &printer{w: w}
	p.f("# ecsaudit posture as of %s", r.AsOf)
	p.f("")
	if r.NewestRun == nil {
		p.f("No complete run in the output.")
		return p.err
	}
	p.f("Rule %s.", md(r.RuleTitle()))
	p.f("")
	p.f("Newest run `%s` (%s). Containers: %s. Task definitions: %s.", md(r.NewestRun.RunID), r.NewestRun.Status,
		counts(r.Totals, resultOrder...), counts(r.TaskDefinitions, resultOrder...))
	p.f("")
	p.f("## By OU and account")
	p.f("")
	p.f("| OU | account | targets | stale | not scanned | FAIL | PASS | N/A | ERROR |")
	p.f("|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, a := range r.Accounts {
		p.f("| %s | %s %s | %d | %d | %d | %d | %d | %d | %d |", md(a.OUNames), a.AccountID, md(a.AccountName),
			a.Targets, a.TargetsStale, a.TargetsNotScanned, a.Fail, a.Pass, a.NotApplicable, a.Errors)
	}
	// table prints a titled table of n rows, the first limit of them.
	table := func(title string, n int, header string, row func(i int) string) {
		p.f("")
		p.f("## %s (%d)", title, n)
		if n == 0 {
			return
		}
		p.f("")
		p.f("%s", header)
		p.f("%s", mdCells.ReplaceAllString(header, "---"))
		for i := range min(n, limit) {
			p.f("%s", row(i))
		}
		if n > limit {
			p.f("| … %d more |", n-limit)
		}
	}
	mdTDs := func(title string, tds []TaskDefinition) {
		table(title, len(tds), "| account | region | task definition | runs | containers |", func(i int) string {
			td := tds[i]
			return fmt.Sprintf("| %s %s | %s | [%s](%s) | %s | %s |", td.AccountID, md(td.AccountName), md(td.Region), md(td.Name()), td.ConsoleURL(), td.Use(), md(td.containers()))
		})
	}
	mdGaps := func(title string, gs []Gap) {
		table(title, len(gs), "| account | region | why |", func(i int) string {
			g := gs[i]
			return fmt.Sprintf("| %s %s | %s | %s |", g.AccountID, md(g.AccountName), md(g.where()), md(g.why()))
		})
	}
	mdTDs("Failing task definitions, those that run first, then newest", r.Failing)
	mdTDs("ERROR task definitions", r.Errors)
	mdGaps("Not scanned, stale or unreachable", r.Gaps)
	if r.Changes.Since != "" {
		mdTDs("New FAILs since run "+md(r.Changes.Since), r.Changes.NewFails)
		mdTDs("Fixed since run "+md(r.Changes.Since), r.Changes.Fixed)
		mdGaps("New coverage gaps since run "+md(r.Changes.Since), r.Changes.NewGaps)
	}
	return p.err
}

// cell keeps a spreadsheet from reading an untrusted string as a formula.
// It also drops control characters.
func cell(s string) string {
	s = clean(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// inUse is a CSV cell for in_use: true, false, or empty when unknown.
func inUse(b *bool) string {
	if b == nil {
		return ""
	}
	return strconv.FormatBool(*b)
}

// writeCSV writes one row per failing container, per ERROR task
// definition and per coverage gap (state GAP:<kind>) of the posture: the
// list to work through.
func writeCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"state", "account_id", "account_name", "ou_names", "region", "family", "revision", "task_definition_arn", "container", "reason", "scan_dt", "console_url", "rule_id", "in_use", "running_tasks"})
	rows := func(state string, tds []TaskDefinition) {
		for _, td := range tds {
			for _, c := range td.Containers {
				_ = cw.Write([]string{state, cell(td.AccountID), cell(td.AccountName), cell(td.OUNames), cell(td.Region), cell(td.Family),
					strconv.Itoa(int(td.Revision)), cell(td.ARN), cell(c.Name), cell(c.Reason), cell(td.ScanDT), td.ConsoleURL(),
					r.RuleID, inUse(td.InUse), strconv.FormatInt(td.RunningTasks, 10)})
			}
		}
	}
	rows(Fail, r.Failing)
	rows(Error, r.Errors)
	for _, g := range r.Gaps {
		_ = cw.Write([]string{"GAP:" + cell(g.Gap), cell(g.AccountID), cell(g.AccountName), cell(g.OUNames), cell(g.Region), "", "", "", "", cell(g.why()), cell(g.ScanDT), "", r.RuleID, "", ""})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}
