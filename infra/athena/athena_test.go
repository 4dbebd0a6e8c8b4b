package athena_test

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecsaudit/ecsaudit/infra/athena"
	"github.com/ecsaudit/ecsaudit/output"
)

func TestStatements(t *testing.T) {
	t.Parallel()
	got := athena.Statements(`-- leading; comment
/* block; comment */ SELECT 'a;b' AS "x;y";
SELECT 1 -- trailing; comment
;

  SELECT ` + "`c;d`" + ` FROM t /* ; */;
-- only a comment at the end;
`)
	want := []string{
		`SELECT 'a;b' AS "x;y"`,
		"SELECT 1 -- trailing; comment",
		"SELECT `c;d` FROM t /* ; */",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Statements = %q\nwant %q", got, want)
	}
}

// column is one column of a parsed CREATE EXTERNAL TABLE.
type column struct{ name, typ string }

// table is what the tests read out of one CREATE EXTERNAL TABLE statement.
type table struct {
	name      string
	columns   []column
	partition string
	location  string
	props     map[string]string
}

var (
	ddlRE  = regexp.MustCompile(`(?s)^CREATE EXTERNAL TABLE IF NOT EXISTS (\w+) \((.*)\)\s*PARTITIONED BY \((.*?)\)\s*STORED AS PARQUET\s*LOCATION '([^']*)'\s*TBLPROPERTIES \((.*)\)$`)
	propRE = regexp.MustCompile(`'([^']*)'\s*=\s*'([^']*)'`)
)

// parseTables reads the rendered tables.sql statements back into tables.
func parseTables(t *testing.T, stmts []string) []table {
	t.Helper()
	var tables []table
	for _, s := range stmts {
		m := ddlRE.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("not a CREATE EXTERNAL TABLE … STORED AS PARQUET LOCATION … TBLPROPERTIES statement:\n%s", s)
		}
		tb := table{name: m[1], partition: strings.Join(strings.Fields(m[3]), " "), location: m[4], props: map[string]string{}}
		for _, def := range strings.Split(m[2], ",") {
			f := strings.Fields(def)
			if len(f) != 2 {
				t.Fatalf("table %s: column definition %q", tb.name, def)
			}
			tb.columns = append(tb.columns, column{strings.Trim(f[0], "`"), f[1]})
		}
		for _, p := range propRE.FindAllStringSubmatch(m[5], -1) {
			tb.props[p[1]] = p[2]
		}
		tables = append(tables, tb)
	}
	return tables
}

// athenaType is the Athena column type the Parquet writer's Go type maps to.
func athenaType(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return "timestamp"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Int32:
		return "int"
	case t.Kind() == reflect.Int64:
		return "bigint"
	case t.Kind() == reflect.Bool:
		return "boolean"
	}
	return "unmapped Go type " + t.String()
}

// rowColumns lists a row struct's parquet columns with their Athena types.
func rowColumns(row any) []column {
	var cols []column
	for f := range reflect.TypeOf(row).Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		if name != "" && name != "-" {
			cols = append(cols, column{name, athenaType(f.Type)})
		}
	}
	return cols
}

// TestTablesMatchRows protects Athena's view of the data: each table has
// exactly the columns output/rows.go writes, with the matching types, the
// dt partition, the dataset's location, and date partition projection
// over the same layout the Writer uses.
func TestTablesMatchRows(t *testing.T) {
	t.Parallel()
	stmts, err := athena.Tables("audit-bucket", "/ecs/audit/")
	if err != nil {
		t.Fatal(err)
	}
	tables := parseTables(t, stmts)
	rows := map[string]any{
		output.FindingsDataset: output.Finding{},
		output.CoverageDataset: output.Coverage{},
		output.RunsDataset:     output.Run{},
		output.UsageDataset:    output.Usage{},
	}
	if len(tables) != len(rows) {
		t.Fatalf("%d tables, want %d", len(tables), len(rows))
	}
	for _, tb := range tables {
		row, ok := rows[tb.name]
		if !ok {
			t.Errorf("table %s is no dataset", tb.name)
			continue
		}
		if want := rowColumns(row); !slices.Equal(tb.columns, want) {
			t.Errorf("table %s columns\n got %v\nwant %v", tb.name, tb.columns, want)
		}
		if tb.partition != "dt string" {
			t.Errorf("table %s partitioned by %q, want dt string", tb.name, tb.partition)
		}
		base := "s3://audit-bucket/ecs/audit/" + tb.name + "/"
		if tb.location != base {
			t.Errorf("table %s location %q, want %q", tb.name, tb.location, base)
		}
		// The template must produce the keys output.Key writes.
		day := time.Date(2026, 11, 28, 23, 30, 0, 0, time.UTC)
		key := output.Key(tb.name, day, "r")
		wantProps := map[string]string{
			"projection.enabled":          "true",
			"projection.dt.type":          "date",
			"projection.dt.format":        "yyyy-MM-dd",
			"projection.dt.range":         "2024-01-01,NOW",
			"projection.dt.interval":      "1",
			"projection.dt.interval.unit": "DAYS",
			"storage.location.template":   base + "dt=${dt}/",
		}
		for k, v := range wantProps {
			if tb.props[k] != v {
				t.Errorf("table %s property %s = %q, want %q", tb.name, k, tb.props[k], v)
			}
		}
		if dir := strings.Replace(wantProps["storage.location.template"], "${dt}", day.Format("2006-01-02"), 1); "s3://audit-bucket/ecs/audit/"+key != dir+"r.parquet" {
			t.Errorf("table %s: template %s does not hold the Writer's key %s", tb.name, dir, key)
		}
	}

	noPrefix, err := athena.Tables("audit-bucket", "")
	if err != nil || !strings.Contains(noPrefix[0], "LOCATION 's3://audit-bucket/findings/'") {
		t.Errorf("tables without a prefix: %v\n%s", err, noPrefix[0])
	}
	if _, err := athena.Tables("b", "x'; DROP TABLE runs; --"); err == nil {
		t.Error("a prefix with a quote was accepted")
	}
}
