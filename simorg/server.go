package simorg

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The static credentials of the management account. Callers sign with them
// to list the organization and assume the audit role.
const (
	AccessKeyID     = "AKIASIMORGMGMT000001"
	SecretAccessKey = "simorg/management/EXAMPLEKEY/do-not-use"
)

// Options are the server's knobs. The zero value injects no faults.
type Options struct {
	// Latency delays every response, plus a uniformly random extra up to
	// LatencyJitter.
	Latency, LatencyJitter time.Duration
	// SlowShare of responses are delayed by SlowDelay more.
	SlowShare float64
	SlowDelay time.Duration
	// ErrorShare of requests fail with a 5xx error of the service's own
	// kind (500 or 503), after authentication and throttling.
	ErrorShare float64
	// ResetShare of requests have their connection closed with a TCP reset
	// instead of a response.
	ResetShare float64
	// FaultOperations limits slow responses, 5xx errors and resets to these
	// operations (for example "DescribeTaskDefinition"); empty means all.
	FaultOperations []string
	// Seed drives the fault decisions, request by request.
	Seed int64
	// TLS serves HTTPS with a certificate of the server's own making
	// (CABundle), as AWS is reachable only over TLS.
	TLS bool

	// ECSLimit is the token bucket of each (account, region) shared by the
	// ECS task-definition reads, and equally the bucket each of ListClusters,
	// ListServices, DescribeServices, ListTasks and DescribeTasks has of its
	// own; requests finding theirs empty get ThrottlingException.
	// [RealECSLimit] is AWS's. The zero Limit disables throttling.
	ECSLimit Limit
	// OrganizationsLimit is one bucket for all Organizations calls;
	// requests finding it empty get TooManyRequestsException.
	OrganizationsLimit Limit
	// LimitScale multiplies the burst and rate of both limits; zero means 1.
	LimitScale float64
	// ThrottleFirst throttles the first ThrottleFirst requests that reach
	// each ECS bucket of each (account, region), and the first that reach
	// Organizations, as if the bucket were empty: a throttling storm that
	// happens however slowly the client runs, so a test that needs one
	// cannot pass without it.
	ThrottleFirst int
	// Clock is the time the token buckets and the per-second statistics
	// read, and the sessions STS issues expire on; nil means time.Now. A
	// test that gives a clock it advances itself decides exactly which
	// requests find a bucket empty or a session expired.
	Clock func() time.Time

	// EmptyPages makes the first EmptyPages responses of Organizations List
	// operations come back with no items and a NextToken.
	EmptyPages int

	// SecurityHub is the store Security Hub's operations read and write;
	// nil gives the server an empty one of its own. Pass one store to
	// successive servers to keep findings from one night to the next.
	SecurityHub *SecurityHub
	// SecurityHubLimits applies Security Hub's documented token buckets
	// per (account, region) (see hubLimit); requests finding them empty
	// get TooManyRequestsException.
	SecurityHubLimits bool

	// DenyOperations are operations (for example "ListClusters") the audit
	// role's policy does not allow, in every account: a role deployed
	// before ecsaudit needed them. They answer AccessDeniedException.
	DenyOperations []string

	// DenyAssume adds accounts whose audit role cannot be assumed.
	DenyAssume []string
	// DenyRegions adds regions a service control policy denies, by account
	// ID; the key "*" applies to every account.
	DenyRegions map[string][]string
	// SessionLifetime, when set, replaces the lifetime of assumed-role
	// sessions that AssumeRole's DurationSeconds asks for.
	SessionLifetime time.Duration
	// SkipSignatureCheck trusts SigV4 signatures without recomputing them
	// (the access key and session token are still checked), for benchmarks
	// that measure the scanner rather than the simulator.
	SkipSignatureCheck bool
}

// Limit is a token bucket: Burst tokens, refilled at Rate per second.
type Limit struct {
	Burst int
	Rate  float64
}

// RealECSLimit returns the bucket AWS applies to ECS API actions per
// account and region: a burst of 50, refilled at 20 per second.
func RealECSLimit() Limit { return Limit{Burst: 50, Rate: 20} }

