package assume

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// windowed is the role's provider with an expiry window that fits its
// sessions: the cache refreshes credentials its window ahead of their
// expiry, but never more than half their remaining life ahead. Without the
// cap, a session shorter than the window would be assumed afresh for every
// call.
type windowed struct{ *stscreds.AssumeRoleProvider }

var _ aws.AdjustExpiresByCredentialsCacheStrategy = windowed{}

// AdjustExpiresBy moves the expiry of c earlier by the cache's window
// (d is negative), or by half the time left if that is less.
func (windowed) AdjustExpiresBy(c aws.Credentials, d time.Duration) (aws.Credentials, error) {
	if !c.CanExpire {
		return c, nil
	}
	if half := time.Until(c.Expires) / 2; -d > half {
		d = -max(half, 0)
	}
	c.Expires = c.Expires.Add(d)
	return c, nil
}

// expiredCodes are AWS's answers to a request signed with expired
// credentials: Query services such as STS, JSON services such as ECS, EC2.
var expiredCodes = map[string]bool{"ExpiredToken": true, "ExpiredTokenException": true, "RequestExpired": true}

// RenewOnExpiry returns client middleware for a client that signs with
// creds, a provider from Credentials. When AWS answers that the credentials
// have expired although the cache held them good — a skewed clock, a
// session revoked early — it drops them from the cache and makes the error
// retryable, so that the retry assumes the role afresh instead of failing
// the call. Add it to the client's APIOptions.
func RenewOnExpiry(creds aws.CredentialsProvider) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		c, ok := creds.(interface{ Invalidate() })
		if !ok {
			return nil
		}
		return stack.Finalize.Insert(renewal{c}, "Retry", middleware.After)
	}
}

// renewal runs once per attempt, after the retryer.
type renewal struct{ cache interface{ Invalidate() } }

// ID names the middleware.
func (renewal) ID() string { return "ecsaudit.RenewOnExpiry" }

// HandleFinalize sends the attempt; on an expired-credentials answer it
// invalidates the cache and marks the error retryable.
func (r renewal) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleFinalize(ctx, in)
	var ae smithy.APIError
	if err != nil && errors.As(err, &ae) && expiredCodes[ae.ErrorCode()] {
		r.cache.Invalidate()
		err = expiredError{err}
	}
	return out, md, err
}

// expiredError is an expired-credentials error the retryer may retry.
type expiredError struct{ error }

func (e expiredError) Unwrap() error        { return e.error }
func (e expiredError) RetryableError() bool { return true }
