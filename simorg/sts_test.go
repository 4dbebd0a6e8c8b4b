package simorg

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecsaudit/ecsaudit/internal/virtualclock"
)

// externalIDOrg is the Default organization with an external ID required.
func externalIDOrg(t *testing.T) *Org {
	t.Helper()
	var f Fixture
	if err := json.Unmarshal(DefaultFixture(), &f); err != nil {
		t.Fatal(err)
	}
	f.ExternalID = "ext-4242"
	org, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	return org
}

func TestAssumeRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		org        *Org
		opts       Options
		roleARN    string
		externalID string
		duration   int32
		want       string // error code, "" for success
	}{
		{name: "member account", org: Default(), roleARN: "arn:aws:iam::333333333333:role/ecsaudit-read"},
		{name: "management account itself", org: Default(), roleARN: "arn:aws:iam::111111111111:role/ecsaudit-read"},
		{name: "role path is allowed", org: Default(), roleARN: "arn:aws:iam::444444444444:role/audit/ecsaudit-read"},
		{name: "fixture denies the role", org: Default(), roleARN: "arn:aws:iam::222222222222:role/ecsaudit-read", want: "AccessDenied"},
		{name: "options deny the role", org: Default(), opts: Options{DenyAssume: []string{"555555555555"}}, roleARN: "arn:aws:iam::555555555555:role/ecsaudit-read", want: "AccessDenied"},
		{name: "suspended account", org: Default(), roleARN: "arn:aws:iam::666666666666:role/ecsaudit-read", want: "AccessDenied"},
		{name: "account outside the org", org: Default(), roleARN: "arn:aws:iam::999999999999:role/ecsaudit-read", want: "AccessDenied"},
		{name: "other role name", org: Default(), roleARN: "arn:aws:iam::333333333333:role/admin", want: "AccessDenied"},
		{name: "other partition", org: Default(), roleARN: "arn:aws-cn:iam::333333333333:role/ecsaudit-read", want: "AccessDenied"},
		{name: "malformed ARN", org: Default(), roleARN: "arn:aws:iam::3333:role/ecsaudit-read", want: "ValidationError"},
		{name: "longer than the role allows", org: Default(), roleARN: "arn:aws:iam::333333333333:role/ecsaudit-read", duration: 7200, want: "ValidationError"},
		{name: "external ID required and given", org: externalIDOrg(t), roleARN: "arn:aws:iam::333333333333:role/ecsaudit-read", externalID: "ext-4242"},
		{name: "external ID required and missing", org: externalIDOrg(t), roleARN: "arn:aws:iam::333333333333:role/ecsaudit-read", want: "AccessDenied"},
		{name: "external ID wrong", org: externalIDOrg(t), roleARN: "arn:aws:iam::333333333333:role/ecsaudit-read", externalID: "ext-4243", want: "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t, tt.org, tt.opts)
			client := sts.NewFromConfig(managementConfig(t, srv, "us-east-1"))
			in := &sts.AssumeRoleInput{RoleArn: aws.String(tt.roleARN), RoleSessionName: aws.String("ecsaudit-" + strings.ReplaceAll(tt.name, " ", "-"))}
			if tt.externalID != "" {
				in.ExternalId = aws.String(tt.externalID)
			}
			if tt.duration != 0 {
				in.DurationSeconds = aws.Int32(tt.duration)
			}
			before := time.Now()
			out, err := client.AssumeRole(context.Background(), in)
			if tt.want != "" {
				wantCode(t, err, tt.want)
			} else {
				if err != nil {
					t.Fatalf("AssumeRole: %v", err)
				}
				exp := *out.Credentials.Expiration
				if exp.Before(before.Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
					t.Errorf("Expiration %v is not an hour from now", exp)
				}
				if !strings.HasPrefix(*out.Credentials.AccessKeyId, "ASIA") || *out.Credentials.SessionToken == "" {
					t.Errorf("Credentials = %+v", out.Credentials)
				}
			}
			recs := srv.Stats().Assumes
			if len(recs) != 1 || recs[0].RoleSessionName != *in.RoleSessionName || recs[0].ExternalID != tt.externalID ||
				recs[0].RoleARN != tt.roleARN || recs[0].Error != tt.want {
				t.Errorf("Assumes = %+v", recs)
			}
		})
	}
}

