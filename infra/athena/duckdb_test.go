package athena_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecsaudit/ecsaudit/infra/athena"
	"github.com/ecsaudit/ecsaudit/internal/clitest"
	"github.com/ecsaudit/ecsaudit/internal/duckdbtest"
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
	db := duckdbtest.Open(t) // no extensions from the network; UTC like Athena
	setup := []string{
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

// query runs q in db; see duckdbtest.Rows.
func query(t *testing.T, db *sql.DB, q string) [][]string {
	t.Helper()
	return duckdbtest.Rows(t, db, q)
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

func TestMain(m *testing.M) { os.Exit(clitest.Main(m)) }
