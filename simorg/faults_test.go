package simorg

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

func listOnce(client *ecs.Client) error {
	_, err := client.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{})
	return err
}

func TestThrottlingIsWhatTheSDKCallsAThrottle(t *testing.T) {
	t.Parallel()
	// A clock that never moves: the bucket never refills, however long the
	// five calls take.
	stopped := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	srv := start(t, Default(), Options{ECSLimit: Limit{Burst: 3, Rate: 0.5}, Clock: func() time.Time { return stopped }})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1", noRetries))
	var errs []error
	for range 5 {
		errs = append(errs, listOnce(client))
	}
	for i, err := range errs[:3] {
		if err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	for _, err := range errs[3:] {
		wantCode(t, err, "ThrottlingException")
		if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
			t.Errorf("the SDK does not classify %v as a throttle", err)
		}
		if !strings.Contains(err.Error(), "Rate exceeded") {
			t.Errorf("message = %v", err)
		}
	}
	st := srv.Stats()
	target := Target{"333333333333", "us-east-1"}
	if st.Throttled["ListTaskDefinitions"] != 2 || st.TotalThrottled() != 2 || st.MaxECSPerSecond[target] != 5 {
		t.Errorf("Throttled = %v, MaxECSPerSecond = %v", st.Throttled, st.MaxECSPerSecond)
	}
	// Another (account, region) has a bucket of its own.
	other := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "ap-southeast-2", noRetries))
	if err := listOnce(other); err != nil {
		t.Errorf("other region: %v", err)
	}
}

func TestStandardRetryerRidesOutThrottling(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{ECSLimit: Limit{Burst: 1, Rate: 20}})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1", func(o *config.LoadOptions) error {
		o.RetryMaxAttempts = 20
		return nil
	}))
	for i := range 4 {
		if err := listOnce(client); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	st := srv.Stats()
	if st.Throttled["ListTaskDefinitions"] == 0 || st.Calls["ListTaskDefinitions"] != 4+st.Throttled["ListTaskDefinitions"] {
		t.Errorf("calls %d, throttled %d: the retryer should have retried every throttle", st.Calls["ListTaskDefinitions"], st.Throttled["ListTaskDefinitions"])
	}
}

func TestLimitScale(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{ECSLimit: Limit{Burst: 50, Rate: 20}, LimitScale: 0.04}) // burst 2
	client := ecs.NewFromConfig(assumedConfig(t, srv, "444444444444", "us-east-1", noRetries))
	errs := []error{listOnce(client), listOnce(client), listOnce(client)}
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("within the scaled burst: %v", errs)
	}
	wantCode(t, errs[2], "ThrottlingException")
}

func TestInjectedServerErrors(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{ErrorShare: 1, FaultOperations: []string{"DescribeTaskDefinition"}})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1", noRetries))
	if err := listOnce(client); err != nil {
		t.Fatalf("an operation outside FaultOperations failed: %v", err)
	}
	for range 2 { // alternates 500 and 503
		_, err := client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("ledger")})
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || (re.HTTPStatusCode() != 500 && re.HTTPStatusCode() != 503) {
			t.Fatalf("err = %v, want a 5xx", err)
		}
		if !retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool() {
			t.Errorf("the SDK would not retry %v", err)
		}
	}
	if got := srv.Stats().Injected5xx; got != 2 {
		t.Errorf("Injected5xx = %d, want 2", got)
	}
}

func TestConnectionResets(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{ResetShare: 1, FaultOperations: []string{"ListTaskDefinitions"}})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1", noRetries))
	err := listOnce(client)
	if err == nil || errorCode(err) != "" {
		t.Fatalf("err = %v, want a transport error", err)
	}
	if !retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool() {
		t.Errorf("the SDK would not retry %v", err)
	}
	if got := srv.Stats().Resets; got != 1 {
		t.Errorf("Resets = %d, want 1", got)
	}
}

// TestRetryerRidesOutFaults checks a seeded mix of faults is survivable
// with the SDK's standard retryer, and that every fault kind happened.
func TestRetryerRidesOutFaults(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{Seed: 7, ErrorShare: 0.2, ResetShare: 0.2, SlowShare: 0.2, SlowDelay: time.Millisecond,
		FaultOperations: []string{"ListTaskDefinitions"}})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1", func(o *config.LoadOptions) error {
		o.RetryMaxAttempts = 10
		o.Retryer = func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = 10
				so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
				so.RateLimiter = noRateLimit{}
			})
		}
		return nil
	}))
	for i := range 30 {
		if err := listOnce(client); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	st := srv.Stats()
	if st.Injected5xx == 0 || st.Resets == 0 || st.Slow == 0 {
		t.Errorf("Injected5xx %d, Resets %d, Slow %d: want some of each", st.Injected5xx, st.Resets, st.Slow)
	}
}

// noRateLimit turns off the retryer's client-side retry quota.
type noRateLimit struct{}

func (noRateLimit) GetToken(context.Context, uint) (func() error, error) {
	return func() error { return nil }, nil
}
func (noRateLimit) AddTokens(uint) error { return nil }

func TestLatency(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{Latency: 60 * time.Millisecond, LatencyJitter: 20 * time.Millisecond})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1"))
	begin := time.Now()
	if err := listOnce(client); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d < 60*time.Millisecond {
		t.Errorf("call took %v, want at least the 60ms latency", d)
	}
}

func TestOptionsAreValidated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"share above one", Options{ErrorShare: 1.5}, "ErrorShare"},
		{"negative latency", Options{Latency: -time.Second}, "Latency"},
		{"burst without rate", Options{ECSLimit: Limit{Burst: 5}}, "ECSLimit"},
		{"unknown fault operation", Options{FaultOperations: []string{"DeleteEverything"}}, "DeleteEverything"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, err := Start(Default(), tt.opts)
			if err == nil {
				srv.Close()
				t.Fatal("Start accepted invalid options")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
		})
	}
}
