package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3API is the part of the S3 API the S3 sink calls: the single-request and
// multipart upload operations. It never reads, lists or creates buckets.
type S3API interface {
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(context.Context, *s3.UploadPartInput, ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(context.Context, *s3.CompleteMultipartUploadInput, ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// Upload sizing. Memory per open object is bounded by about
// (Concurrency+2) × PartSize; nothing is spooled to disk.
const (
	// MinS3PartSize is S3's smallest part size (all parts but the last).
	MinS3PartSize = 5 << 20
	// DefaultS3PartSize is the part size when S3Options.PartSize is zero.
	DefaultS3PartSize = 8 << 20
	// DefaultS3Concurrency is the parts in flight per object when
	// S3Options.Concurrency is zero.
	DefaultS3Concurrency = 2
)

// S3Options tunes the S3 sink. The zero value uses the bucket's default
// encryption and no owner check.
type S3Options struct {
	// SSEKMSKeyID, when set, asks for SSE-KMS (aws:kms) with this key id or
	// ARN. When empty no encryption header is sent and the bucket's default
	// encryption applies.
	SSEKMSKeyID string
	// ExpectedBucketOwner, when set, is the account id every request
	// requires the bucket to belong to; S3 answers 403 otherwise.
	ExpectedBucketOwner string
	// PartSize is the multipart part size in bytes: DefaultS3PartSize when
	// zero, raised to MinS3PartSize when smaller.
	PartSize int64
	// Concurrency is the parts uploaded at once per object:
	// DefaultS3Concurrency when zero or less.
	Concurrency int
}

type s3Sink struct {
	tm     *transfermanager.Client
	bucket string
	prefix string
	opts   S3Options
}

// NewS3 returns a Sink that streams each object to s3://bucket/prefix/key:
// one PUT when it fits in a part, a multipart upload otherwise, with a CRC32
// checksum on every request. An object becomes visible only when its upload
// completes; a discarded or failed multipart upload is aborted. The bucket
// must already exist: the sink never creates one.
func NewS3(client S3API, bucket, prefix string, opts S3Options) Sink {
	if opts.PartSize == 0 {
		opts.PartSize = DefaultS3PartSize
	}
	opts.PartSize = max(opts.PartSize, MinS3PartSize)
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultS3Concurrency
	}
	tm := transfermanager.New(uploadOnly{client}, func(o *transfermanager.Options) {
		o.PartSizeBytes = opts.PartSize
		// The first part is buffered whole before the upload starts; a
		// threshold of one part keeps that buffer as small as the others.
		o.MultipartUploadThreshold = opts.PartSize
		o.Concurrency = opts.Concurrency
		o.ChecksumAlgorithm = tmtypes.ChecksumAlgorithmCrc32
	})
	return &s3Sink{tm: tm, bucket: bucket, prefix: strings.Trim(prefix, "/"), opts: opts}
}

// Create starts streaming an object at key below the sink's prefix. The
// upload keeps ctx's values but not its cancellation: an object ends with
// Finish, so a run whose context was cancelled can still commit what it
// wrote (as an interrupted run does), or discard it. Each request is bounded
// by the client's own timeouts and retries.
func (s *s3Sink) Create(ctx context.Context, key string) (Object, error) {
	ctx = context.WithoutCancel(ctx)
	key = strings.TrimLeft(key, "/")
	if key == "" {
		return nil, errors.New("create s3 object: empty key")
	}
	if s.prefix != "" {
		key = s.prefix + "/" + key
	}
	in := &transfermanager.UploadObjectInput{
		Bucket:            &s.bucket,
		Key:               &key,
		ChecksumAlgorithm: tmtypes.ChecksumAlgorithmCrc32,
	}
	if s.opts.ExpectedBucketOwner != "" {
		in.ExpectedBucketOwner = &s.opts.ExpectedBucketOwner
	}
	if s.opts.SSEKMSKeyID != "" {
		in.ServerSideEncryption = tmtypes.ServerSideEncryptionAwsKms
		in.SSEKMSKeyID = &s.opts.SSEKMSKeyID
	}
	pr, pw := io.Pipe()
	in.Body = pr
	o := &s3Object{url: "s3://" + s.bucket + "/" + key, pw: pw, done: make(chan struct{})}
	go func() {
		defer close(o.done)
		_, err := s.tm.UploadObject(ctx, in)
		o.err = err
		// Unblock a writer the uploader stopped reading from.
		if err == nil {
			err = errors.New("upload ended")
		}
		pr.CloseWithError(err)
	}()
	return o, nil
}

// s3Object is one streaming upload: writes go through a pipe to the
// transfer manager's uploader, which buffers at most its parts in flight.
type s3Object struct {
	url  string
	pw   *io.PipeWriter
	done chan struct{} // closed when the upload has returned
	err  error         // the upload's result, set before done is closed

	once sync.Once
}

// errDiscarded marks the read error that Finish(err) feeds the uploader, so
// the upload's error can be told apart from any other failure.
type errDiscarded struct{ cause error }

func (e *errDiscarded) Error() string { return "discarded: " + e.cause.Error() }
func (e *errDiscarded) Unwrap() error { return e.cause }

func (o *s3Object) Write(p []byte) (int, error) {
	n, err := o.pw.Write(p)
	if err != nil {
		return n, fmt.Errorf("upload %s: %w", o.url, err)
	}
	return n, nil
}

// Finish completes the upload when err is nil. When err is set it makes the
// uploader's read fail, which aborts the multipart upload (or keeps the
// single PUT from being sent), and returns nil once nothing is left behind.
func (o *s3Object) Finish(err error) error {
	first := false
	o.once.Do(func() { first = true })
	if !first {
		return fmt.Errorf("finish %s: already finished", o.url)
	}
	if err == nil {
		_ = o.pw.Close()
		<-o.done
		if o.err != nil {
			return fmt.Errorf("upload %s: %w", o.url, o.err)
		}
		return nil
	}
	discard := &errDiscarded{err}
	_ = o.pw.CloseWithError(discard)
	<-o.done
	// The transfer manager wraps its abort failure with %v, so the discard
	// is still found only when the abort succeeded or nothing was created.
	var d *errDiscarded
	switch {
	case o.err == nil: // cannot happen: the uploader never saw EOF
		return fmt.Errorf("discard %s: upload completed anyway", o.url)
	case errors.As(o.err, &d) && d == discard:
		return nil
	}
	return fmt.Errorf("discard %s: %w", o.url, o.err)
}

// uploadOnly satisfies transfermanager's client interface with an S3API:
// the upload path never calls the read operations it also declares.
type uploadOnly struct{ S3API }

var errUploadOnly = errors.New("output: the S3 sink only uploads")

func (uploadOnly) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, errUploadOnly
}

func (uploadOnly) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return nil, errUploadOnly
}

