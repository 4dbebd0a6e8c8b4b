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

// findingRows evaluates every container of td: one row each. A task
// definition without containers gets one ERROR row, so it is never silent.
func findingRows(t target, td check.TaskDefinition, opts check.Options) []output.Finding {
	now := time.Now().UTC()
	base := output.Finding{
		ScannedAt: now, AccountID: t.account.ID, AccountName: output.Text(t.account.Name),
		OUPath: t.account.OUPath, OUNames: output.Text(t.account.OUNames), Region: t.region,
		TaskDefinitionARN: output.Text(td.ARN), Family: output.Text(td.Family), Revision: td.Revision,
		Status: output.Text(td.Status), NetworkMode: output.Text(td.NetworkMode), RegisteredAt: td.RegisteredAt.UTC(),
		RuleVersion: check.RuleVersion,
	}
	if td.NetworkMode == "" {
		base.NetworkMode = "bridge"
	}
	if len(td.Containers) == 0 {
		v := check.ErrorVerdict("task definition has no container definitions", opts)
		base.Result, base.Reason, base.Severity, base.RuleID = string(v.Result), v.Reason, v.Severity, v.RuleID
		return []output.Finding{base}
	}
	rows := make([]output.Finding, 0, len(td.Containers))
	for i, v := range check.Evaluate(td, opts) {
		c := td.Containers[i]
		f := base
		f.ContainerName, f.Image = output.Text(c.Name), output.Text(c.Image)
		f.Privileged = c.Privileged
		if c.User != nil {
			u := output.Text(*c.User)
			f.User = &u
		}
		f.UserUnset = v.UserUnset
		f.RuleID, f.Result, f.Reason, f.Severity = v.RuleID, string(v.Result), output.Text(v.Reason), v.Severity
		rows = append(rows, f)
	}
	return rows
}

// errorRow is the finding for a revision that could not be described.
func errorRow(t target, ref, reason string, opts check.Options) output.Finding {
	v := check.ErrorVerdict("describe failed: "+reason, opts)
	f := output.Finding{
		ScannedAt: time.Now().UTC(), AccountID: t.account.ID, AccountName: output.Text(t.account.Name),
		OUPath: t.account.OUPath, OUNames: output.Text(t.account.OUNames), Region: t.region,
		RuleID: v.RuleID, RuleVersion: check.RuleVersion, Result: string(v.Result),
		Reason: output.Text(v.Reason), Severity: v.Severity,
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
	return f
}
