package simorg

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

func TestOneSecondWindow(t *testing.T) {
	t.Parallel()
	base := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		offsets []time.Duration
		want    int64
	}{
		{"one burst", []time.Duration{0, 1, 2, 3, 4}, 5},
		{"spread over more than a second", []time.Duration{0, 600 * time.Millisecond, 1200 * time.Millisecond, 1800 * time.Millisecond}, 2},
		{"window slides over a boundary", []time.Duration{900 * time.Millisecond, 950 * time.Millisecond, 1100 * time.Millisecond, 1500 * time.Millisecond, 2100 * time.Millisecond}, 4},
		{"a long gap empties the window", []time.Duration{0, 1, 2, 10 * time.Second}, 3},
		{"late arrival within the window counts", []time.Duration{500 * time.Millisecond, 400 * time.Millisecond}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ts targetStats
			for _, d := range tt.offsets {
				ts.record(opDescribeTaskDefinition, base.Add(d))
			}
			if ts.max != tt.want {
				t.Errorf("max = %d, want %d", ts.max, tt.want)
			}
			if got := ts.calls[opDescribeTaskDefinition].Load(); got != int64(len(tt.offsets)) {
				t.Errorf("calls = %d", got)
			}
		})
	}
	var ts targetStats
	ts.record(opDescribeRegions, base)
	if ts.max != 0 {
		t.Error("an EC2 call entered the ECS window")
	}
}

// TestConcurrentScan hammers one server from many goroutines, as the
// benchmark does, and checks the counters add up.
func TestConcurrentScan(t *testing.T) {
	t.Parallel()
	org := Generate(Spec{Seed: 11, Accounts: 4, Regions: 2, RevisionsPerRegion: 30})
	srv := start(t, org, Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	described := 0
	for _, acct := range org.Accounts() {
		for _, region := range org.EnabledRegions(acct.ID) {
			client := ecs.NewFromConfig(assumedConfig(t, srv, acct.ID, region))
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := client.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{})
				if err != nil {
					t.Error(err)
					return
				}
				for _, arn := range out.TaskDefinitionArns {
					if _, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					described++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	st := srv.Stats()
	if described != 4*2*30 || st.Calls["DescribeTaskDefinition"] != int64(described) {
		t.Errorf("described %d, server counted %d", described, st.Calls["DescribeTaskDefinition"])
	}
	for _, acct := range org.Accounts() {
		tgt := Target{acct.ID, "us-east-1"}
		if st.TargetCalls[tgt]["DescribeTaskDefinition"] != 30 || st.MaxECSPerSecond[tgt] < 1 {
			t.Errorf("%v: calls %v, max per second %d", tgt, st.TargetCalls[tgt], st.MaxECSPerSecond[tgt])
		}
	}

	srv.ResetStats()
	if st := srv.Stats(); st.Requests != 0 || len(st.Calls) != 0 || len(st.TargetCalls) != 0 || len(st.Assumes) != 0 {
		t.Errorf("after ResetStats: %+v", st)
	}
}
