package s3test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Request is what a Proxy recorded of one request.
type Request struct {
	// Op is the S3 operation, as Operation names it.
	Op     string
	Method string
	Path   string
	Query  url.Values
	Header http.Header
}

// Proxy is a loopback HTTP proxy in front of an S3 endpoint. It records
// every request and lets a test answer chosen requests itself, to see the
// headers a client really sends and to fail requests the server would not.
// SigV4 signatures stay valid because the Host header is passed through.
type Proxy struct {
	// URL is the proxy's endpoint; point the client here.
	URL string

	mu   sync.Mutex
	reqs []Request
}

// Intercept answers r instead of the server when it returns true. It runs
// on the proxy's goroutines and must be safe for concurrent use.
type Intercept func(w http.ResponseWriter, r *http.Request) bool

// NewProxy starts a Proxy in front of target (a server URL) for t and closes
// it when t ends. intercept may be nil.
func NewProxy(t testing.TB, target string, intercept Intercept) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("proxy target %q: %v", target, err)
	}
	p := &Proxy{}
	rp := httputil.NewSingleHostReverseProxy(u) // leaves the Host header alone
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.record(r)
		if intercept != nil && intercept(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func (p *Proxy) record(r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs = append(p.reqs, Request{
		Op:     Operation(r),
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
	})
}

// Requests returns a copy of what the proxy has recorded so far, in arrival
// order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

// Operation names the S3 operation of an object-level or bucket-level
// request by its method and query, or returns "" for other requests.
func Operation(r *http.Request) string {
	q := r.URL.Query()
	if op := q.Get("x-id"); op != "" { // the Go SDK names some operations
		return op
	}
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case r.Method == http.MethodPost && has("uploads"):
		return "CreateMultipartUpload"
	case r.Method == http.MethodPut && has("partNumber") && has("uploadId"):
		return "UploadPart"
	case r.Method == http.MethodPost && has("uploadId"):
		return "CompleteMultipartUpload"
	case r.Method == http.MethodDelete && has("uploadId"):
		return "AbortMultipartUpload"
	case r.Method == http.MethodGet && has("uploads"):
		return "ListMultipartUploads"
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		return "ListObjectsV2"
	case r.Method == http.MethodPut && len(q) == 0:
		return "PutObject" // or CreateBucket, on a path with no key
	case r.Method == http.MethodGet && len(q) == 0:
		return "GetObject"
	case r.Method == http.MethodHead:
		return "HeadObject"
	}
	return ""
}

// SlowDown answers r as S3 does when it throttles: 503 SlowDown. The request
// body is drained first so the client sees the answer, not a broken pipe.
func SlowDown(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+
		`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
}

// Reset drops r's connection with a TCP reset and no answer at all.
func Reset(w http.ResponseWriter, _ *http.Request) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("s3test: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST instead of FIN
	}
	_ = conn.Close()
}
