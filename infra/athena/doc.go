// Package athena holds the Athena SQL over ecsaudit's Parquet datasets —
// the tables (tables.sql), the views people and QuickSight read
// (views.sql) and the saved queries (queries/*.sql) — and renders it for a
// deployment's bucket and prefix.
//
// The SQL is the product; this package only embeds it, so that the CLI and
// the tests read the very files that ship. Its tests run the views and
// queries in DuckDB over Parquet written by output.Writer (see README.md for
// what is translated between the two engines).
package athena