func (uploadOnly) ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return nil, errUploadOnly
}

// ParseS3URL splits an s3://bucket/prefix URL into its bucket and its prefix
// (without leading or trailing slashes; empty for the bucket's root). The
// bucket must follow S3's naming rules for general purpose buckets.
func ParseS3URL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("s3 url %q: must start with s3://", s)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if why := bucketNameProblem(bucket); why != "" {
		return "", "", fmt.Errorf("s3 url %q: bucket name %q %s", s, bucket, why)
	}
	prefix = strings.Trim(prefix, "/")
	if strings.ContainsAny(prefix, "?#") {
		return "", "", fmt.Errorf("s3 url %q: prefix must not contain '?' or '#'", s)
	}
	if prefix != "" {
		for _, seg := range strings.Split(prefix, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return "", "", fmt.Errorf("s3 url %q: prefix must not contain empty, '.' or '..' segments", s)
			}
		}
	}
	return bucket, prefix, nil
}

// bucketNameProblem returns why name is not a valid general purpose bucket
// name, or "" when it is.
// See https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
func bucketNameProblem(name string) string {
	if len(name) < 3 || len(name) > 63 {
		return "must be 3 to 63 characters long"
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return "may contain only lowercase letters, digits, '.' and '-'"
		}
	}
	if !isAlnum(name[0]) || !isAlnum(name[len(name)-1]) {
		return "must begin and end with a letter or digit"
	}
	if strings.Contains(name, "..") {
		return "must not contain two adjacent periods"
	}
	if net.ParseIP(name) != nil {
		return "must not be formatted as an IP address"
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return "must not start with the reserved prefix " + p
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return "must not end with the reserved suffix " + sfx
		}
	}
	return ""
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
