package simorg

import (
	"context"
	"math"
	"reflect"
	"runtime"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
)

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	spec := Spec{Seed: 42, Accounts: 4, Regions: 2, RevisionsPerRegion: 23, FamiliesPerRegion: 5, NonCompliantShare: 0.3, InactiveShare: 0.2}
	a, b := Generate(spec), Generate(spec)
	if a.ID() != b.ID() || !reflect.DeepEqual(a.Accounts(), b.Accounts()) {
		t.Fatalf("same spec, different orgs: %s %s", a.ID(), b.ID())
	}
	for _, acct := range a.Accounts() {
		for _, region := range a.EnabledRegions(acct.ID) {
			if !reflect.DeepEqual(a.TaskDefinitions(acct.ID, region), b.TaskDefinitions(acct.ID, region)) {
				t.Errorf("%s/%s differs between two generations", acct.ID, region)
			}
		}
	}
	spec.Seed = 43
	c := Generate(spec)
	first := a.Accounts()[1].ID
	if reflect.DeepEqual(a.TaskDefinitions(first, "us-east-1"), c.TaskDefinitions(c.Accounts()[1].ID, "us-east-1")) {
		t.Error("another seed gave the same task definitions")
	}
}

func TestGenerateSecondNight(t *testing.T) {
	t.Parallel()
	spec := Spec{Seed: 9, Accounts: 3, Regions: 3, RevisionsPerRegion: 17, FamiliesPerRegion: 4, NonCompliantShare: 0.2, InactiveShare: 0.1}
	night1 := Generate(spec)
	spec.NewRevisionsShare = 0.3
	night2 := Generate(spec)
	wantExtra := int(math.Round(17 * 0.3))
	for _, acct := range night1.Accounts() {
		for _, region := range night1.EnabledRegions(acct.ID) {
			before := night1.TaskDefinitions(acct.ID, region)
			after := night2.TaskDefinitions(acct.ID, region)
			if len(after) != len(before)+wantExtra {
				t.Fatalf("%s/%s: %d revisions the second night, want %d", acct.ID, region, len(after), len(before)+wantExtra)
			}
			latest := map[string]int32{}
			for _, td := range before {
				latest[td.Family] = max(latest[td.Family], td.Revision)
				again, ok := night2.TaskDefinition(acct.ID, region, td.Family, td.Revision)
				if !ok || !reflect.DeepEqual(again, td) {
					t.Errorf("%s changed between nights", td.ARN)
				}
			}
			added := 0
			for _, td := range after {
				if _, ok := night1.TaskDefinition(acct.ID, region, td.Family, td.Revision); ok {
					continue
				}
				added++
				if td.Revision <= latest[td.Family] {
					t.Errorf("new revision %s is not above the first night's %d", td.ARN, latest[td.Family])
				}
			}
			if added != wantExtra {
				t.Errorf("%s/%s: %d new revisions, want %d", acct.ID, region, added, wantExtra)
			}
		}
	}
}

func TestGenerateShares(t *testing.T) {
	t.Parallel()
	org := Generate(Spec{Seed: 1, Accounts: 5, Regions: 4, RevisionsPerRegion: 100, ContainersPerTaskDefinition: 3,
		NonCompliantShare: 0.25, InactiveShare: 0.1, VanishShare: 0.05})
	count := map[string]int{}
	containers, inactive, revisions := 0, 0, 0
	for _, acct := range org.Accounts() {
		for _, region := range org.EnabledRegions(acct.ID) {
			for _, td := range org.TaskDefinitions(acct.ID, region) {
				revisions++
				if td.Status == StatusInactive {
					inactive++
				}
				for _, c := range td.Containers {
					containers++
					count[c.Expect]++
					if (td.Vanishes && c.Expect != ExpectError) || (!td.Vanishes && td.NetworkMode != "host" && c.Expect != ExpectNotApplicable) {
						t.Fatalf("%s %s (mode %q, vanishes %v): Expect %s", td.ARN, c.Name, td.NetworkMode, td.Vanishes, c.Expect)
					}
				}
			}
		}
	}
	if revisions != 5*4*100 || containers != 3*revisions {
		t.Fatalf("%d revisions, %d containers", revisions, containers)
	}
	near := func(name string, got, total int, want float64) {
		if share := float64(got) / float64(total); math.Abs(share-want) > 0.03 {
			t.Errorf("%s share = %.3f, want about %.2f", name, share, want)
		}
	}
	near("FAIL", count[ExpectFail], containers, 0.25*0.95)
	near("ERROR", count[ExpectError], containers, 0.05)
	near("INACTIVE", inactive, revisions, 0.1)
	if count[ExpectPass] == 0 || count[ExpectNotApplicable] == 0 {
		t.Errorf("verdicts = %v, want every kind", count)
	}
}

