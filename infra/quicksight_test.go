package infra

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/awslabs/goformation/v7/cloudformation/quicksight"

	"github.com/ecsaudit/ecsaudit/infra/athena"
	"github.com/ecsaudit/ecsaudit/output"
)

// quickSightViews are the views the QuickSight stack makes datasets of.
var quickSightViews = []string{
	"ecsaudit_coverage_gaps",
	"ecsaudit_posture_accounts",
	"ecsaudit_posture_containers",
	"ecsaudit_posture_task_definitions",
	"ecsaudit_posture_trend",
}

// computedColumnTypes are the Athena types of the view columns that are
// computed rather than read from a table.
var computedColumnTypes = map[string]string{
	"verdict":                  "string",
	"failing_container_count":  "bigint",
	"failing_containers":       "string",
	"scanned":                  "boolean",
	"share_compliant":          "double",
	"state":                    "string",
	"last_verdict":             "string",
	"scan_run_id":              "string",
	"scan_dt":                  "string",
	"age_days":                 "bigint",
	"targets_stale":            "bigint",
	"gap":                      "string",
	"attempt_dt":               "string",
	"attempt_run_id":           "string",
	"attempt_status":           "string",
	"deregistration_candidate": "boolean",
	"rule_name":                "string",
}

// quickSightType maps an Athena type to the QuickSight input column type.
// There is no mapping for arrays or maps: QuickSight drops them.
var quickSightType = map[string]string{
	"string":    "STRING",
	"int":       "INTEGER",
	"bigint":    "INTEGER",
	"double":    "DECIMAL",
	"boolean":   "BOOLEAN",
	"timestamp": "DATETIME",
}

// TestQuickSightDataSetsMatchViews checks each QuickSight dataset against
// the view it reads in infra/athena/views.sql: the same column names in the
// same order, each with the QuickSight type of its Athena type, none an
// array; and a daily SPICE refresh after the nightly run.
func TestQuickSightDataSetsMatchViews(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "quicksight.yaml", nil)
	views := viewColumnsFromSQL(t, athena.Views())
	types := columnTypes(t)

	byView := map[string]*quicksight.DataSet{}
	ids := map[string]string{}
	for logical, ds := range tmpl.GetAllQuickSightDataSetResources() {
		if len(ds.PhysicalTableMap) != 1 {
			t.Fatalf("%s: %d physical tables, want 1", logical, len(ds.PhysicalTableMap))
		}
		for _, pt := range ds.PhysicalTableMap {
			rt := pt.RelationalTable
			if rt == nil {
				t.Fatalf("%s: not a relational table on a view", logical)
			}
			if rt.DataSourceArn != "${DataSource.Arn}" || deref(rt.Catalog) != "AwsDataCatalog" || deref(rt.Schema) != "ecsaudit" {
				t.Errorf("%s reads %s/%s/%s, want the Athena data source, AwsDataCatalog, the job's database", logical, rt.DataSourceArn, deref(rt.Catalog), deref(rt.Schema))
			}
			byView[rt.Name] = ds
			ids[deref(ds.DataSetId)] = rt.Name
		}
		if deref(ds.ImportMode) != "SPICE" {
			t.Errorf("%s: ImportMode %q, want SPICE", logical, deref(ds.ImportMode))
		}
	}
	if got := sortedKeys(byView); !slices.Equal(got, quickSightViews) {
		t.Fatalf("datasets read views %q, want %q", got, quickSightViews)
	}
	for _, view := range quickSightViews {
		want, ok := views[view]
		if !ok {
			t.Errorf("views.sql defines no view %s", view)
			continue
		}
		var got, wantNames []string
		wantTypes := map[string]string{}
		for _, c := range want {
			wantNames = append(wantNames, c.Name)
			wantTypes[c.Name] = c.Type
			if c.Type == "" {
				wantTypes[c.Name] = types[c.Name]
			}
		}
		for _, pt := range byView[view].PhysicalTableMap {
			for _, c := range pt.RelationalTable.InputColumns {
				got = append(got, c.Name)
				athenaType := wantTypes[c.Name]
				if athenaType == "" {
					t.Errorf("%s.%s: no Athena type known, or two; name it in computedColumnTypes", view, c.Name)
					continue
				}
				if c.Type != quickSightType[athenaType] {
					t.Errorf("%s.%s: QuickSight type %s, want %s for Athena %s", view, c.Name, c.Type, quickSightType[athenaType], athenaType)
				}
			}
		}
		if !slices.Equal(got, wantNames) {
			t.Errorf("dataset on %s has columns\n%q\nthe view has\n%q", view, got, wantNames)
		}
	}

	job := render(t, "job.yaml", nil)
	var runAt time.Duration
	for _, s := range job.GetAllSchedulerScheduleResources() {
		runAt = cronTimeOfDay(t, s.ScheduleExpression)
		if tz := deref(s.ScheduleExpressionTimezone); tz != "UTC" {
			t.Fatalf("job schedule time zone %q; this test compares UTC times", tz)
		}
	}
	refreshes := tmpl.GetAllQuickSightRefreshScheduleResources()
	refreshed := map[string]bool{}
	for logical, r := range refreshes {
		view, ok := ids[deref(r.DataSetId)]
		if !ok {
			t.Errorf("%s refreshes unknown dataset %q", logical, deref(r.DataSetId))
			continue
		}
		refreshed[view] = true
		s := r.Schedule
		if s == nil || s.ScheduleFrequency == nil || deref(s.ScheduleFrequency.Interval) != "DAILY" || deref(s.ScheduleFrequency.TimeZone) != "UTC" {
			t.Errorf("%s: schedule %+v, want daily in UTC", logical, s)
			continue
		}
		at, err := time.Parse("15:04", deref(s.ScheduleFrequency.TimeOfTheDay))
		if err != nil {
			t.Fatal(err)
		}
		if gap := time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute - runAt; gap < 2*time.Hour {
			t.Errorf("%s refreshes %v after the nightly run starts, want at least 2h", logical, gap)
		}
		if deref(s.RefreshType) != "FULL_REFRESH" {
			t.Errorf("%s: RefreshType %q", logical, deref(s.RefreshType))
		}
	}
	if got := sortedKeys(refreshed); !slices.Equal(got, quickSightViews) {
		t.Errorf("refresh schedules cover %q, want every dataset", got)
	}
}

