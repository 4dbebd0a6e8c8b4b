package report

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
)

// Formats Write renders.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
	FormatCSV      = "csv"
	FormatHTML     = "html"
)

// Formats lists every format, for usage messages.
var Formats = []string{FormatText, FormatJSON, FormatMarkdown, FormatCSV, FormatHTML}

// DefaultLimit is how many task definitions, gaps and changes the text,
// Markdown and HTML lists show.
const DefaultLimit = 50

// Write renders r in format to w. limit caps the lists of the text,
// Markdown and HTML formats (0: DefaultLimit); JSON and CSV list
// everything.
func Write(w io.Writer, r *Report, format string, limit int) error {
	if limit <= 0 {
		limit = DefaultLimit
	}
	switch format {
	case FormatText:
		return writeText(w, r, limit)
	case FormatJSON:
		return writeJSON(w, r)
	case FormatMarkdown:
		return writeMarkdown(w, r, limit)
	case FormatCSV:
		return writeCSV(w, r)
	case FormatHTML:
		return writeHTML(w, r, limit)
	}
	return fmt.Errorf("format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// clean makes an untrusted string safe for a terminal: control characters
// (escape sequences included) become spaces.
func clean(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// counts prints states in a fixed order, then any other.
func counts(m map[string]int64, order ...string) string {
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	for k, v := range m {
		known := false
		for _, o := range order {
			known = known || o == k
		}
		if !known && v > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", clean(k), v))
		}
	}
	return strings.Join(parts, ", ")
}

var (
	resultOrder = []string{Fail, Pass, NotApplicable, Error, StateStale}
	targetOrder = []string{Fail, Error, Pass, NotApplicable, StateEmpty, StateStale, StateNotScanned}
)

// RuleTitle says which rule the report is of, in words.
func (r *Report) RuleTitle() string {
	if r.RuleID == RuleHostAccess {
		return RuleHostAccess + ", host access: host networking must not give a container root-equivalent access (capabilities, pid/ipc mode host, host mounts, devices)"
	}
	return RuleControl + ", the control: host networking must not run privileged containers or containers as root"
}

// Use says what runs the revision: "running: 3 tasks, 1 service",
// "unused", or "" when the scan could not read it.
func (td TaskDefinition) Use() string {
	switch {
	case td.InUse == nil:
		return ""
	case !*td.InUse:
		return "unused"
	}
	return fmt.Sprintf("running: %s, %s", plural(td.RunningTasks, "task"), plural(td.Services, "service"))
}

// plural is "1 task" or "3 tasks".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Name returns the task definition's family:revision.
func (td TaskDefinition) Name() string { return fmt.Sprintf("%s:%d", td.Family, td.Revision) }

func (td TaskDefinition) containers() string {
	var parts []string
	for _, c := range td.Containers {
		if c.Name == "" {
			parts = append(parts, c.Reason)
			continue
		}
		parts = append(parts, c.Name+" ("+c.Reason+")")
	}
	return strings.Join(parts, "; ")
}

// where names a gap's target.
func (g Gap) where() string {
	if g.Region == "" {
		return "(account)"
	}
	return g.Region
}

// why says why a gap is one.
func (g Gap) why() string {
	var parts []string
	switch g.Gap {
	case "stale":
		parts = append(parts, "newest scan "+g.ScanDT+" is stale")
	case "never_scanned":
		parts = append(parts, "never scanned")
	case "last_attempt":
		parts = append(parts, "newest attempt not scanned")
	case "account":
		parts = append(parts, "account not reached")
	}
	parts = append(parts, g.AttemptStatus)
	if g.ErrorCode != "" {
		parts = append(parts, g.ErrorCode)
	}
	s := strings.Join(parts, ", ")
	if g.ErrorMessage != "" {
		s += ": " + g.ErrorMessage
	}
	return s
}

func writeText(w io.Writer, r *Report, limit int) error {
	p := &printer{w: w}
	p.f("ecsaudit posture as of %s", r.AsOf)
	if r.NewestRun == nil {
		p.f("  no complete run in the output")
		return p.err
	}
	p.f("  rule %s", r.RuleTitle())
	p.f("  newest run %s (%s), started %s", r.NewestRun.RunID, r.NewestRun.Status, r.NewestRun.StartedAt.Format("2006-01-02 15:04Z"))
	p.f("  containers        %s", counts(r.Totals, resultOrder...))
	p.f("  task definitions  %s", counts(r.TaskDefinitions, resultOrder...))
	p.f("  targets           %s", counts(r.Targets, targetOrder...))
	p.f("")
	p.f("By OU and account (task definitions of fresh targets)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  OU\taccount\ttargets\tstale\tnot scanned\tFAIL\tPASS\tN/A\tERROR\n")
	ou := "\x00"
	for _, a := range r.Accounts {
		label := ""
		if a.OUNames != ou {
			ou = a.OUNames
			label = clean(cmp.Or(ou, "(no OU)"))
		}
		fmt.Fprintf(tw, "  %s\t%s %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", label,
			a.AccountID, clean(a.AccountName), a.Targets, a.TargetsStale, a.TargetsNotScanned, a.Fail, a.Pass, a.NotApplicable, a.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	p.f("")
	p.f("Failing task definitions: %d, those that run first, then newest", len(r.Failing))
	p.tds(r.Failing, limit)
	p.f("")
	p.f("ERROR task definitions: %d", len(r.Errors))
	p.tds(r.Errors, limit)
	p.f("")
	p.f("Not scanned, stale or unreachable: %d", len(r.Gaps))
	p.gaps(r.Gaps, limit)
	p.f("")
	if r.Changes.Since == "" {
		p.f("Changes: no earlier posture run to compare with")
		return p.err
	}
	p.f("Changes since run %s", r.Changes.Since)
	p.f("  new FAILs: %d", len(r.Changes.NewFails))
	p.tds(r.Changes.NewFails, limit)
	p.f("  fixed: %d", len(r.Changes.Fixed))
	p.tds(r.Changes.Fixed, limit)
	p.f("  new coverage gaps: %d", len(r.Changes.NewGaps))
	p.gaps(r.Changes.NewGaps, limit)
	return p.err
}

// printer writes lines and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func (p *printer) tds(tds []TaskDefinition, limit int) {
	for i, td := range tds {
		if i == limit {
			p.f("    … and %d more (--limit, or --format json or csv for all)", len(tds)-limit)
			break
		}
		if use := td.Use(); use != "" {
			p.f("    %s %s  %s  %s  [%s]", td.AccountID, clean(td.AccountName), td.Region, clean(td.Name()), use)
		} else {
			p.f("    %s %s  %s  %s", td.AccountID, clean(td.AccountName), td.Region, clean(td.Name()))
		}
		for _, c := range td.Containers {
			if c.Name == "" {
				p.f("      %s", clean(c.Reason))
			} else {
				p.f("      %s: %s", clean(c.Name), clean(c.Reason))
			}
		}
	}
}

func (p *printer) gaps(gs []Gap, limit int) {
	for i, g := range gs {
		if i == limit {
			p.f("    … and %d more", len(gs)-limit)
			break
		}
		p.f("    %s %s  %s  %s", g.AccountID, clean(g.AccountName), g.where(), clean(g.why()))
	}
}
