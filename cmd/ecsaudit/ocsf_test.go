package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ecsaudit/ecsaudit/internal/duckdbtest"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// TestOCSFDataset: --ocsf writes one OCSF event per FAIL, PASS and ERROR
// row, under Security Lake's region=/accountId=/eventDay= partitions, each
// event in the partition of its own account and region.
func TestOCSFDataset(t *testing.T) {
	t.Parallel()
	srv, err := simorg.Start(simorg.Default(), simorg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	lake := filepath.Join(t.TempDir(), "ext", "ecsaudit")
	res := runScan(t, srv, nil, "--ocsf", lake)
	if res.code != exitPartial {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	db := duckdbtest.Open(t)
	want := duckdbtest.Rows(t, db, fmt.Sprintf(
		"SELECT count(*) FROM read_parquet('%s/findings/dt=*/*.parquet') WHERE result <> 'NOT_APPLICABLE'", res.out))
	got := duckdbtest.Rows(t, db, fmt.Sprintf(`SELECT count(*),
		count(*) FILTER (WHERE class_uid = 2003 AND cloud.account.uid = accountId AND cloud.region = region AND eventDay = strftime(to_timestamp(time / 1000), '%%Y%%m%%d'))
		FROM read_parquet('%s/region=*/accountId=*/eventDay=*/*.parquet', hive_partitioning = true)`, lake))
	if got[0][0] != want[0][0] || got[0][1] != want[0][0] || want[0][0] == "0" {
		t.Fatalf("%s events (%s in their own partition), want %s", got[0][0], got[0][1], want[0][0])
	}
}
