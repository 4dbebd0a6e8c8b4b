package output

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3ReadAPI is the part of S3 that the S3 source calls.
type S3ReadAPI interface {
	s3.ListObjectsV2APIClient
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ S3ReadAPI = (*s3.Client)(nil)

// s3BlockSize is the unit of ranged reads; s3Blocks of them are cached per
// open object, which bounds its memory.
const (
	s3BlockSize = 1 << 20
	s3Blocks    = 8
)

type s3Source struct {
	api    S3ReadAPI
	bucket string
	prefix string
	owner  string
}

// NewS3Source returns a Source over s3://bucket/prefix, the same layout
// NewS3 writes. Objects are read with ranged GETs, nothing is spooled to disk.
func NewS3Source(api S3ReadAPI, bucket, prefix, expectedOwner string) Source {
	return &s3Source{api: api, bucket: bucket, prefix: strings.Trim(prefix, "/"), owner: expectedOwner}
}

func (s *s3Source) full(key string) string {
	if s.prefix == "" {
		return key
	}
	return s.prefix + "/" + key
}

func (s *s3Source) ownerPtr() *string {
	if s.owner == "" {
		return nil
	}
	return aws.String(s.owner)
}

// List returns the keys below prefix, relative to the source's prefix.
func (s *s3Source) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.api, &s3.ListObjectsV2Input{
		Bucket: &s.bucket, Prefix: aws.String(s.full(prefix)), ExpectedBucketOwner: s.ownerPtr(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", s.bucket, s.full(prefix), err)
		}
		for _, o := range page.Contents {
			k := aws.ToString(o.Key)
			if s.prefix != "" {
				k = strings.TrimPrefix(k, s.prefix+"/")
			}
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// Open learns the object's size with a one-byte ranged GET.
func (s *s3Source) Open(ctx context.Context, key string) (*Blob, error) {
	o := &s3Blob{ctx: ctx, src: s, key: s.full(key), blocks: map[int64][]byte{}}
	out, err := s.get(ctx, o.key, "bytes=0-0")
	if err != nil {
		return nil, err
	}
	out.Body.Close()
	cr := aws.ToString(out.ContentRange) // bytes 0-0/SIZE
	size, err := strconv.ParseInt(cr[strings.LastIndexByte(cr, '/')+1:], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("open s3://%s/%s: content range %q", s.bucket, o.key, cr)
	}
	o.size = size
	return &Blob{ReaderAt: o, Size: size, Close: func() error { return nil }}, nil
}

func (s *s3Source) get(ctx context.Context, key, rng string) (*s3.GetObjectOutput, error) {
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{
		Bucket: &s.bucket, Key: &key, Range: &rng, ExpectedBucketOwner: s.ownerPtr(),
	})
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", s.bucket, key, err)
	}
	return out, nil
}

// s3Blob reads an object in cached 1 MiB blocks.
type s3Blob struct {
	ctx    context.Context
	src    *s3Source
	key    string
	size   int64
	mu     sync.Mutex
	blocks map[int64][]byte
	order  []int64
}

func (o *s3Blob) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		if off+int64(n) >= o.size {
			return n, io.EOF
		}
		idx := (off + int64(n)) / s3BlockSize
		b, err := o.block(idx)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], b[off+int64(n)-idx*s3BlockSize:])
	}
	return n, nil
}

func (o *s3Blob) block(idx int64) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, ok := o.blocks[idx]; ok {
		return b, nil
	}
	start := idx * s3BlockSize
	end := min(start+s3BlockSize, o.size) - 1
	out, err := o.src.get(o.ctx, o.key, fmt.Sprintf("bytes=%d-%d", start, end))
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	b := make([]byte, end-start+1)
	if _, err := io.ReadFull(out.Body, b); err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", o.src.bucket, o.key, err)
	}
	if len(o.order) == s3Blocks {
		delete(o.blocks, o.order[0])
		o.order = o.order[1:]
	}
	o.blocks[idx] = b
	o.order = append(o.order, idx)
	return b, nil
}
