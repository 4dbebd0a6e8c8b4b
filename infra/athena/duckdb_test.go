package athena_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2" // test only: the shipped binary stays cgo-free

	"github.com/ecsaudit/ecsaudit/infra/athena"
)

// duckType translates an Athena column type of tables.sql to DuckDB's.
var duckType = map[string]string{
	"string":    "VARCHAR",
	"int":       "INTEGER",
	"bigint":    "BIGINT",
	"boolean":   "BOOLEAN",
	"timestamp": "TIMESTAMP",
}

// openDuckDB returns an in-memory DuckDB standing in for Athena over the
// datasets below dir (laid out as output.Writer lays them out): each table
// of tables.sql becomes a view over read_parquet with exactly the table's
// columns and types plus the dt partition as a string, and then every
// statement of views.sql runs unchanged.
func openDuckDB(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1) // settings are per connection
	setup := []string{
		// No network here: use only what is built in (parquet is).
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		// Athena shows timestamps in UTC.
		"SET TimeZone = 'UTC'",
		// Trino's array_join is DuckDB's array_to_string.
		"CREATE MACRO array_join(a, sep) AS array_to_string(a, sep)",
	}
	stmts, err := athena.Tables("unused", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range parseTables(t, stmts) {
		var cols []string
		for _, c := range tb.columns {
			dt, ok := duckType[c.typ]
			if !ok {
				t.Fatalf("table %s column %s: no DuckDB type for %q", tb.name, c.name, c.typ)
			}
			cols = append(cols, fmt.Sprintf("CAST(%q AS %s) AS %q", c.name, dt, c.name))
		}
		glob := filepath.ToSlash(filepath.Join(dir, tb.name, "dt=*", "*.parquet"))
		setup = append(setup, fmt.Sprintf(
			"CREATE VIEW %s AS SELECT %s, dt FROM read_parquet('%s', hive_partitioning = true, hive_types = {'dt': VARCHAR})",
			tb.name, strings.Join(cols, ", "), glob))
	}
	setup = append(setup, athena.Views()...)
	for _, s := range setup {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("duckdb: %v\n%s", err, s)
		}
	}
	return db
}

// query runs q and returns its rows with every value printed by fmt
// ("<nil>" for NULL, floats rounded to 4 places), for compact comparisons.
func query(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, q)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			switch v := v.(type) {
			case float64:
				row[i] = fmt.Sprintf("%.4g", v)
			default:
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// one returns the single value of a one-row, one-column query.
func one(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows := query(t, db, q)
	if len(rows) != 1 || len(rows[0]) != 1 {
		t.Fatalf("%s: got %v, want one value", q, rows)
	}
	return rows[0][0]
}