// columnTypes maps every column name the views can return to its Athena
// type: the output rows' columns, the dt partition, and the computed ones.
// A name with two types (carried is a flag per finding and a count per run)
// maps to "", which no dataset column may use.
func columnTypes(t *testing.T) map[string]string {
	t.Helper()
	types := map[string]string{"dt": "string"}
	add := func(name, typ string) {
		if old, ok := types[name]; ok && old != typ {
			typ = ""
		}
		types[name] = typ
	}
	for _, row := range []any{output.Finding{}, output.Coverage{}, output.Run{}} {
		for _, c := range athenaColumns(t, row) {
			add(c.Name, c.Type)
		}
	}
	for name, typ := range computedColumnTypes {
		add(name, typ)
	}
	return types
}

// cronTimeOfDay reads the time of day of an EventBridge "cron(m h ...)".
func cronTimeOfDay(t *testing.T, expr string) time.Duration {
	t.Helper()
	fields := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")"))
	if len(fields) != 6 {
		t.Fatalf("schedule %q is not cron(m h dom mon dow year)", expr)
	}
	m, err1 := strconv.Atoi(fields[0])
	h, err2 := strconv.Atoi(fields[1])
	if err1 != nil || err2 != nil {
		t.Fatalf("schedule %q: minute and hour are not plain numbers", expr)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
}

// viewColumnsFromSQL returns the output columns of each CREATE VIEW
// statement. It reads the outermost SELECT list: an item's name is its
// alias, else its last identifier; "x.*" expands to the columns of the
// table or view x stands for (a table's columns are output's, then dt) and
// keeps their types. Other columns' types are left empty.
func viewColumnsFromSQL(t *testing.T, statements []string) map[string][]column {
	t.Helper()
	sources := map[string][]column{}
	for _, ds := range datasets {
		sources[ds.dataset] = append(athenaColumns(t, ds.row), column{"dt", "string"})
	}
	views := map[string][]column{}
	header := regexp.MustCompile(`(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+([a-z0-9_]+)\s+AS\s+(.*)$`)
	for _, stmt := range statements {
		if strings.HasPrefix(stmt, "DROP VIEW IF EXISTS ") {
			continue // a view of an earlier version
		}
		m := header.FindStringSubmatch(stripComments(stmt))
		if m == nil {
			t.Fatalf("not a CREATE VIEW: %.60q", stmt)
		}
		cols, err := selectColumns(m[2], sources)
		if err != nil {
			t.Fatalf("view %s: %v", m[1], err)
		}
		views[m[1]] = cols
		sources[m[1]] = cols
	}
	return views
}

