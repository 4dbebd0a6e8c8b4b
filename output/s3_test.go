package output_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/ecsaudit/ecsaudit/internal/s3test"
	"github.com/ecsaudit/ecsaudit/output"
)

const bucket = "ecsaudit-test"

// multipartSize spans three parts of the smallest size S3 accepts.
const multipartSize = 2*output.MinS3PartSize + 123_457

func TestParseS3URL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in             string
		bucket, prefix string
		wantErr        string
	}{
		{in: "s3://my-bucket", bucket: "my-bucket"},
		{in: "s3://my-bucket/", bucket: "my-bucket"},
		{in: "s3://my.bucket.1/audit/ecs/", bucket: "my.bucket.1", prefix: "audit/ecs"},
		{in: "s3://abc//lead", bucket: "abc", prefix: "lead"},
		{in: "my-bucket/prefix", wantErr: "must start with s3://"},
		{in: "https://my-bucket/prefix", wantErr: "must start with s3://"},
		{in: "s3://", wantErr: "3 to 63 characters"},
		{in: "s3://ab/x", wantErr: "3 to 63 characters"},
		{in: "s3://" + strings.Repeat("a", 64), wantErr: "3 to 63 characters"},
		{in: "s3://My-Bucket", wantErr: "lowercase letters"},
		{in: "s3://my_bucket", wantErr: "lowercase letters"},
		{in: "s3://-bucket", wantErr: "begin and end"},
		{in: "s3://bucket.", wantErr: "begin and end"},
		{in: "s3://my..bucket", wantErr: "adjacent periods"},
		{in: "s3://192.168.1.10", wantErr: "IP address"},
		{in: "s3://xn--bucket", wantErr: "reserved prefix xn--"},
		{in: "s3://bucket-s3alias", wantErr: "reserved suffix -s3alias"},
		{in: "s3://bucket--x-s3", wantErr: "reserved suffix --x-s3"},
		{in: "s3://bucket/a//b", wantErr: "empty, '.' or '..' segments"},
		{in: "s3://bucket/a/../b", wantErr: "empty, '.' or '..' segments"},
		{in: "s3://bucket/a?versionId=1", wantErr: "'?' or '#'"},
	} {
		b, p, err := output.ParseS3URL(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseS3URL(%q) error = %v, want one saying %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || b != tc.bucket || p != tc.prefix {
			t.Errorf("ParseS3URL(%q) = %q, %q, %v; want %q, %q", tc.in, b, p, err, tc.bucket, tc.prefix)
		}
	}
}

// payload returns n incompressible, reproducible bytes.
func payload(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed)})
	_, _ = r.Read(b)
	return b
}

// put writes data to key through sink in uneven chunks, as a Parquet
// writer does, and finishes the object with cause.
func put(t *testing.T, sink output.Sink, key string, data []byte, cause error) error {
	t.Helper()
	obj, err := sink.Create(t.Context(), key)
	if err != nil {
		t.Fatalf("create %s: %v", key, err)
	}
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 300_001)
		if _, err := obj.Write(rest[:n]); err != nil {
			// As the Writer does: a failed write discards the object.
			if ferr := obj.Finish(err); ferr != nil {
				return errors.Join(err, ferr)
			}
			return err
		}
		rest = rest[n:]
	}
	return obj.Finish(cause)
}

