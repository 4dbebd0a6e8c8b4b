package simorg

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// session is a set of credentials the server knows: the management
// account's static key, or one issued by AssumeRole.
type session struct {
	account     string
	secret      string
	token       string // empty for the static key
	roleName    string
	sessionName string
	expires     atomic.Int64 // unix nanoseconds; zero never expires
}

// principal is the authenticated caller of one request.
type principal struct {
	account string
	region  string // of the credential scope
	session *session
}

// arn returns the caller's ARN as STS GetCallerIdentity reports it.
func (p principal) arn(partition string) string {
	if p.session.token == "" {
		return "arn:" + partition + ":iam::" + p.account + ":user/ecsaudit-admin"
	}
	return "arn:" + partition + ":sts::" + p.account + ":assumed-role/" + p.session.roleName + "/" + p.session.sessionName
}

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

const sigV4 = "AWS4-HMAC-SHA256"

func parseAuthorization(h string) (authorization, error) {
	var a authorization
	rest, ok := strings.CutPrefix(h, sigV4+" ")
	if !ok {
		return a, errors.New("Authorization header requires the AWS4-HMAC-SHA256 algorithm")
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return a, errors.New("Credential must have the form AKID/date/region/service/aws4_request")
			}
			a.accessKey, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKey == "" || len(a.signedHeaders) == 0 || len(a.signature) != 64 {
		return a, errors.New("Authorization header requires Credential, SignedHeaders and Signature")
	}
	return a, nil
}

// authenticate identifies the caller of c and verifies the request's
// signature, session token and expiry.
func (s *Server) authenticate(c *call) *apiError {
	h := c.r.Header.Get("Authorization")
	if h == "" {
		return authError(c, "missing", "Missing Authentication Token")
	}
	a, err := parseAuthorization(h)
	if err != nil {
		return authError(c, "signature", err.Error())
	}
	if a.service != c.service {
		return authError(c, "signature", "Credential should be scoped to correct service: '"+c.service+"'.")
	}
	v, ok := s.sessions.Load(a.accessKey)
	if !ok {
		return authError(c, "invalid", "The security token included in the request is invalid.")
	}
	sess := v.(*session)
	token := c.r.Header.Get("X-Amz-Security-Token")
	if subtle.ConstantTimeCompare([]byte(token), []byte(sess.token)) != 1 {
		return authError(c, "invalid", "The security token included in the request is invalid.")
	}
	if !s.opts.SkipSignatureCheck && !s.verify(c, a, sess) {
		return authError(c, "signature", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	if exp := sess.expires.Load(); exp != 0 && s.now().UnixNano() >= exp {
		if signed, err := time.Parse("20060102T150405Z", c.r.Header.Get("X-Amz-Date")); err == nil && signed.UnixNano() >= exp {
			s.stats.signedExpired.Add(1)
		}
		return authError(c, "expired", "The security token included in the request is expired")
	}
	c.who = principal{account: sess.account, region: a.region, session: sess}
	return nil
}

// verify re-signs the request with the SDK's v4 signer, over the headers
// the client signed, and compares the signatures.
func (s *Server) verify(c *call, a authorization, sess *session) bool {
	t, err := time.Parse("20060102T150405Z", c.r.Header.Get("X-Amz-Date"))
	if err != nil || t.Format("20060102") != a.date {
		return false
	}
	req, err := http.NewRequest(c.r.Method, "http://"+c.r.Host+c.r.URL.RequestURI(), nil)
	if err != nil {
		return false
	}
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = int64(len(c.body))
		default:
			vals := c.r.Header.Values(name)
			if len(vals) == 0 {
				return false
			}
			req.Header[http.CanonicalHeaderKey(name)] = vals
		}
	}
	sum := sha256.Sum256(c.body)
	creds := aws.Credentials{AccessKeyID: a.accessKey, SecretAccessKey: sess.secret, SessionToken: sess.token}
	if err := s.signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), a.service, a.region, t); err != nil {
		return false
	}
	got, err := parseAuthorization(req.Header.Get("Authorization"))
	if err != nil || strings.Join(got.signedHeaders, ";") != strings.Join(a.signedHeaders, ";") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got.signature), []byte(a.signature)) == 1
}

// authError is an authentication failure in the words of c's service.
func authError(c *call, kind, message string) *apiError {
	switch c.proto {
	case protoEC2:
		switch kind {
		case "expired":
			return &apiError{status: 400, code: "RequestExpired", message: "Request has expired."}
		case "missing":
			return &apiError{status: 401, code: "MissingAuthenticationToken", message: "Request is missing Authentication Token"}
		}
		return &apiError{status: 401, code: "AuthFailure", message: "AWS was not able to validate the provided access credentials"}
	case protoQuery:
		switch kind {
		case "expired":
			return &apiError{status: 403, code: "ExpiredToken", message: message}
		case "missing":
			return &apiError{status: 403, code: "MissingAuthenticationToken", message: message}
		case "invalid":
			return &apiError{status: 403, code: "InvalidClientTokenId", message: message}
		}
		return &apiError{status: 403, code: "SignatureDoesNotMatch", message: message}
	}
	switch kind {
	case "expired":
		return &apiError{status: 400, code: "ExpiredTokenException", message: message}
	case "missing":
		return &apiError{status: 403, code: "MissingAuthenticationTokenException", message: message}
	case "invalid":
		return &apiError{status: 400, code: "UnrecognizedClientException", message: message}
	}
	return &apiError{status: 400, code: "InvalidSignatureException", message: message}
}

// issue creates credentials for account that expire at expires.
func (s *Server) issue(account, roleName, sessionName string, expires time.Time) (akid string, sess *session) {
	var b [56]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand.Read never fails
	akid = "ASIA" + base32.StdEncoding.EncodeToString(b[:10])
	sess = &session{
		account: account, roleName: roleName, sessionName: sessionName,
		secret: base64.RawStdEncoding.EncodeToString(b[10:40]),
		token:  "IQoJb3JpZ2luX2VjEsim" + base64.RawURLEncoding.EncodeToString(b[40:]) + base64.RawURLEncoding.EncodeToString([]byte(account)),
	}
	sess.expires.Store(expires.UnixNano())
	s.sessions.Store(akid, sess)
	return akid, sess
}

// ExpireSessions makes every session issued so far expired now, as if the
// scan had outlived its credentials. Later AssumeRole calls get fresh ones.
func (s *Server) ExpireSessions() {
	now := s.now().UnixNano()
	s.sessions.Range(func(_, v any) bool {
		if sess := v.(*session); sess.token != "" {
			sess.expires.Store(now)
		}
		return true
	})
}