func stripComments(sql string) string {
	var b strings.Builder
	inQuote := byte(0)
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case inQuote != 0:
			if c == inQuote {
				inQuote = 0
			}
		case c == '\'' || c == '"':
			inQuote = c
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			c = '\n'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// topLevel calls fn for each byte of sql outside parentheses and quotes.
func topLevel(sql string, fn func(i int)) {
	depth, inQuote := 0, byte(0)
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case inQuote != 0:
			if c == inQuote {
				inQuote = 0
			}
		case c == '\'' || c == '"':
			inQuote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0:
			fn(i)
		}
	}
}

var keyword = regexp.MustCompile(`(?i)^(select|from|as)\b`)

func selectColumns(body string, sources map[string][]column) ([]column, error) {
	selectAt, fromAt := -1, -1
	var commas, asAt []int
	topLevel(body, func(i int) {
		if body[i] == ',' {
			if fromAt < 0 {
				commas = append(commas, i)
			}
			return
		}
		if i > 0 && isIdent(body[i-1]) {
			return // inside a word
		}
		switch kw := strings.ToLower(keyword.FindString(body[i:])); kw {
		case "select":
			selectAt, fromAt, commas, asAt = i+len(kw), -1, nil, nil
		case "from":
			if fromAt < 0 {
				fromAt = i
			}
		case "as":
			if fromAt < 0 {
				asAt = append(asAt, i)
			}
		}
	})
	if selectAt < 0 {
		return nil, fmt.Errorf("no top-level SELECT")
	}
	if fromAt < 0 {
		fromAt = len(body) // SELECT of constants
	}
	aliases := map[string]string{}
	from := regexp.MustCompile(`(?i)\b(?:from|join)\s+([a-z0-9_]+)\s+(?:as\s+)?([a-z0-9_]+)`)
	for _, m := range from.FindAllStringSubmatch(body[fromAt:], -1) {
		aliases[strings.ToLower(m[2])] = strings.ToLower(m[1])
	}
	var cols []column
	start := selectAt
	for _, end := range append(commas, fromAt) {
		item := body[start:end]
		offset := start
		start = end + 1
		name := ""
		for _, a := range asAt {
			if a >= offset && a < end {
				name = strings.TrimSpace(body[a+2 : end])
			}
		}
		item = strings.TrimSpace(item)
		if name == "" {
			if qualifier, ok := strings.CutSuffix(item, ".*"); ok {
				src, ok := sources[aliases[strings.ToLower(qualifier)]]
				if !ok {
					return nil, fmt.Errorf("%s.* names no known table or view", qualifier)
				}
				cols = append(cols, src...)
				continue
			}
			name = item[strings.LastIndexByte(item, '.')+1:]
		}
		name = strings.Trim(name, "`\"")
		if !regexp.MustCompile(`^[a-z_][a-z0-9_]*$`).MatchString(name) {
			return nil, fmt.Errorf("cannot name select item %q", item)
		}
		cols = append(cols, column{Name: name})
	}
	return cols, nil
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// TestViewColumnsFromSQL pins the select-list reader on the shapes
// views.sql uses: aliases, qualified names, table.* expansion, CASE and
// CAST ... AS inside expressions, quoted commas, subqueries and WITH.
func TestViewColumnsFromSQL(t *testing.T) {
	t.Parallel()
	got := viewColumnsFromSQL(t, []string{
		`CREATE OR REPLACE VIEW v1 AS
SELECT r.*, count(*) AS n
FROM runs r JOIN findings f ON r.run_id = f.run_id -- a comment, with a comma
GROUP BY 1`,
		`CREATE VIEW v2 AS
WITH latest AS (SELECT max(dt) AS dt FROM v1)
SELECT
  v.dt, n,
  CASE max(CASE x WHEN 'A' THEN 1 END) WHEN 1 THEN 'a,b' END AS verdict,
  coalesce(array_join(array_sort(array_agg(y)), ','), '') AS ys,
  CAST(n AS double) / nullif(n, 0) AS share
FROM (SELECT * FROM v1) v JOIN latest l ON v.dt = l.dt`,
	})
	want := map[string][]column{
		"v1": append(append(athenaColumns(t, output.Run{}), column{"dt", "string"}), column{Name: "n"}),
		"v2": {{Name: "dt"}, {Name: "n"}, {Name: "verdict"}, {Name: "ys"}, {Name: "share"}},
	}
	if !jsonEqual(got, want) {
		t.Errorf("columns =\n%s\nwant\n%s", mustJSON(got), mustJSON(want))
	}
}
