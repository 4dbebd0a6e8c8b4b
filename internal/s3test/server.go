// Package s3test starts a real S3 server for tests: a versitygw process with
// a POSIX backend in the test's temporary directory, listening on a free
// loopback port, owned by one test and killed when it ends. It also offers a
// loopback proxy that records requests and injects faults, and a few S3
// look-ups that tests use to check what became visible.
//
// The versitygw binary comes from $ECSAUDIT_VERSITYGW, or else from
// scripts/versitygw.sh, which installs it once into the tools cache. Tests
// that use this package never skip: without a server they fail.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Credentials and region of every server this package starts. versitygw's
// single-account mode makes the access key the owner of every bucket, so
// AccessKey is shaped as a 12-digit account id: it is the value that passes
// an ExpectedBucketOwner check.
const (
	AccessKey = "123456789012"
	SecretKey = "ecsaudit-test-secret-access-key"
	Region    = "us-east-1"
)

const healthPath = "/health"

// Server is one versitygw process owned by a test.
type Server struct {
	// URL is the server's endpoint, http://127.0.0.1:PORT.
	URL string
	// Root is the POSIX backend's directory: one subdirectory per bucket.
	Root string

	bin  string
	addr string
	log  string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Binary returns the path of the versitygw binary: $ECSAUDIT_VERSITYGW when
// set, otherwise whatever scripts/versitygw.sh installs and prints.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ECSAUDIT_VERSITYGW"); p != "" {
		return p
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("find versitygw: %v", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "versitygw.sh"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("scripts/versitygw.sh: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// moduleRoot walks up from the working directory (a package directory under
// go test) to the directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start starts a fresh versitygw for t, waits until it answers, and kills it
// when t ends. Its log is printed if t fails.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{bin: Binary(t), Root: t.TempDir()}
	s.log = filepath.Join(t.TempDir(), "versitygw.log")
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			if b, err := os.ReadFile(s.log); err == nil {
				t.Logf("versitygw log:\n%s", tail(b, 4000))
			}
		}
	})
	// A port found free can be taken before versitygw binds it; try again
	// with another one when the process dies at start-up.
	var err error
	for range 3 {
		if s.addr, err = freeAddr(); err != nil {
			t.Fatalf("versitygw: %v", err)
		}
		if err = s.start(); err == nil {
			s.URL = "http://" + s.addr
			return s
		}
	}
	t.Fatalf("versitygw: %v", err)
	return nil
}

// Stop kills the server at once, as a crash or a network cut would, leaving
// its data in place for Restart.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.kill()
}

// Restart starts the server again on the same address and directory.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.kill()
	if err := s.start(); err != nil {
		t.Fatalf("restart versitygw: %v", err)
	}
}

func (s *Server) start() error {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin,
		"--port", s.addr,
		"--health", healthPath,
		"--quiet",
		"posix", s.Root)
	// Keys through the environment keep them out of the process list.
	cmd.Env = append(os.Environ(),
		"ROOT_ACCESS_KEY_ID="+AccessKey,
		"ROOT_SECRET_ACCESS_KEY="+SecretKey,
		"VGW_REGION="+Region,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	return s.waitReady(20 * time.Second)
}

func (s *Server) waitReady(limit time.Duration) error {
	url := "http://" + s.addr + healthPath
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("versitygw on %s exited during start-up (see its log)", s.addr)
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("versitygw on %s not ready after %s", s.addr, limit)
}

func (s *Server) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Client returns an S3 client for the server, path-style, with the server's
// credentials; opts adjust it further.
func (s *Server) Client(opts ...func(*s3.Options)) *s3.Client {
	return NewClient(s.URL, opts...)
}

// NewClient returns an S3 client for endpoint (the server or a Proxy in
// front of it), path-style, with this package's credentials.
func NewClient(endpoint string, opts ...func(*s3.Options)) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       Region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	}, opts...)
}

// CreateBucket creates bucket on the server, failing t if it cannot.
func (s *Server) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
}

// Keys lists every committed key under prefix in bucket, in S3's order.
func Keys(t testing.TB, client *s3.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{
		Bucket: aws.String(bucket),
		Prefix: aws.String(prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("list s3://%s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// PendingUploads lists the keys of multipart uploads started in bucket and
// neither completed nor aborted.
func PendingUploads(t testing.TB, client *s3.Client, bucket string) []string {
	t.Helper()
	out, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{
		Bucket: aws.String(bucket),
	})
	if err != nil {
		t.Fatalf("list multipart uploads in %s: %v", bucket, err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key)+" "+aws.ToString(u.UploadId))
	}
	return keys
}

// Download copies every object under prefix in bucket into dir, keeping the
// key's path below dir, and returns the keys.
func Download(t testing.TB, client *s3.Client, bucket, prefix, dir string) []string {
	t.Helper()
	keys := Keys(t, client, bucket, prefix)
	for _, key := range keys {
		out, err := client.GetObject(context.Background(), &s3.GetObjectInput{
			Bucket: aws.String(bucket),
			Key:    aws.String(key),
		})
		if err != nil {
			t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(out.Body)
		out.Body.Close()
		if err != nil {
			t.Fatalf("read s3://%s/%s: %v", bucket, key, err)
		}
		path := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
