package simorg

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"strconv"
)

// protocol is a wire protocol the server speaks.
type protocol int

const (
	protoJSON  protocol = iota // awsJson1_1
	protoQuery                 // awsQuery (STS)
	protoEC2                   // ec2Query
	protoREST                  // restJson1 (Security Hub)
)

// op is an operation the server implements.
type op int

const (
	opUnknown op = iota
	opListAccounts
	opListAccountsForParent
	opListRoots
	opListOrganizationalUnitsForParent
	opListChildren
	opListParents
	opDescribeOrganization
	opDescribeAccount
	opAssumeRole
	opGetCallerIdentity
	opDescribeRegions
	opListTaskDefinitions
	opListTaskDefinitionFamilies
	opDescribeTaskDefinition
	opListClusters
	opListServices
	opDescribeServices
	opListTasks
	opDescribeTasks
	opBatchImportFindings
	opGetFindings
	opBatchUpdateFindings
	opRegisterTaskDefinition
	numOps
)

var (
	opNames = [numOps]string{"", "ListAccounts", "ListAccountsForParent", "ListRoots",
		"ListOrganizationalUnitsForParent", "ListChildren", "ListParents", "DescribeOrganization",
		"DescribeAccount", "AssumeRole", "GetCallerIdentity", "DescribeRegions",
		"ListTaskDefinitions", "ListTaskDefinitionFamilies", "DescribeTaskDefinition",
		"ListClusters", "ListServices", "DescribeServices", "ListTasks", "DescribeTasks",
		"BatchImportFindings", "GetFindings", "BatchUpdateFindings", "RegisterTaskDefinition"}
	opService = [numOps]string{"", "organizations", "organizations", "organizations",
		"organizations", "organizations", "organizations", "organizations",
		"organizations", "sts", "sts", "ec2", "ecs", "ecs", "ecs",
		"ecs", "ecs", "ecs", "ecs", "ecs",
		"securityhub", "securityhub", "securityhub", "ecs"}
	opByName = func() map[string]op {
		m := map[string]op{}
		for i := opUnknown + 1; i < numOps; i++ {
			m[opNames[i]] = i
		}
		return m
	}()
)

func (o op) String() string { return opNames[o] }

// apiError is an error response in the protocol-neutral form.
type apiError struct {
	status  int
	code    string
	message string
	reason  string // Organizations InvalidInputException's Reason
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// fail writes e in the shape of the call's protocol and counts it.
func (s *Server) fail(c *call, e *apiError) {
	s.stats.countError(e.code)
	h := c.w.Header()
	switch c.proto {
	case protoREST:
		writeRESTError(c, e)
	case protoJSON:
		body := map[string]string{"__type": e.code}
		// Organizations models Message, ECS message; the SDK reads either.
		if c.service == "organizations" {
			body["Message"] = e.message
		} else {
			body["message"] = e.message
		}
		if e.reason != "" {
			body["Reason"] = e.reason
		}
		b, _ := json.Marshal(body)
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Requestid", c.id)
		h.Set("X-Amzn-Errortype", e.code)
		writeBody(c.w, e.status, b)
	case protoQuery:
		typ := "Sender"
		if e.status >= 500 {
			typ = "Receiver"
		}
		var b bytes.Buffer
		b.WriteString(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>`)
		b.WriteString(typ)
		b.WriteString(`</Type><Code>`)
		xml.EscapeText(&b, []byte(e.code))
		b.WriteString(`</Code><Message>`)
		xml.EscapeText(&b, []byte(e.message))
		b.WriteString(`</Message></Error><RequestId>`)
		b.WriteString(c.id)
		b.WriteString("</RequestId></ErrorResponse>\n")
		h.Set("Content-Type", "text/xml")
		h.Set("X-Amzn-Requestid", c.id)
		writeBody(c.w, e.status, b.Bytes())
	case protoEC2:
		var b bytes.Buffer
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Response><Errors><Error><Code>")
		xml.EscapeText(&b, []byte(e.code))
		b.WriteString(`</Code><Message>`)
		xml.EscapeText(&b, []byte(e.message))
		b.WriteString(`</Message></Error></Errors><RequestID>`)
		b.WriteString(c.id)
		b.WriteString("</RequestID></Response>")
		h.Set("Content-Type", "text/xml;charset=UTF-8")
		writeBody(c.w, e.status, b.Bytes())
	}
}

// writeJSON writes a successful awsJson1_1 response.
func writeJSON(c *call, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the response types always marshal
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Set("X-Amzn-Requestid", c.id)
	writeBody(c.w, http.StatusOK, b)
}

// writeXML writes a successful Query or EC2 response; v must marshal to
// the whole document.
func writeXML(c *call, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		panic(err)
	}
	h := c.w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", c.id)
	writeBody(c.w, http.StatusOK, append([]byte(xml.Header), b...))
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b) //nolint:errcheck // nothing to do when the client has gone
}

// resetConnection closes the connection with a TCP reset, without a
// response.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		tcp.SetLinger(0) //nolint:errcheck // best effort: a FIN also fails the call
	}
	conn.Close()
}

// serverError is an injected 5xx of the call's service.
func serverError(c *call, n uint64) *apiError {
	unavailable := n%2 == 1
	switch {
	case unavailable && c.proto == protoEC2:
		return &apiError{status: 503, code: "Unavailable", message: "The server is overloaded and can't handle the request."}
	case unavailable:
		return &apiError{status: 503, code: "ServiceUnavailable", message: "Service is unavailable. Please try again later."}
	case c.service == "securityhub":
		return &apiError{status: 500, code: "InternalException", message: "Internal service error."}
	case c.service == "ecs":
		return &apiError{status: 500, code: "ServerException", message: "Service Unavailable. Please try again later."}
	case c.service == "organizations":
		return &apiError{status: 500, code: "ServiceException", message: "AWS Organizations can't complete your request because of an internal service error. Try again later."}
	case c.proto == protoEC2:
		return &apiError{status: 500, code: "InternalError", message: "An internal error has occurred."}
	default:
		return &apiError{status: 500, code: "InternalFailure", message: "The request processing has failed because of an unknown error, exception or failure."}
	}
}
