package assume_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/internal/simtest"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// TestShortSessionsAreReused: sessions shorter than the cache's five-minute
// window are still reused for half their life, not assumed for every call.
func TestShortSessionsAreReused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, cfg := simtest.Start(t, simorg.Default(), simorg.Options{SessionLifetime: 2 * time.Second}, "us-east-1")
	creds := assume.Credentials(sts.NewFromConfig(cfg), "aws", "333333333333",
		assume.Options{RoleName: "ecsaudit-read", SessionName: "ecsaudit-test"})
	begin := time.Now() // the session is issued after this
	first, err := creds.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Reuse is due for a second from issue; a loaded machine that is slow
	// to get here checks less, never wrongly.
	for range 5 {
		if time.Since(begin) >= 900*time.Millisecond {
			break
		}
		if c, _ := creds.Retrieve(ctx); c.AccessKeyID != first.AccessKeyID {
			t.Fatal("a 2 s session was not reused within its first second")
		}
	}
	time.Sleep(1100 * time.Millisecond)
	if c, _ := creds.Retrieve(ctx); c.AccessKeyID == first.AccessKeyID {
		t.Error("a 2 s session was still used after half its life")
	}
	if n := len(srv.Stats().Assumes); n != 2 {
		t.Errorf("%d AssumeRole calls, want 2", n)
	}
}

// TestRenewOnExpiry: when AWS says the cached credentials have expired
// (here every session is revoked at once), a client with RenewOnExpiry
// assumes the role afresh and its call succeeds; one without fails.
func TestRenewOnExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, cfg := simtest.Start(t, simorg.Default(), simorg.Options{}, "us-east-1")
	stsClient := sts.NewFromConfig(cfg)
	client := func(renew bool) *ecs.Client {
		c := cfg.Copy()
		c.Credentials = assume.Credentials(stsClient, "aws", "333333333333",
			assume.Options{RoleName: "ecsaudit-read", SessionName: "ecsaudit-test"})
		return ecs.NewFromConfig(c, func(o *ecs.Options) {
			if renew {
				o.APIOptions = append(o.APIOptions, assume.RenewOnExpiry(c.Credentials))
			}
		})
	}
	renewing, plain := client(true), client(false)
	for _, c := range []*ecs.Client{renewing, plain} {
		if _, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{}); err != nil {
			t.Fatal(err)
		}
	}
	srv.ExpireSessions()
	if _, err := renewing.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{}); err != nil {
		t.Errorf("with RenewOnExpiry: %v", err)
	}
	if _, err := plain.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{}); err == nil {
		t.Error("without RenewOnExpiry the revoked session still worked: the test proves nothing")
	}
	if n := len(srv.Stats().Assumes); n != 3 {
		t.Errorf("%d AssumeRole calls, want 3 (two clients, one renewal)", n)
	}
}
