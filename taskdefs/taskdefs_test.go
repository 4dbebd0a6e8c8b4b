package taskdefs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/budget"
	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/internal/simtest"
	"github.com/ecsaudit/ecsaudit/internal/virtualclock"
	"github.com/ecsaudit/ecsaudit/simorg"
	"github.com/ecsaudit/ecsaudit/taskdefs"
)

// ecsClient returns a real ECS client in the account's region, with the
// role's credentials, as the job builds it.
func ecsClient(t *testing.T, srv *simorg.Server, account, region string, b *budget.Budget) *ecs.Client {
	t.Helper()
	ctx := context.Background()
	cfg, err := srv.ClientConfig(ctx, region)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = assume.Credentials(sts.NewFromConfig(cfg), "aws", account, assume.Options{RoleName: "ecsaudit-read", SessionName: assume.SessionName("taskdefs-test")})
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		if b != nil {
			o.APIOptions = append(o.APIOptions, b.Attach)
		}
	})
}

func TestListModes(t *testing.T) {
	t.Parallel()
	// 250 revisions over 3 families, a fifth INACTIVE: several pages of 100.
	org := simorg.Generate(simorg.Spec{Seed: 3, Accounts: 2, Regions: 1, RevisionsPerRegion: 250, FamiliesPerRegion: 3, InactiveShare: 0.2})
	srv, _ := simtest.Start(t, org, simorg.Options{}, "us-east-1")
	acct := org.Accounts()[1].ID
	region := org.EnabledRegions(acct)[0]
	client := ecsClient(t, srv, acct, region, nil)

	var active, inactive []string
	families := map[string]bool{}
	for _, td := range org.TaskDefinitions(acct, region) {
		switch td.Status {
		case simorg.StatusActive:
			active = append(active, td.ARN)
			families[td.Family] = true
		case simorg.StatusInactive:
			inactive = append(inactive, td.ARN)
		}
	}
	ids := func(refs []taskdefs.Ref, status string) []string {
		var out []string
		for _, r := range refs {
			if r.Status == status {
				out = append(out, r.ID)
			}
		}
		slices.Sort(out)
		return out
	}
	slices.Sort(active)
	slices.Sort(inactive)

	ctx := context.Background()
	refs, err := taskdefs.List(ctx, client, taskdefs.Active)
	if err != nil || !slices.Equal(ids(refs, "ACTIVE"), active) || len(refs) != len(active) {
		t.Errorf("active: %d refs, want %d (%v)", len(refs), len(active), err)
	}
	refs, err = taskdefs.List(ctx, client, taskdefs.All)
	if err != nil || !slices.Equal(ids(refs, "ACTIVE"), active) || !slices.Equal(ids(refs, "INACTIVE"), inactive) {
		t.Errorf("all: %d refs, want %d + %d (%v)", len(refs), len(active), len(inactive), err)
	}
	refs, err = taskdefs.List(ctx, client, taskdefs.Latest)
	if err != nil || len(refs) != len(families) || refs[0].IsARN() {
		t.Fatalf("latest: %d refs, want one per active family (%d) (%v)", len(refs), len(families), err)
	}
	// Latest describes the family's newest ACTIVE revision.
	td, err := taskdefs.Describe(ctx, client, refs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var newest int32
	for _, s := range org.TaskDefinitions(acct, region) {
		if s.Family == refs[0].ID && s.Status == simorg.StatusActive {
			newest = max(newest, s.Revision)
		}
	}
	if td.Revision != newest {
		t.Errorf("family %s described as revision %d, want %d", refs[0].ID, td.Revision, newest)
	}
}

// TestDescribeKeepsAbsentFields: absent privileged, user and networkMode
// stay absent (nil, ""), as the rule must tell them from false and "".
func TestDescribeKeepsAbsentFields(t *testing.T) {
	t.Parallel()
	org := simorg.Default()
	srv, _ := simtest.Start(t, org, simorg.Options{}, "us-east-1")
	ctx := context.Background()
	var checked int
	for _, a := range []string{"333333333333", "444444444444"} {
		for _, region := range []string{"us-east-1", "ap-southeast-2"} {
			client := ecsClient(t, srv, a, region, nil)
			for _, want := range org.TaskDefinitions(a, region) {
				if want.Vanishes || want.Status != simorg.StatusActive {
					continue
				}
				got, err := taskdefs.Describe(ctx, client, want.ARN)
				if err != nil {
					t.Fatal(err)
				}
				if got.ARN != want.ARN || got.Family != want.Family || got.Revision != want.Revision || got.NetworkMode != want.NetworkMode || got.Status != "ACTIVE" {
					t.Errorf("%s: got %+v", want.ARN, got)
				}
				if len(got.Containers) != len(want.Containers) {
					t.Fatalf("%s: %d containers, want %d", want.ARN, len(got.Containers), len(want.Containers))
				}
				for i, c := range want.Containers {
					g := got.Containers[i]
					if g.Name != c.Name || g.Image != c.Image || !samePtr(g.Privileged, c.Privileged) || !samePtr(g.User, c.User) {
						t.Errorf("%s container %s: got %+v", want.ARN, c.Name, g)
					}
					checked++
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d containers checked", checked)
	}
}

func samePtr[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// TestBudgetCountsAndThrottles: the budget counts every attempt, retries
// included, and every throttled one, as the server saw them; and a client
// budget under the bucket's rate is never throttled. The budget and the
// simulated bucket share a virtual clock that moves only when the budget
// waits, so the times the server sees are the times the budget chose, on a
// loaded machine as on an idle one.
func TestBudgetCountsAndThrottles(t *testing.T) {
	t.Parallel()
	org := simorg.Generate(simorg.Spec{Seed: 9, Accounts: 2, Regions: 1, RevisionsPerRegion: 40})
	ctx := context.Background()
	for _, tt := range []struct {
		name       string
		rate       float64
		burst      int
		throttling bool
	}{
		{"above the bucket", 1000, 1, true},
		{"within the bucket", 8, 5, false},
		{"at the bucket's rate", 10, 5, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := virtualclock.New(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
			srv, _ := simtest.Start(t, org, simorg.Options{ECSLimit: simorg.Limit{Burst: 5, Rate: 10}, Clock: clock.Now}, "us-east-1")
			acct := org.Accounts()[1].ID
			region := org.EnabledRegions(acct)[0]
			b := budget.NewOnClock(tt.rate, tt.burst, clock)
			client := ecsClient(t, srv, acct, region, b)
			if tt.throttling {
				// No retries: their backoff sleeps on the real clock.
				client = ecs.New(client.Options(), func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
			}
			refs, err := taskdefs.List(ctx, client, taskdefs.Active)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range refs[:20] {
				// Above the bucket, retries may run out: only the counts matter.
				if _, err := taskdefs.Describe(ctx, client, r.ID); err != nil && !tt.throttling {
					t.Fatal(err)
				}
			}
			st := srv.Stats()
			var served int64
			for op, n := range st.TargetCalls[simorg.Target{Account: acct, Region: region}] {
				if op != "AssumeRole" {
					served += n
				}
			}
			if b.Calls() != served || b.Throttled() != st.TotalThrottled() {
				t.Errorf("budget counted %d calls, %d throttled; server saw %d, %d", b.Calls(), b.Throttled(), served, st.TotalThrottled())
			}
			if tt.throttling != (b.Throttled() > 0) {
				t.Errorf("%d throttled", b.Throttled())
			}
		})
	}
}

// TestGone: only ECS's "unable to describe" ClientException means a
// revision is gone; the simulator's other describe errors do not.
func TestGone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	org := simorg.Default()
	srv, _ := simtest.Start(t, org, simorg.Options{}, "us-east-1")
	client := ecsClient(t, srv, "333333333333", "us-east-1", nil)
	_, err := taskdefs.Describe(ctx, client, "node-exporter:2") // vanishes
	if err == nil || !taskdefs.Gone(err) {
		t.Errorf("vanished revision: Gone(%v) = false", err)
	}
	if _, err := taskdefs.Describe(ctx, client, "ledger:1"); err != nil || taskdefs.Gone(err) {
		t.Errorf("present revision: %v", err)
	}
	for _, e := range []error{
		&smithy.GenericAPIError{Code: "ClientException", Message: "The request was rejected because the task definition is being updated."},
		&smithy.GenericAPIError{Code: "AccessDeniedException", Message: "Unable to describe task definition"},
		&smithy.GenericAPIError{Code: "InvalidParameterException", Message: "Unable to describe task definition."},
		errors.New("Unable to describe task definition."),
	} {
		if taskdefs.Gone(fmt.Errorf("describe task definition: %w", e)) {
			t.Errorf("Gone(%v) = true", e)
		}
	}
}

// TestDescribeReadsHostAccessSettings: the settings the host-access rule
// reads come through the wire as the demo organization registers them,
// written out here by hand: pid mode, host volumes (a Docker local-driver
// volume with o=bind as the host path it binds), mounts, volumesFrom and
// added capabilities.
func TestDescribeReadsHostAccessSettings(t *testing.T) {
	t.Parallel()
	srv, _ := simtest.Start(t, simorg.Default(), simorg.Options{}, "us-east-1")
	ctx := context.Background()
	str := func(s string) *string { return &s }
	for _, tt := range []struct {
		account, arn string
		want         check.TaskDefinition // the fields under test only
	}{
		{"333333333333", "arn:aws:ecs:us-east-1:333333333333:task-definition/node-exporter:3", check.TaskDefinition{
			PIDMode: "host", Volumes: []check.Volume{{Name: "proc", HostPath: str("/proc")}, {Name: "sys", HostPath: str("/sys/")}},
			Containers: []check.Container{{Mounts: []check.Mount{{SourceVolume: "proc", ContainerPath: "/host/proc"}, {SourceVolume: "sys", ContainerPath: "/host/sys"}}}}}},
		{"444444444444", "arn:aws:ecs:eu-west-1:444444444444:task-definition/ci-runner:1", check.TaskDefinition{
			Volumes:    []check.Volume{{Name: "docker", HostPath: str("/var/run/docker.sock")}},
			Containers: []check.Container{{Mounts: []check.Mount{{SourceVolume: "docker", ContainerPath: "/var/run/docker.sock"}}}, {VolumesFrom: []string{"runner"}}}}},
		{"555555555555", "arn:aws:ecs:us-east-1:555555555555:task-definition/net-tools:1", check.TaskDefinition{
			Volumes:    []check.Volume{{Name: "rootfs", HostPath: str("/")}},
			Containers: []check.Container{{CapabilitiesAdded: []string{"cap_net_admin", "NET_RAW"}}, {Mounts: []check.Mount{{SourceVolume: "rootfs", ContainerPath: "/host"}}}}}},
		{"444444444444", "arn:aws:ecs:us-east-1:444444444444:task-definition/cache:2", check.TaskDefinition{
			Volumes:    []check.Volume{{Name: "data", HostPath: str("/data/redis")}},
			Containers: []check.Container{{CapabilitiesAdded: []string{"CHOWN"}, Mounts: []check.Mount{{SourceVolume: "data", ContainerPath: "/data"}}}}}},
	} {
		region := strings.Split(tt.arn, ":")[3]
		got, err := taskdefs.Describe(ctx, ecsClient(t, srv, tt.account, region, nil), tt.arn)
		if err != nil {
			t.Fatal(err)
		}
		if got.PIDMode != tt.want.PIDMode || got.IPCMode != "" || len(got.Volumes) != len(tt.want.Volumes) || len(got.Containers) != len(tt.want.Containers) {
			t.Fatalf("%s: %+v", tt.arn, got)
		}
		for i, v := range tt.want.Volumes {
			if g := got.Volumes[i]; g.Name != v.Name || !samePtr(g.HostPath, v.HostPath) {
				t.Errorf("%s volume %d: %s %v, want %s %s", tt.arn, i, g.Name, g.HostPath, v.Name, *v.HostPath)
			}
		}
		for i, c := range tt.want.Containers {
			g := got.Containers[i]
			if !slices.Equal(g.CapabilitiesAdded, c.CapabilitiesAdded) || !slices.Equal(g.Mounts, c.Mounts) || !slices.Equal(g.VolumesFrom, c.VolumesFrom) || len(g.Devices) != 0 {
				t.Errorf("%s container %d: %+v, want %+v", tt.arn, i, g, c)
			}
		}
	}
}
