package simorg

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

type stsMetadata struct {
	RequestID string `xml:"RequestId"`
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"AssumeRoleResponse"`
	XMLNS   string   `xml:"xmlns,attr"`
	Result  struct {
		AssumedRoleUser struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			Arn           string `xml:"Arn"`
		} `xml:"AssumedRoleUser"`
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		} `xml:"Credentials"`
	} `xml:"AssumeRoleResult"`
	Metadata stsMetadata `xml:"ResponseMetadata"`
}

type callerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	XMLNS   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	Metadata stsMetadata `xml:"ResponseMetadata"`
}

var (
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	roleARNPattern     = regexp.MustCompile(`^arn:([a-z-]+):iam::([0-9]{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]{1,64})$`)
)

func (s *Server) sts(c *call) {
	switch c.op {
	case opGetCallerIdentity:
		var out callerIdentityResponse
		out.XMLNS = stsNamespace
		out.Result.Account = c.who.account
		out.Result.Arn = c.who.arn(s.org.partition)
		out.Result.UserID = "AIDASIMORGMGMT000001"
		if c.who.session.token != "" {
			out.Result.UserID = roleID(c.who.account) + ":" + c.who.session.sessionName
		}
		out.Metadata.RequestID = c.id
		writeXML(c, &out)
	case opAssumeRole:
		s.assumeRole(c)
	}
}

func (s *Server) assumeRole(c *call) {
	f := c.form
	rec := AssumeRecord{
		RoleARN: f.Get("RoleArn"), RoleSessionName: f.Get("RoleSessionName"),
		ExternalID: f.Get("ExternalId"), At: s.now(),
	}
	fail := func(e *apiError) {
		rec.Error = e.code
		s.stats.assumed(rec)
		s.fail(c, e)
	}
	m := roleARNPattern.FindStringSubmatch(rec.RoleARN)
	if m == nil {
		fail(&apiError{status: 400, code: "ValidationError", message: fmt.Sprintf("%s is invalid", rec.RoleARN)})
		return
	}
	partition, account, roleName := m[1], m[2], m[3]
	rec.Account = account
	if !sessionNamePattern.MatchString(rec.RoleSessionName) {
		fail(&apiError{status: 400, code: "ValidationError", message: "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"})
		return
	}
	duration := int64(3600)
	if d := f.Get("DurationSeconds"); d != "" {
		v, err := strconv.ParseInt(d, 10, 32)
		if err != nil || v < 900 {
			fail(&apiError{status: 400, code: "ValidationError", message: "1 validation error detected: Value at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"})
			return
		}
		rec.DurationSeconds = int32(v)
		duration = v
	}
	if duration > int64(s.org.maxSessionSeconds) {
		fail(&apiError{status: 400, code: "ValidationError", message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."})
		return
	}
	if !s.mayAssume(c.who, partition, account, roleName, rec.ExternalID) {
		fail(&apiError{status: 403, code: "AccessDenied", message: fmt.Sprintf(
			"User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.who.arn(s.org.partition), rec.RoleARN)})
		return
	}
	lifetime := time.Duration(duration) * time.Second
	if s.opts.SessionLifetime > 0 {
		lifetime = s.opts.SessionLifetime
	}
	expires := s.now().Add(lifetime).Truncate(time.Millisecond)
	akid, sess := s.issue(account, roleName, rec.RoleSessionName, expires)
	rec.AccessKeyID, rec.Expiration = akid, expires
	s.stats.assumed(rec)

	var out assumeRoleResponse
	out.XMLNS = stsNamespace
	out.Result.AssumedRoleUser.AssumedRoleID = roleID(account) + ":" + rec.RoleSessionName
	out.Result.AssumedRoleUser.Arn = principal{account: account, session: sess}.arn(s.org.partition)
	out.Result.Credentials.AccessKeyID = akid
	out.Result.Credentials.SecretAccessKey = sess.secret
	out.Result.Credentials.SessionToken = sess.token
	out.Result.Credentials.Expiration = expires.UTC().Format("2006-01-02T15:04:05.000Z")
	out.Metadata.RequestID = c.id
	writeXML(c, &out)
}

// mayAssume applies the audit and remediation roles' trust policy: only
// the management account, the org's partition and either role's name, the external ID when one is
// configured, and an ACTIVE account whose role is not denied.
func (s *Server) mayAssume(who principal, partition, account, roleName, externalID string) bool {
	o := s.org
	i, ok := o.acctIdx[account]
	switch {
	case !ok, who.account != o.management, partition != o.partition, roleName != o.roleName && roleName != o.remediationRoleName:
		return false
	case o.externalID != "" && externalID != o.externalID:
		return false
	case o.accounts[i].State != StateActive, o.accounts[i].DenyAssume, s.denyAssume[account]:
		return false
	}
	return true
}

// roleID is the unique ID of the audit role in account.
func roleID(account string) string {
	return fmt.Sprintf("AROA%016X", mix(0x51, hashString(account)))
}

func hashString(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}