func get(t *testing.T, c *s3.Client, key string) []byte {
	t.Helper()
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func ops(reqs []s3test.Request) map[string]int {
	m := map[string]int{}
	for _, r := range reqs {
		m[r.Op]++
	}
	return m
}

// TestS3CommitsSmallAndMultipart protects the happy path on a real S3
// server: a small object goes up as one checksummed PUT, a large one as a
// checksummed multipart upload of several bounded parts; both read back
// byte for byte under prefix/key, and nothing else is left in the bucket.
func TestS3CommitsSmallAndMultipart(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	proxy := s3test.NewProxy(t, srv.URL, nil)
	sink := output.NewS3(s3test.NewClient(proxy.URL), bucket, "/audit/ecs/", output.S3Options{
		PartSize: output.MinS3PartSize, Concurrency: 2,
	})

	small, large := payload(1000, 1), payload(multipartSize, 2)
	if err := put(t, sink, "findings/dt=2026-11-28/small.parquet", small, nil); err != nil {
		t.Fatalf("finish small: %v", err)
	}
	if err := put(t, sink, "/coverage/dt=2026-11-28/large.parquet", large, nil); err != nil {
		t.Fatalf("finish large: %v", err)
	}

	c := srv.Client()
	wantKeys := []string{"audit/ecs/coverage/dt=2026-11-28/large.parquet", "audit/ecs/findings/dt=2026-11-28/small.parquet"}
	if got := s3test.Keys(t, c, bucket, ""); !slices.Equal(got, wantKeys) {
		t.Fatalf("bucket holds %q, want exactly %q", got, wantKeys)
	}
	if !bytes.Equal(get(t, c, wantKeys[1]), small) || !bytes.Equal(get(t, c, wantKeys[0]), large) {
		t.Fatal("an object read back differs from what was written")
	}
	if p := s3test.PendingUploads(t, c, bucket); len(p) != 0 {
		t.Fatalf("pending multipart uploads after commit: %q", p)
	}

	got := ops(proxy.Requests())
	want := map[string]int{"PutObject": 1, "CreateMultipartUpload": 1, "UploadPart": 3, "CompleteMultipartUpload": 1}
	for op, n := range want {
		if got[op] != n {
			t.Errorf("%s sent %d times, want %d (all: %v)", op, got[op], n, got)
		}
	}
	for _, r := range proxy.Requests() {
		switch r.Op {
		case "PutObject", "UploadPart":
			if r.Header.Get("X-Amz-Checksum-Crc32") == "" && !strings.Contains(r.Header.Get("X-Amz-Trailer"), "x-amz-checksum-crc32") {
				t.Errorf("%s carries no CRC32 checksum: %v", r.Op, r.Header)
			}
		case "CreateMultipartUpload":
			if a := r.Header.Get("X-Amz-Checksum-Algorithm"); a != "CRC32" {
				t.Errorf("CreateMultipartUpload checksum algorithm = %q, want CRC32", a)
			}
		}
		if r.Header.Get("X-Amz-Server-Side-Encryption") != "" || r.Header.Get("X-Amz-Expected-Bucket-Owner") != "" {
			t.Errorf("%s sent an SSE or owner header without being asked: %v", r.Op, r.Header)
		}
	}

	// The server validated and kept the checksums it was sent.
	for _, key := range wantKeys {
		h, err := c.HeadObject(t.Context(), &s3.HeadObjectInput{
			Bucket: aws.String(bucket), Key: aws.String(key), ChecksumMode: s3types.ChecksumModeEnabled,
		})
		if err != nil {
			t.Fatalf("head %s: %v", key, err)
		}
		if aws.ToString(h.ChecksumCRC32) == "" {
			t.Errorf("%s has no stored CRC32 checksum", key)
		}
	}
}

// waitFor polls cond until it holds or fails t after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestS3DiscardLeavesNothing protects Finish(err): a small object is never
// sent, and a multipart upload that already has parts on the server is
// aborted, so neither an object nor a pending upload remains.
func TestS3DiscardLeavesNothing(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	proxy := s3test.NewProxy(t, srv.URL, nil)
	sink := output.NewS3(s3test.NewClient(proxy.URL), bucket, "p", output.S3Options{PartSize: output.MinS3PartSize})
	cause := errors.New("run interrupted")

	if err := put(t, sink, "small", payload(1000, 3), cause); err != nil {
		t.Fatalf("discard small: %v", err)
	}

	obj, err := sink.Create(t.Context(), "large")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Write(payload(multipartSize, 4)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a part on the server", func() bool { return ops(proxy.Requests())["UploadPart"] > 0 })
	if err := obj.Finish(cause); err != nil {
		t.Fatalf("discard large: %v", err)
	}
	if err := obj.Finish(nil); err == nil {
		t.Fatal("a second Finish succeeded")
	}

	c := srv.Client()
	if keys := s3test.Keys(t, c, bucket, ""); len(keys) != 0 {
		t.Fatalf("discarded objects are visible: %q", keys)
	}
	if p := s3test.PendingUploads(t, c, bucket); len(p) != 0 {
		t.Fatalf("discard left pending multipart uploads: %q", p)
	}
	got := ops(proxy.Requests())
	if got["PutObject"] != 0 || got["CompleteMultipartUpload"] != 0 || got["AbortMultipartUpload"] != 1 {
		t.Fatalf("requests %v: want no PutObject or CompleteMultipartUpload and one AbortMultipartUpload", got)
	}
}

// TestS3EncryptionAndOwnerHeaders protects the headers that make the
// upload land only in the intended account's bucket, encrypted with the
// intended key. versitygw ignores SSE headers, so the recording proxy is
// what proves they are sent; it does enforce the bucket owner.
func TestS3EncryptionAndOwnerHeaders(t *testing.T) {
	t.Parallel()
	const keyARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	proxy := s3test.NewProxy(t, srv.URL, nil)
	sink := output.NewS3(s3test.NewClient(proxy.URL), bucket, "", output.S3Options{
		SSEKMSKeyID: keyARN, ExpectedBucketOwner: s3test.AccessKey, PartSize: output.MinS3PartSize,
	})
	if err := put(t, sink, "small", payload(10, 5), nil); err != nil {
		t.Fatal(err)
	}
	if err := put(t, sink, "large", payload(multipartSize, 6), nil); err != nil {
		t.Fatal(err)
	}
	reqs := proxy.Requests()
	if got := ops(reqs); got["PutObject"] != 1 || got["CreateMultipartUpload"] != 1 || got["UploadPart"] != 3 {
		t.Fatalf("requests %v: want one PUT and a three-part upload", got)
	}
	for _, r := range reqs {
		if got := r.Header.Get("X-Amz-Expected-Bucket-Owner"); got != s3test.AccessKey {
			t.Errorf("%s expected bucket owner = %q, want %q", r.Op, got, s3test.AccessKey)
		}
		sse, kmsKey := r.Header.Get("X-Amz-Server-Side-Encryption"), r.Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")
		switch r.Op {
		case "PutObject", "CreateMultipartUpload": // where S3 takes the SSE choice
			if sse != "aws:kms" || kmsKey != keyARN {
				t.Errorf("%s SSE headers = %q, %q; want aws:kms, %q", r.Op, sse, kmsKey, keyARN)
			}
		default: // S3 rejects SSE-KMS headers on UploadPart and Complete
			if sse != "" || kmsKey != "" {
				t.Errorf("%s sent SSE headers %q, %q", r.Op, sse, kmsKey)
			}
		}
	}

	// A bucket owned by someone else is refused before any data is kept.
	other := output.NewS3(srv.Client(), bucket, "other", output.S3Options{
		ExpectedBucketOwner: "999999999999", PartSize: output.MinS3PartSize,
	})
	for _, n := range []int{10, multipartSize} {
		err := put(t, other, "obj", payload(n, 7), nil)
		var apiErr interface{ ErrorCode() string }
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
			t.Errorf("upload of %d bytes to a bucket of another owner: err = %v, want AccessDenied", n, err)
		}
	}
	if keys := s3test.Keys(t, srv.Client(), bucket, "other/"); len(keys) != 0 {
		t.Fatalf("objects visible in another owner's bucket: %q", keys)
	}
}

// TestS3FailedPartAborts protects a run against S3 failing mid-upload: the
// SDK's retries give up, Finish reports the failure, and the multipart
// upload is aborted, so nothing is visible or pending once S3 is healthy.
func TestS3FailedPartAborts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		fail func(http.ResponseWriter, *http.Request)
		want string
	}{
		{"SlowDown", s3test.SlowDown, "SlowDown"},
		{"ConnectionReset", s3test.Reset, "UploadPart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := s3test.Start(t)
			srv.CreateBucket(t, bucket)
			proxy := s3test.NewProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
				if s3test.Operation(r) == "UploadPart" && r.URL.Query().Get("partNumber") == "2" {
					tc.fail(w, r)
					return true
				}
				return false
			})
			sink := output.NewS3(s3test.NewClient(proxy.URL), bucket, "", output.S3Options{PartSize: output.MinS3PartSize})
			err := put(t, sink, "large", payload(multipartSize, 8), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Finish = %v, want an error mentioning %q", err, tc.want)
			}
			tries := 0
			for _, r := range proxy.Requests() {
				if r.Op == "UploadPart" && r.Query.Get("partNumber") == "2" {
					tries++
				}
			}
			if tries != 3 { // the SDK's standard retryer: three attempts
				t.Errorf("part 2 tried %d times, want 3", tries)
			}
			got := ops(proxy.Requests())
			if got["CompleteMultipartUpload"] != 0 || got["AbortMultipartUpload"] != 1 {
				t.Errorf("requests %v: want no CompleteMultipartUpload and one AbortMultipartUpload", got)
			}
			c := srv.Client()
			if keys := s3test.Keys(t, c, bucket, ""); len(keys) != 0 {
				t.Fatalf("failed upload is visible: %q", keys)
			}
			if p := s3test.PendingUploads(t, c, bucket); len(p) != 0 {
				t.Fatalf("failed upload left pending multipart uploads: %q", p)
			}
		})
	}
}

