package job

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
)

// deniedCodes are the error codes that mean "not allowed here" (a missing
// role, an SCP, a region the account has not enabled) rather than "broken".
var deniedCodes = map[string]bool{
	"AccessDenied":                true,
	"AccessDeniedException":       true,
	"UnauthorizedOperation":       true,
	"UnrecognizedClientException": true,
	"AuthFailure":                 true,
	"OptInRequired":               true,
	"InvalidClientTokenId":        true,
}

// classify turns an error into a coverage status, an error code and a
// message fit for the output.
func classify(err error) (status, code, msg string) {
	var ae smithy.APIError
	switch {
	case errors.Is(err, context.Canceled):
		return Failed, "Interrupted", "the run was stopped: " + err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return Failed, "Timeout", err.Error()
	case errors.As(err, &ae):
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
		if deniedCodes[code] {
			return Denied, code, output.Text(msg)
		}
		return Failed, code, output.Text(msg)
	}
	return Failed, "RequestFailed", output.Text(err.Error())
}

// findingRows evaluates every container of td: one row each under the
// control and, when it is on, one each under the host-access rule for a
// host-network task definition. A task definition without containers gets
// an ERROR row per rule, so it is never silent.
func findingRows(t target, td check.TaskDefinition, opts check.Options) []output.Finding {
	now := time.Now().UTC()
	base := output.Finding{
		ScannedAt: now, AccountID: t.account.ID, AccountName: output.Text(t.account.Name),
		OUPath: t.account.OUPath, OUNames: output.Text(t.account.OUNames), Region: t.region,
		TaskDefinitionARN: output.Text(td.ARN), Family: output.Text(td.Family), Revision: td.Revision,
		Status: output.Text(td.Status), NetworkMode: output.Text(td.NetworkMode), RegisteredAt: td.RegisteredAt.UTC(),
	}
	if td.NetworkMode == "" {
		base.NetworkMode = "bridge"
	}
	if len(td.Containers) == 0 {
		vs := check.ErrorVerdicts("task definition has no container definitions", opts)
		rows := make([]output.Finding, 0, len(vs))
		for _, v := range vs {
			rows = append(rows, withVerdict(base, v))
		}
		return rows
	}
	verdicts := check.Evaluate(td, opts)
	var hostAccess []check.Verdict
	if opts.HostAccess {
		hostAccess = check.EvaluateHostAccess(td) // in the same pass, from the same describe
	}
	rows := make([]output.Finding, 0, len(verdicts)+len(hostAccess))
	for i, v := range append(verdicts, hostAccess...) {
		c := td.Containers[i%len(td.Containers)] // each rule has one verdict per container, in order
		f := base
		f.ContainerName, f.Image = output.Text(c.Name), output.Text(c.Image)
		f.Privileged = c.Privileged
		if c.User != nil {
			u := output.Text(*c.User)
			f.User = &u
		}
		f.UserUnset = v.UserUnset
		rows = append(rows, withVerdict(f, v))
	}
	return rows
}

// withVerdict is row f with verdict v's rule, result, reason and severity.
func withVerdict(f output.Finding, v check.Verdict) output.Finding {
	f.RuleID, f.RuleVersion = v.RuleID, v.RuleVersion
	f.Result, f.Reason, f.Severity = string(v.Result), output.Text(v.Reason), v.Severity
	return f
}

// errorRows are the findings for a revision that could not be described,
// one per rule in force.
func errorRows(t target, ref, reason string, opts check.Options) []output.Finding {
	f := output.Finding{
		ScannedAt: time.Now().UTC(), AccountID: t.account.ID, AccountName: output.Text(t.account.Name),
		OUPath: t.account.OUPath, OUNames: output.Text(t.account.OUNames), Region: t.region,
	}
	if strings.HasPrefix(ref, "arn:") {
		f.TaskDefinitionARN = output.Text(ref)
		ref = ref[strings.LastIndexByte(ref, '/')+1:]
	}
	family, rev, _ := strings.Cut(ref, ":")
	f.Family = output.Text(family)
	if n, err := strconv.ParseInt(rev, 10, 32); err == nil {
		f.Revision = int32(n)
	}
	var rows []output.Finding
	for _, v := range check.ErrorVerdicts("describe failed: "+reason, opts) {
		rows = append(rows, withVerdict(f, v))
	}
	return rows
}