// TestGenerateDoesNotMaterialise checks a benchmark-sized organization is
// cheap to build: revisions are computed, not stored.
func TestGenerateDoesNotMaterialise(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	org := Generate(Spec{Seed: 3, Accounts: 1000, Regions: 17, RevisionsPerRegion: 50})
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := org.RevisionCount(); n != 850_000 {
		t.Fatalf("RevisionCount = %d, want 850000", n)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 8<<20 {
		t.Errorf("generating 850k revisions grew the heap by %d bytes", grew)
	}
	last := org.Accounts()[999].ID
	if _, ok := org.TaskDefinition(last, "sa-east-1", org.TaskDefinitions(last, "sa-east-1")[49].Family, 5); !ok {
		t.Error("the last account's last region has no revision 5")
	}
	runtime.KeepAlive(org)
}

// TestGeneratedOrgOnTheWire scans one generated target through the SDK
// and compares it with what the Org computes.
func TestGeneratedOrgOnTheWire(t *testing.T) {
	t.Parallel()
	org := Generate(Spec{Seed: 5, Accounts: 30, Regions: 2, RevisionsPerRegion: 120, FamiliesPerRegion: 7, InactiveShare: 0.2, NonCompliantShare: 0.3})
	srv := start(t, org, Options{})
	ctx := context.Background()

	var accounts int
	orgs := organizations.NewFromConfig(managementConfig(t, srv, "us-east-1"))
	for p := organizations.NewListAccountsPaginator(orgs, &organizations.ListAccountsInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		accounts += len(out.Accounts)
	}
	if accounts != 30 {
		t.Errorf("listed %d accounts, want 30", accounts)
	}

	acct := org.Accounts()[17].ID
	client := ecs.NewFromConfig(assumedConfig(t, srv, acct, "us-east-2"))
	want := arns(org, acct, "us-east-2", StatusActive)
	var got []string
	for p := ecs.NewListTaskDefinitionsPaginator(client, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(25)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.TaskDefinitionArns...)
	}
	if len(want) < 80 || !reflect.DeepEqual(got, want) {
		t.Fatalf("listed %d ARNs, want the %d ACTIVE ones in order", len(got), len(want))
	}
	td := org.TaskDefinitions(acct, "us-east-2")[33]
	out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td.ARN)})
	if err != nil {
		t.Fatal(err)
	}
	wire := out.TaskDefinition
	if *wire.TaskDefinitionArn != td.ARN || string(wire.NetworkMode) != td.NetworkMode || len(wire.ContainerDefinitions) != len(td.Containers) {
		t.Fatalf("described %+v, want %+v", wire, td)
	}
	for i, c := range wire.ContainerDefinitions {
		w := td.Containers[i]
		if *c.Name != w.Name || !reflect.DeepEqual(c.User, w.User) || !reflect.DeepEqual(c.Privileged, w.Privileged) {
			t.Errorf("container %d = %s user %v privileged %v, want %+v", i, *c.Name, c.User, c.Privileged, w)
		}
	}
}

func TestGeneratePanicsOnNonsense(t *testing.T) {
	t.Parallel()
	for _, spec := range []Spec{{Regions: 18}, {Accounts: -1}, {NonCompliantShare: 1.5}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Generate(%+v) did not panic", spec)
				}
			}()
			Generate(spec)
		}()
	}
}
