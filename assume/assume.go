// Package assume turns an account id into credentials for ecsaudit's
// read-only role in that account, cached and refreshed before they expire.
package assume

import (
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
)

var (
	roleNamePattern    = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	sessionNameAllowed = regexp.MustCompile(`[^\w+=,.@-]`)
)

// ValidateRoleName checks an IAM role name (no path).
func ValidateRoleName(name string) error {
	if !roleNamePattern.MatchString(name) {
		return fmt.Errorf("role name %q: want 1-64 characters of letters, digits and +=,.@_-", name)
	}
	return nil
}

// ValidateExternalID checks an sts:ExternalId value; empty means none.
func ValidateExternalID(id string) error {
	if id != "" && (len(id) < 2 || len(id) > 1224 || !externalIDPattern.MatchString(id)) {
		return fmt.Errorf("external id: want 2-1224 characters of letters, digits and +=,.@:/-_")
	}
	return nil
}

// RoleARN returns the ARN of roleName in the account, in the account's
// partition (aws, aws-cn, aws-us-gov).
func RoleARN(partition, accountID, roleName string) string {
	if partition == "" {
		partition = "aws"
	}
	return "arn:" + partition + ":iam::" + accountID + ":role/" + roleName
}

// SessionName returns an STS role session name that carries the run id, so
// every call of the run can be found in each account's CloudTrail.
func SessionName(runID string) string {
	s := sessionNameAllowed.ReplaceAllString("ecsaudit-"+runID, "-")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// Options are the role assumption's parameters, the same for every account.
type Options struct {
	RoleName    string
	ExternalID  string
	SessionName string
	Duration    time.Duration // zero: STS's default, one hour
}

// Credentials returns a cached provider of the role's credentials in one
// account. One provider serves all of the account's regional clients; the
// cache refreshes the credentials before they expire (see RenewOnExpiry for
// when AWS disagrees).
func Credentials(api stscreds.AssumeRoleAPIClient, partition, accountID string, o Options) *aws.CredentialsCache {
	p := stscreds.NewAssumeRoleProvider(api, RoleARN(partition, accountID, o.RoleName), func(ao *stscreds.AssumeRoleOptions) {
		ao.RoleSessionName = o.SessionName
		if o.ExternalID != "" {
			ao.ExternalID = aws.String(o.ExternalID)
		}
		if o.Duration > 0 {
			ao.Duration = o.Duration
		}
	})
	return aws.NewCredentialsCache(windowed{p}, func(co *aws.CredentialsCacheOptions) {
		co.ExpiryWindow = 5 * time.Minute
		co.ExpiryWindowJitterFrac = 0.2
	})
}
