package simorg

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// start serves org for the duration of the test.
func start(t testing.TB, org *Org, opts Options) *Server {
	t.Helper()
	srv, err := Start(org, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// sdkConfig is the configuration production code builds, pointed at srv
// through the SDK's standard base endpoint and signing with static keys.
func sdkConfig(t testing.TB, srv *Server, region string, creds aws.Credentials, opts ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	opts = append([]func(*config.LoadOptions) error{
		config.WithRegion(region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)),
		config.WithBaseEndpoint(srv.URL()),
	}, opts...)
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	return cfg
}

// managementConfig signs with the management account's static key.
func managementConfig(t testing.TB, srv *Server, region string, opts ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	return sdkConfig(t, srv, region, aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}, opts...)
}

// noRetries makes the SDK return the first error it gets.
func noRetries(o *config.LoadOptions) error {
	o.RetryMaxAttempts = 1
	return nil
}

// assume assumes the audit role in account and returns its credentials.
func assume(t testing.TB, srv *Server, account string) aws.Credentials {
	t.Helper()
	client := sts.NewFromConfig(managementConfig(t, srv, "us-east-1"))
	out, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String(srv.Org().RoleARN(account)),
		RoleSessionName: aws.String("simorg-test"),
	})
	if err != nil {
		t.Fatalf("AssumeRole %s: %v", account, err)
	}
	c := out.Credentials
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
}

// assumedConfig is a configuration signing as the audit role in account.
func assumedConfig(t testing.TB, srv *Server, account, region string, opts ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	return sdkConfig(t, srv, region, assume(t, srv, account), opts...)
}

// errorCode returns the API error code of err, or "" when it has none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// wantCode fails the test unless err carries the API error code want.
func wantCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := errorCode(err); got != want {
		t.Fatalf("error code = %q (err %v), want %q", got, err, want)
	}
}

// TestEndpointFromEnvironment configures the SDK the way the demo does:
// nothing but environment variables.
func TestEndpointFromEnvironment(t *testing.T) {
	srv := start(t, Default(), Options{})
	t.Setenv("AWS_ENDPOINT_URL", srv.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretAccessKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || *id.Account != "111111111111" {
		t.Fatalf("GetCallerIdentity = %+v, %v", id, err)
	}
	if got := srv.Stats().TargetCalls[Target{"111111111111", "eu-west-1"}]["GetCallerIdentity"]; got != 1 {
		t.Errorf("the call was not signed for eu-west-1: %v", srv.Stats().TargetCalls)
	}
}
