package athena_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecsaudit/ecsaudit/infra/athena"
	"github.com/ecsaudit/ecsaudit/internal/clitest"
	"github.com/ecsaudit/ecsaudit/internal/s3test"
)

// scan runs `ecsaudit scan --simulate` writing to s3://bucket/prefix at
// endpoint, with a clean environment: the S3 credentials and endpoint are
// the SDK's standard variables; the simulated organization brings its own.
func scan(t *testing.T, bin, endpoint string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"scan", "--simulate", "--output", "s3://" + e2eBucket + "/" + e2ePrefix,
		"--s3-path-style", "--log-format", "text"}, args...)...)
	cmd.Env = clitest.Env(t.TempDir(), "AWS_REGION="+s3test.Region,
		"AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey,
		"AWS_ENDPOINT_URL_S3="+endpoint)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	return clitest.ExitCode(t, cmd.Run()), out.String()
}

const (
	e2eBucket = "ecsaudit-e2e"
	e2ePrefix = "nightly/org"
	kmsKey    = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// TestScanToS3ThenViews runs the shipped binary as the nightly job would:
// a first run of the simulated organization ends partial (some accounts
// deny it), a rerun without those accounts completes. Both land in a real
// S3 server with the requested encryption and owner headers; the objects,
// read back by DuckDB through tables.sql and views.sql, agree with each
// run's runs row, and the views show the complete rerun only.
func TestScanToS3ThenViews(t *testing.T) {
	t.Parallel()
	bin := clitest.Binary(t)
	srv := s3test.Start(t)
	srv.CreateBucket(t, e2eBucket)
	proxy := s3test.NewProxy(t, srv.URL, nil)

	before := time.Now().UTC()
	code, out := scan(t, bin, proxy.URL, "--expected-bucket-owner", s3test.AccessKey, "--sse-kms-key-id", kmsKey)
	if code != 3 || !strings.Contains(out, ": partial") {
		t.Fatalf("first scan: exit %d, want 3 (partial)\n%s", code, out)
	}
	first := len(proxy.Requests())
	code, out = scan(t, bin, proxy.URL, "--exclude-accounts", "222222222222,333333333333")
	if code != 0 || !strings.Contains(out, ": complete") {
		t.Fatalf("rerun: exit %d, want 0 (complete)\n%s", code, out)
	}

	// The wire: the first run asked for an owner check and SSE-KMS, the
	// rerun for neither. The job uploads (and may read earlier runs), but
	// never creates, deletes or configures anything.
	uploads := 0
	for i, r := range proxy.Requests() {
		asked := i < first
		switch r.Op {
		case "PutObject", "CreateMultipartUpload":
			uploads++
			sse, key := r.Header.Get("X-Amz-Server-Side-Encryption"), r.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")
			if asked && (sse != "aws:kms" || key != kmsKey) || !asked && (sse != "" || key != "") {
				t.Errorf("%s %s: SSE headers %q, %q (asked for SSE-KMS: %v)", r.Op, r.Path, sse, key, asked)
			}
		case "UploadPart", "CompleteMultipartUpload", "ListObjectsV2", "GetObject", "HeadObject":
		default:
			t.Errorf("the job sent %s %s (%q): it should only upload and read", r.Method, r.Path, r.Op)
		}
		if owner := r.Header.Get("X-Amz-Expected-Bucket-Owner"); asked && owner != s3test.AccessKey || !asked && owner != "" {
			t.Errorf("%s %s: expected bucket owner %q (asked for it: %v)", r.Op, r.Path, owner, asked)
		}
	}
	if uploads != 8 {
		t.Errorf("%d objects uploaded, want 4 per run", uploads)
	}

	dir := t.TempDir()
	keys := s3test.Download(t, srv.Client(), e2eBucket, "", dir)
	if len(keys) != 8 {
		t.Fatalf("bucket holds %q, want 4 objects per run", keys)
	}
	for _, k := range keys {
		ds, _, _ := strings.Cut(strings.TrimPrefix(k, e2ePrefix+"/"), "/dt=")
		if !strings.HasPrefix(k, e2ePrefix+"/") || !slices.Contains([]string{"findings", "coverage", "usage", "runs"}, ds) {
			t.Errorf("unexpected key %s", k)
		}
	}
	if p := s3test.PendingUploads(t, srv.Client(), e2eBucket); len(p) != 0 {
		t.Errorf("pending multipart uploads: %q", p)
	}
	db := openDuckDB(t, filepath.Join(dir, filepath.FromSlash(e2ePrefix)))

	// Each run's Parquet files agree with its own runs row, and dt is the
	// run's start date in UTC. The job counts as task definitions those it
	// could read (an ERROR row is one it could not), and as targets the
	// (account, region) pairs (an account that failed or was skipped before
	// its regions were known has a coverage row with no region; a denied
	// one still counts as not scanned).
	checkRows(t, "runs rows vs their findings and coverage", query(t, db, `
		WITH f AS (
		  SELECT run_id, dt, count(*) AS findings,
		         count(DISTINCT task_definition_arn) FILTER (WHERE result <> 'ERROR') AS tds,
		         count_if(result = 'FAIL') AS fail, count_if(result = 'PASS') AS pass,
		         count_if(result = 'NOT_APPLICABLE') AS na, count_if(result = 'ERROR') AS errors
		  FROM findings GROUP BY run_id, dt
		), c AS (
		  SELECT run_id, dt, count_if(region <> '') AS targets, count_if(status = 'scanned') AS scanned,
		         count_if(region <> '' AND status IN ('denied', 'failed')) AS not_scanned,
		         count_if(region = '' AND status IN ('denied', 'failed')) AS accounts_not_scanned
		  FROM coverage GROUP BY run_id, dt
		)
		SELECT r.status,
		       r.dt = strftime(r.started_at, '%Y-%m-%d'),
		       r.findings = f.findings AND r.task_definitions = f.tds,
		       r.fail = f.fail AND r.pass = f.pass AND r.not_applicable = f.na AND r.errors = f.errors,
		       r.targets = c.targets AND r.targets_scanned = c.scanned AND r.targets_not_scanned = c.not_scanned AND r.accounts_not_scanned = c.accounts_not_scanned
		FROM runs r
		JOIN f ON f.run_id = r.run_id AND f.dt = r.dt
		JOIN c ON c.run_id = r.run_id AND c.dt = r.dt
		ORDER BY r.started_at`),
		[][]string{{"partial", "true", "true", "true", "true"}, {"complete", "true", "true", "true", "true"}})
	if d := one(t, db, `SELECT min(dt) FROM runs`); d < before.Format("2006-01-02") {
		t.Errorf("dt %s is before the run started (%s)", d, before)
	}

	// Both runs are complete; the run views agree with the rerun's runs row.
	complete := one(t, db, `SELECT run_id FROM runs WHERE status = 'complete'`)
	checkRows(t, "visible runs", query(t, db, `SELECT status FROM runs r JOIN ecsaudit_complete_runs c ON c.run_id = r.run_id ORDER BY c.started_at`),
		[][]string{{"partial"}, {"complete"}})
	checkRows(t, "run views vs the complete run's runs row", query(t, db, `
		SELECT
		  (SELECT count(*) FROM ecsaudit_run_findings WHERE run_id = r.run_id) = r.findings,
		  (SELECT count_if(verdict <> 'ERROR') FROM ecsaudit_run_verdicts WHERE run_id = r.run_id AND rule_id = 'ECSAUDIT.HOSTNET.1') = r.task_definitions,
		  (SELECT count_if(region <> '') FROM ecsaudit_run_coverage WHERE run_id = r.run_id) = r.targets,
		  (SELECT count_if(scanned) FROM ecsaudit_run_coverage WHERE run_id = r.run_id) = r.targets_scanned,
		  (SELECT sum(failing_container_count) FROM ecsaudit_run_verdicts WHERE run_id = r.run_id) = r.fail
		FROM runs r WHERE r.run_id = '`+complete+`'`),
		[][]string{{"true", "true", "true", "true", "true"}})
	// The posture: the rerun's targets, and the first run's for the
	// accounts the rerun excluded.
	checkRows(t, "posture", query(t, db, `
		SELECT p.account_id IN ('222222222222', '333333333333'), p.scan_run_id = '`+complete+`', count(*)
		FROM ecsaudit_posture_targets p WHERE p.state <> 'NOT_SCANNED' AND p.rule_id = 'ECSAUDIT.HOSTNET.1' GROUP BY 1, 2 ORDER BY 1`),
		[][]string{{"false", "true", "9"}, {"true", "false", "2"}})
	// Each target has its state under each rule, from the same scan.
	checkRows(t, "posture per rule", query(t, db, `
		SELECT rule_id, count(*), count(DISTINCT scan_run_id) FROM ecsaudit_posture_targets WHERE state <> 'NOT_SCANNED' GROUP BY 1 ORDER BY 1`),
		[][]string{{"ECSAUDIT.HOSTNET.1", "11", "2"}, {"ECSAUDIT.HOSTNET.2", "11", "2"}})

	// What runs: the usage view agrees with the runs row, and the posture
	// marks the demo's failing revisions as running or as candidates for
	// deregistration, as default.json has them (by hand: running are
	// payments-api:3, payments-worker:2, ledger:4, web:3, metrics:1 and
	// experiment:2; unused are ledger:1-3, web:1 in eu-west-1,
	// experiment:1, metrics-agent:1 and jupyter:2).
	checkRows(t, "usage views", query(t, db, `
		SELECT
		  (SELECT sum(running_tasks) FROM ecsaudit_run_usage WHERE run_id = r.run_id) = r.running_tasks,
		  (SELECT count(*) FROM ecsaudit_posture_task_definitions WHERE state = 'FAIL' AND in_use AND rule_id = 'ECSAUDIT.HOSTNET.1'),
		  (SELECT count(*) FROM ecsaudit_posture_task_definitions WHERE deregistration_candidate AND rule_id = 'ECSAUDIT.HOSTNET.1'),
		  (SELECT count(*) FROM ecsaudit_posture_task_definitions WHERE deregistration_candidate AND (verdict <> 'FAIL' OR in_use)),
		  (SELECT count(*) FROM ecsaudit_posture_usage WHERE state = 'FAIL' AND rule_id = 'ECSAUDIT.HOSTNET.1'),
		  -- The host-access rule's failures (node-exporter:3, ci-runner:1,
		  -- net-tools:1) run nowhere.
		  (SELECT count(*) FROM ecsaudit_posture_task_definitions WHERE deregistration_candidate AND rule_id = 'ECSAUDIT.HOSTNET.2')
		FROM runs r WHERE r.run_id = '`+complete+`'`),
		[][]string{{"true", "6", "7", "0", "6", "3"}})

	// The saved queries run on real output; "failing today" lists every
	// failing task definition of the posture.
	for name, q := range athena.Queries() {
		rows := query(t, db, q)
		if name == "failing_today" {
			if want := one(t, db, `SELECT count_if(state = 'FAIL') FROM ecsaudit_posture_task_definitions`); fmt.Sprint(len(rows)) != want || want == "0" {
				t.Errorf("failing_today lists %d task definitions, want %s", len(rows), want)
			}
		}
	}
}

// TestShardedRunVisibleOnlyWhenEveryShardCommitted runs four shards of one
// run of the shipped binary into S3, one after another: after each of the
// first three, the views show nothing of the run; after the fourth, the
// whole run, its counts the sum of the shards'.
func TestShardedRunVisibleOnlyWhenEveryShardCommitted(t *testing.T) {
	t.Parallel()
	bin := clitest.Binary(t)
	srv := s3test.Start(t)
	srv.CreateBucket(t, e2eBucket)
	const runID = "night-of-2026-11-28"
	for i := range 4 {
		code, out := scan(t, bin, srv.URL, "--shard", fmt.Sprintf("%d/4", i), "--run-id", runID)
		if code != 0 && code != 3 {
			t.Fatalf("shard %d: exit %d\n%s", i, code, out)
		}
		dir := t.TempDir()
		s3test.Download(t, srv.Client(), e2eBucket, "", dir)
		db := openDuckDB(t, filepath.Join(dir, filepath.FromSlash(e2ePrefix)))
		visible := one(t, db, `SELECT count(*) FROM ecsaudit_complete_runs WHERE run_id = '`+runID+`'`)
		findings := one(t, db, `SELECT count(*) FROM ecsaudit_run_findings`)
		if i < 3 && (visible != "0" || findings != "0") {
			t.Fatalf("after %d of 4 shards the views show the run (%s runs, %s findings)", i+1, visible, findings)
		}
		if i == 3 {
			checkRows(t, "the whole run", query(t, db, `
				SELECT count(*) = 4, sum(findings) = (SELECT count(*) FROM ecsaudit_run_findings),
				       sum(findings) = (SELECT count(*) FROM findings), count(DISTINCT shard_index) = 4
				FROM runs WHERE run_id = '`+runID+`'`),
				[][]string{{"true", "true", "true", "true"}})
			if visible != "1" || findings == "0" {
				t.Fatalf("after 4 of 4 shards: %s runs, %s findings visible", visible, findings)
			}
		}
	}

	// Batch retries shard 1: its new attempt writes files of its own (the
	// first attempt's are never overwritten), and the views count only the
	// newest attempt of each shard, so the run shows once, unchanged.
	if code, out := scan(t, bin, srv.URL, "--shard", "1/4", "--run-id", runID); code != 0 && code != 3 {
		t.Fatalf("retried shard: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	keys := s3test.Download(t, srv.Client(), e2eBucket, "", dir)
	if len(keys) != 5*4 {
		t.Fatalf("%d objects after the retry, want 20 (5 attempts × 4 datasets)", len(keys))
	}
	db := openDuckDB(t, filepath.Join(dir, filepath.FromSlash(e2ePrefix)))
	checkRows(t, "after the retry", query(t, db, `
		SELECT (SELECT count(*) FROM runs WHERE run_id = '`+runID+`'),
		       (SELECT count(*) FROM ecsaudit_complete_runs WHERE run_id = '`+runID+`'),
		       (SELECT count(*) FROM ecsaudit_run_findings) = (SELECT findings FROM ecsaudit_complete_runs),
		       (SELECT count(*) FROM findings) > (SELECT count(*) FROM ecsaudit_run_findings)`),
		[][]string{{"5", "1", "true", "true"}})
}

// TestMissingBucketFailsBeforeScanning: an S3 output that cannot be used
// (here, no such bucket) stops the run before any AWS call of the scan,
// with exit 1, instead of hours later at commit.
func TestMissingBucketFailsBeforeScanning(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	cmd := exec.Command(clitest.Binary(t), "scan", "--simulate", "--output", "s3://no-such-bucket/x", "--s3-path-style", "--log-format", "json")
	cmd.Env = clitest.Env(t.TempDir(), "AWS_REGION="+s3test.Region,
		"AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey,
		"AWS_ENDPOINT_URL_S3="+srv.URL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	code := clitest.ExitCode(t, cmd.Run())
	if code != 1 || !strings.Contains(out.String(), "NoSuchBucket") {
		t.Fatalf("exit %d, want 1 naming NoSuchBucket\n%s", code, out.String())
	}
	if strings.Contains(out.String(), "organization listed") {
		t.Errorf("the organization was listed before the output was checked:\n%s", out.String())
	}
}
