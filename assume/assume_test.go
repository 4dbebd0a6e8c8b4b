package assume_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/internal/simtest"
	"github.com/ecsaudit/ecsaudit/simorg"
)

func TestRoleARN(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ partition, want string }{
		{"aws", "arn:aws:iam::123456789012:role/ecsaudit-read"},
		{"aws-cn", "arn:aws-cn:iam::123456789012:role/ecsaudit-read"},
		{"aws-us-gov", "arn:aws-us-gov:iam::123456789012:role/ecsaudit-read"},
		{"", "arn:aws:iam::123456789012:role/ecsaudit-read"},
	} {
		if got := assume.RoleARN(tt.partition, "123456789012", "ecsaudit-read"); got != tt.want {
			t.Errorf("RoleARN(%q) = %s", tt.partition, got)
		}
	}
}

func TestSessionName(t *testing.T) {
	t.Parallel()
	if got := assume.SessionName("20261128T010203Z-abc"); got != "ecsaudit-20261128T010203Z-abc" {
		t.Errorf("got %s", got)
	}
	long := assume.SessionName(strings.Repeat("x", 100) + " bad/chars")
	if len(long) != 64 || strings.ContainsAny(long, " /") {
		t.Errorf("got %q (%d)", long, len(long))
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"ecsaudit-read", "a", "Role+=,.@_-1"} {
		if err := assume.ValidateRoleName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "a b", strings.Repeat("r", 65), "rôle"} {
		if assume.ValidateRoleName(bad) == nil {
			t.Errorf("role name %q accepted", bad)
		}
	}
	for _, bad := range []string{"x", "a b", strings.Repeat("e", 1225)} {
		if assume.ValidateExternalID(bad) == nil {
			t.Errorf("external id %q accepted", bad)
		}
	}
	if err := assume.ValidateExternalID(""); err != nil {
		t.Errorf("empty external id: %v", err)
	}
}

// TestCredentials assumes the role through the real STS client: the
// session name and external id reach STS, and a denied account's error
// keeps its AWS error code for the coverage row.
func TestCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, cfg := simtest.Start(t, simorg.Default(), simorg.Options{}, "us-east-1")
	api := sts.NewFromConfig(cfg)
	o := assume.Options{RoleName: "ecsaudit-read", ExternalID: "ext-1234", SessionName: assume.SessionName("run-1")}

	creds := assume.Credentials(api, "aws", "333333333333", o)
	c, err := creds.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID == "" || c.SessionToken == "" || !c.CanExpire {
		t.Errorf("credentials %+v", c)
	}
	if _, err := creds.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	as := srv.Stats().Assumes
	if len(as) != 1 {
		t.Fatalf("%d AssumeRole calls, want 1 (the cache serves the second Retrieve)", len(as))
	}
	if as[0].RoleARN != "arn:aws:iam::333333333333:role/ecsaudit-read" || as[0].RoleSessionName != "ecsaudit-run-1" || as[0].ExternalID != "ext-1234" {
		t.Errorf("AssumeRole saw %+v", as[0])
	}

	_, err = assume.Credentials(api, "aws", "222222222222", o).Retrieve(ctx)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("denied account: %v", err)
	}
}