// TestS3ServerLostMidUpload protects against S3 vanishing while parts are
// on it: Finish fails, and once S3 is back the object is not there. The
// abort could not reach S3 either, so the pending upload stays (invisible
// to readers) for the bucket's lifecycle rule to expire.
func TestS3ServerLostMidUpload(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	direct := srv.Client()
	sink := output.NewS3(srv.Client(func(o *s3.Options) { o.RetryMaxAttempts = 2 }), bucket, "", output.S3Options{
		PartSize: output.MinS3PartSize, Concurrency: 1,
	})
	obj, err := sink.Create(t.Context(), "large")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := obj.Write(payload(multipartSize, 9)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a part on the server", func() bool {
		up := s3test.PendingUploads(t, direct, bucket)
		if len(up) == 0 {
			return false
		}
		_, id, _ := strings.Cut(up[0], " ")
		parts, err := direct.ListParts(context.Background(), &s3.ListPartsInput{
			Bucket: aws.String(bucket), Key: aws.String("large"), UploadId: aws.String(id),
		})
		return err == nil && len(parts.Parts) > 0
	})
	srv.Stop(t)
	if err := obj.Finish(nil); err == nil {
		t.Fatal("Finish succeeded with the server gone")
	}
	srv.Restart(t)
	if keys := s3test.Keys(t, direct, bucket, ""); len(keys) != 0 {
		t.Fatalf("object visible after a lost upload: %q", keys)
	}
	if p := s3test.PendingUploads(t, direct, bucket); len(p) != 1 {
		t.Fatalf("pending uploads %q: want the one whose abort could not reach S3", p)
	}
}

