// Package output writes ecsaudit's Parquet datasets — findings, coverage,
// usage and runs (and exports, for runs that export) — to a Sink (a local directory or an S3 prefix) in the
// Hive-style layout Athena reads:
//
//	<dataset>/dt=YYYY-MM-DD/<run_id>.parquet
//
// A run commits its findings, coverage and usage objects first and its single runs
// row last, so a reader that trusts only runs rows never sees a half-written
// run.
package output