func (o Options) validate() error {
	var errs []error
	for _, v := range []struct {
		name  string
		share float64
	}{{"SlowShare", o.SlowShare}, {"ErrorShare", o.ErrorShare}, {"ResetShare", o.ResetShare}} {
		if !(v.share >= 0 && v.share <= 1) {
			errs = append(errs, fmt.Errorf("%s %v is outside [0, 1]", v.name, v.share))
		}
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"Latency", o.Latency}, {"LatencyJitter", o.LatencyJitter}, {"SlowDelay", o.SlowDelay}, {"SessionLifetime", o.SessionLifetime}} {
		if v.d < 0 {
			errs = append(errs, fmt.Errorf("%s %v is negative", v.name, v.d))
		}
	}
	for _, v := range []struct {
		name string
		l    Limit
	}{{"ECSLimit", o.ECSLimit}, {"OrganizationsLimit", o.OrganizationsLimit}} {
		if v.l.Burst < 0 || v.l.Rate < 0 || (v.l.Burst > 0) != (v.l.Rate > 0) {
			errs = append(errs, fmt.Errorf("%s %+v needs both Burst and Rate positive, or both zero", v.name, v.l))
		}
	}
	if o.LimitScale < 0 || o.EmptyPages < 0 || o.ThrottleFirst < 0 {
		errs = append(errs, errors.New("LimitScale, EmptyPages and ThrottleFirst must not be negative"))
	}
	for _, op := range o.FaultOperations {
		if _, ok := opByName[op]; !ok {
			errs = append(errs, fmt.Errorf("FaultOperations: unknown operation %q", op))
		}
	}
	for _, op := range o.DenyOperations {
		if _, ok := opByName[op]; !ok {
			errs = append(errs, fmt.Errorf("DenyOperations: unknown operation %q", op))
		}
	}
	return errors.Join(errs...)
}

// Server serves an Org over HTTP on loopback.
type Server struct {
	org    *Org
	opts   Options
	ln     net.Listener
	caPEM  []byte // the TLS certificate, nil over plain HTTP
	hs     *http.Server
	signer *v4.Signer

	sessions   sync.Map // access key ID → *session
	seq        atomic.Uint64
	emptyPages atomic.Int64
	faultOps   [numOps]bool
	deniedOps  [numOps]bool
	denyAssume map[string]bool
	denyRegion map[string]map[string]bool
	limits     *limits
	hub        *SecurityHub
	reg        registered
	stats      recorder
}

// Start serves org on 127.0.0.1 at a free port until Close.
func Start(org *Org, opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("simorg options: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("simorg listen: %w", err)
	}
	s := &Server{org: org, opts: opts, ln: ln, signer: v4.NewSigner(),
		denyAssume: map[string]bool{}, denyRegion: map[string]map[string]bool{}}
	if opts.TLS {
		cert, caPEM, err := selfSigned(time.Now())
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("simorg: %w", err)
		}
		s.ln, s.caPEM = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), caPEM
	}
	s.emptyPages.Store(int64(opts.EmptyPages))
	for _, op := range opts.FaultOperations {
		s.faultOps[opByName[op]] = true
	}
	if len(opts.FaultOperations) == 0 {
		for i := range s.faultOps {
			s.faultOps[i] = true
		}
	}
	for _, op := range opts.DenyOperations {
		s.deniedOps[opByName[op]] = true
	}
	for _, id := range opts.DenyAssume {
		s.denyAssume[id] = true
	}
	for acct, regions := range opts.DenyRegions {
		s.denyRegion[acct] = map[string]bool{}
		for _, r := range regions {
			s.denyRegion[acct][r] = true
		}
	}
	s.limits = newLimits(opts)
	s.hub = opts.SecurityHub
	if s.hub == nil {
		s.hub = NewSecurityHub()
	}
	s.sessions.Store(AccessKeyID, &session{account: org.management, secret: SecretAccessKey})
	s.hs = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: log.New(io.Discard, "", 0)} // a client refusing the certificate is the client's to report
	go s.hs.Serve(s.ln) //nolint:errcheck // returns ErrServerClosed on Close
	return s, nil
}