// TestS3WriterCommitFailsWithoutRun protects the commit protocol over S3:
// when S3 is lost before Commit, Commit fails and, once S3 is back, the run
// has no runs row and no other file either, so no reader can see it.
func TestS3WriterCommitFailsWithoutRun(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	started := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	sink := output.NewS3(srv.Client(func(o *s3.Options) { o.RetryMaxAttempts = 2 }), bucket, "audit", output.S3Options{})
	w := output.NewWriter(sink, "run-lost", started)
	if err := w.Findings(t.Context(), []output.Finding{{RunID: "run-lost", AccountID: "111111111111", Result: "FAIL", ScannedAt: started}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Coverage(t.Context(), []output.Coverage{{RunID: "run-lost", AccountID: "111111111111", Status: "scanned", StartedAt: started}}); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	if err := w.Commit(t.Context(), output.Run{RunID: "run-lost", Status: "complete", StartedAt: started, EndedAt: started}); err == nil {
		t.Fatal("Commit succeeded with the server gone")
	}
	srv.Restart(t)
	if keys := s3test.Keys(t, srv.Client(), bucket, ""); len(keys) != 0 {
		t.Fatalf("a failed commit left objects: %q", keys)
	}

	// The same writer path commits all three datasets when S3 is there.
	w = output.NewWriter(sink, "run-ok", started)
	if err := w.Commit(t.Context(), output.Run{RunID: "run-ok", Status: "complete", StartedAt: started, EndedAt: started}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"audit/coverage/dt=2026-11-28/run-ok.parquet",
		"audit/findings/dt=2026-11-28/run-ok.parquet",
		"audit/runs/dt=2026-11-28/run-ok.parquet",
		"audit/usage/dt=2026-11-28/run-ok.parquet",
	}
	if keys := s3test.Keys(t, srv.Client(), bucket, ""); !slices.Equal(keys, want) {
		t.Fatalf("bucket holds %q, want %q", keys, want)
	}
}

// TestS3MemoryStaysBounded protects the promise that an object is streamed,
// not held: uploading 80 MiB through 5 MiB parts, two in flight, keeps the
// heap within a few parts of where it started. Not parallel, so that no
// other test's allocations are measured.
func TestS3MemoryStaysBounded(t *testing.T) {
	const (
		total = 80 << 20
		limit = 48 << 20 // (Concurrency+2) parts is 20 MiB; the rest is slack
	)
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	sink := output.NewS3(srv.Client(), bucket, "", output.S3Options{PartSize: output.MinS3PartSize, Concurrency: 2})

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	obj, err := sink.Create(t.Context(), "big")
	if err != nil {
		t.Fatal(err)
	}
	chunk := payload(1<<20, 10)
	for range total / len(chunk) {
		if _, err := obj.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	err = obj.Finish(nil)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if grew := peak - min(peak, base); grew > limit {
		t.Errorf("heap grew by %d MiB while streaming %d MiB, want at most %d MiB", grew>>20, total>>20, limit>>20)
	}
	h, err := srv.Client().HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("big")})
	if err != nil || aws.ToInt64(h.ContentLength) != total {
		t.Fatalf("head big: %v, %v bytes; want %d", err, h, total)
	}
	t.Logf("heap grew by %d MiB at most", (peak-min(peak, base))>>20)
}

// TestS3OutlivesCreateContext protects an interrupted run's commit: the
// context the objects were created with is cancelled (SIGTERM, then the
// grace period), yet the run still commits what it wrote.
func TestS3OutlivesCreateContext(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, bucket)
	sink := output.NewS3(srv.Client(), bucket, "", output.S3Options{PartSize: output.MinS3PartSize})
	ctx, cancel := context.WithCancel(t.Context())
	small, err := sink.Create(ctx, "small")
	if err != nil {
		t.Fatal(err)
	}
	large, err := sink.Create(ctx, "large")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := large.Write(payload(output.MinS3PartSize+10, 11)); err != nil {
		t.Fatal(err)
	}
	cancel()
	for _, o := range []output.Object{small, large} {
		if _, err := o.Write([]byte("written after the cancel")); err != nil {
			t.Fatal(err)
		}
		if err := o.Finish(nil); err != nil {
			t.Fatalf("finish after the cancel: %v", err)
		}
	}
	if keys := s3test.Keys(t, srv.Client(), bucket, ""); !slices.Equal(keys, []string{"large", "small"}) {
		t.Fatalf("bucket holds %q, want large and small", keys)
	}
}