// TestAssumedCredentialsLandInTheAccount uses the SDK's own stscreds
// provider, as production does, and checks calls land in the account.
func TestAssumedCredentialsLandInTheAccount(t *testing.T) {
	t.Parallel()
	org := Default()
	srv := start(t, org, Options{})
	mgmt := managementConfig(t, srv, "us-east-1")
	cfg := mgmt.Copy()
	cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(mgmt), org.RoleARN("333333333333"),
		func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "ecsaudit-night"
			o.ExternalID = aws.String("ignored-when-unset")
		}))
	ctx := context.Background()

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Account != "333333333333" || *id.Arn != "arn:aws:sts::333333333333:assumed-role/ecsaudit-read/ecsaudit-night" {
		t.Fatalf("GetCallerIdentity = %+v, %v", id, err)
	}
	out, err := ecs.NewFromConfig(cfg).ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{})
	if err != nil || len(out.TaskDefinitionArns) == 0 {
		t.Fatalf("ListTaskDefinitions = %+v, %v", out, err)
	}
	for _, arn := range out.TaskDefinitionArns {
		if !strings.HasPrefix(arn, "arn:aws:ecs:us-east-1:333333333333:task-definition/") {
			t.Errorf("ARN %s is not in 333333333333/us-east-1", arn)
		}
	}
	recs := srv.Stats().Assumes
	if len(recs) != 1 || recs[0].RoleSessionName != "ecsaudit-night" || recs[0].ExternalID != "ignored-when-unset" {
		t.Errorf("Assumes = %+v", recs)
	}
	if got := srv.Stats().TargetCalls[Target{"333333333333", "us-east-1"}]["ListTaskDefinitions"]; got != 1 {
		t.Errorf("TargetCalls for 333333333333/us-east-1 ListTaskDefinitions = %d, want 1", got)
	}
}

func TestExpiredSession(t *testing.T) {
	t.Parallel()
	// The sessions expire on the server's clock, which only this test moves.
	clock := virtualclock.New(time.Now())
	srv := start(t, Default(), Options{SessionLifetime: 400 * time.Millisecond, Clock: clock.Now})
	client := sts.NewFromConfig(managementConfig(t, srv, "us-east-1"))
	out, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::444444444444:role/ecsaudit-read"), RoleSessionName: aws.String("short"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if left := out.Credentials.Expiration.Sub(clock.Now()); left <= 0 || left > 400*time.Millisecond {
		t.Fatalf("Expiration is %v away, want within 400ms", left)
	}
	c := out.Credentials
	creds := aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken}
	ecsClient := ecs.NewFromConfig(sdkConfig(t, srv, "us-east-1", creds, noRetries))
	if _, err := ecsClient.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{}); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	clock.Advance(out.Credentials.Expiration.Sub(clock.Now()) + 10*time.Millisecond)

	_, err = ecsClient.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{})
	wantCode(t, err, "ExpiredTokenException")
	_, err = sts.NewFromConfig(sdkConfig(t, srv, "us-east-1", creds, noRetries)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	wantCode(t, err, "ExpiredToken")
	_, err = ec2.NewFromConfig(sdkConfig(t, srv, "us-east-1", creds, noRetries)).DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{})
	wantCode(t, err, "RequestExpired")
}

func TestExpireSessions(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	cfg := assumedConfig(t, srv, "333333333333", "us-east-1", noRetries)
	client := ecs.NewFromConfig(cfg)
	if _, err := client.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{}); err != nil {
		t.Fatal(err)
	}
	srv.ExpireSessions()
	_, err := client.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{})
	wantCode(t, err, "ExpiredTokenException")
	// The management key never expires and fresh sessions work.
	fresh := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1"))
	if _, err := fresh.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{}); err != nil {
		t.Errorf("fresh session: %v", err)
	}
}