// URL returns the base endpoint, for config.WithBaseEndpoint or
// AWS_ENDPOINT_URL: "http://127.0.0.1:port", or https with Options.TLS.
func (s *Server) URL() string {
	if s.caPEM != nil {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// CABundle returns the PEM certificate a client must trust to reach the
// server over TLS (AWS_CA_BUNDLE), or nil over plain HTTP.
func (s *Server) CABundle() []byte { return s.caPEM }

// Org returns the organization the server serves.
func (s *Server) Org() *Org { return s.org }

// SecurityHub returns the store behind the server's Security Hub.
func (s *Server) SecurityHub() *SecurityHub { return s.hub }

// Close stops the server and closes every connection.
func (s *Server) Close() error { return s.hs.Close() }

// call is one request being served.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	body    []byte
	form    url.Values // Query protocols
	proto   protocol
	service string // signing name: organizations, ecs, sts, ec2
	op      op
	seq     uint64
	id      string // request ID
	who     principal
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	arrived := s.now()
	n := s.seq.Add(1)
	c := &call{w: w, r: r, seq: n, id: requestID(n)}
	s.stats.requests.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return // the connection is gone
	}
	c.body = body
	if !s.route(c) {
		return
	}
	s.stats.calls[c.op].Add(1)

	slow := s.faultOps[c.op] && s.chance(n, faultSlow, s.opts.SlowShare)
	if slow {
		s.stats.slow.Add(1)
	}
	if !s.delay(c, slow) {
		return
	}
	if s.faultOps[c.op] && s.chance(n, faultReset, s.opts.ResetShare) {
		s.stats.resets.Add(1)
		resetConnection(w)
		return
	}
	if e := s.authenticate(c); e != nil {
		s.fail(c, e)
		return
	}
	s.stats.target(c.who.account, c.who.region).record(c.op, arrived)
	if e := s.authorize(c); e != nil {
		s.fail(c, e)
		return
	}
	if e := s.throttle(c); e != nil {
		s.fail(c, e)
		return
	}
	if s.faultOps[c.op] && s.chance(n, faultError, s.opts.ErrorShare) {
		s.stats.injected.Add(1)
		s.fail(c, serverError(c, n))
		return
	}
	switch c.service {
	case "organizations":
		s.organizations(c)
	case "sts":
		s.sts(c)
	case "ec2":
		s.ec2(c)
	case "ecs":
		s.ecs(c)
	case "securityhub":
		s.securityHub(c)
	}
}

// route decides protocol, service and operation, answering the request
// itself when it names none it knows.
func (s *Server) route(c *call) bool {
	if target := c.r.Header.Get("X-Amz-Target"); target != "" {
		c.proto = protoJSON
		prefix, name, _ := strings.Cut(target, ".")
		switch prefix {
		case "AWSOrganizationsV20161128":
			c.service = "organizations"
		case "AmazonEC2ContainerServiceV20141113":
			c.service = "ecs"
		default:
			s.fail(c, &apiError{status: 400, code: "UnknownOperationException", message: "Unknown service " + prefix})
			return false
		}
		c.op = opByName[name]
		if c.op == opUnknown || opService[c.op] != c.service {
			s.fail(c, &apiError{status: 400, code: "UnknownOperationException", message: "Unknown operation " + name})
			return false
		}
		return true
	}
	if scopeService(c.r) == "securityhub" {
		c.proto, c.service = protoREST, "securityhub"
		if c.op = routeREST(c.r); c.op == opUnknown {
			s.fail(c, &apiError{status: 404, code: "ResourceNotFoundException", message: "simorg serves no Security Hub operation at " + c.r.Method + " " + c.r.URL.Path})
			return false
		}
		return true
	}
	form, err := url.ParseQuery(string(c.body))
	c.form = form
	c.proto = protoQuery
	if scopeService(c.r) == "ec2" {
		c.proto = protoEC2
	}
	if err != nil {
		s.fail(c, &apiError{status: 400, code: "MalformedQueryString", message: err.Error()})
		return false
	}
	c.op = opByName[form.Get("Action")]
	switch c.service = opService[c.op]; c.service {
	case "sts":
		c.proto = protoQuery
	case "ec2":
		c.proto = protoEC2
	default:
		s.fail(c, &apiError{status: 400, code: "InvalidAction", message: fmt.Sprintf("Could not find operation %q", form.Get("Action"))})
		return false
	}
	return true
}

// scopeService returns the service of the Authorization header's
// credential scope, or "".
func scopeService(r *http.Request) string {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return ""
	}
	return a.service
}

// delay sleeps for the configured latency; false means the client left.
func (s *Server) delay(c *call, slow bool) bool {
	d := s.opts.Latency
	if s.opts.LatencyJitter > 0 {
		d += time.Duration(unit(mix(uint64(s.opts.Seed), c.seq, faultJitter)) * float64(s.opts.LatencyJitter))
	}
	if slow {
		d += s.opts.SlowDelay
	}
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.r.Context().Done():
		return false
	}
}

func requestID(n uint64) string {
	return fmt.Sprintf("%08x-5153-4d0e-8000-%012x", uint32(n>>48)^0x51a0, n&0xffffffffffff)
}
