package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/ecsaudit/ecsaudit/simorg"
)

// scenario is one benchmark setting: the organization, how the simulator's
// ECS bucket is scaled, and the budget ecsaudit is run with.
type scenario struct {
	name  string
	about string
	// org builds the organization scanned; next, when set, builds the
	// organization of the following night, scanned again into the same
	// output (the warm scenario).
	org, next func() (*simorg.Org, error)
	// scale multiplies AWS's ECS bucket (burst 50, 20/s) in the simulator:
	// simorg.Options.LimitScale. The client budget below is scaled with it.
	scale float64
	// concurrency is passed as --concurrency; 0 passes none, and ecsaudit
	// picks its own (defaultConcurrency).
	concurrency int
	ecsRate     float64
	ecsBurst    int
	// baselineAccounts is how many accounts the naive baseline scans by
	// default before its time is extrapolated; 0 means all of them.
	baselineAccounts int
	// shards, above 1, makes each run scan the organization once unsharded
	// and then as that many concurrent shards of one run (the sharded
	// scenario); such a scenario has no baseline.
	shards int
	// tls serves the simulator over HTTPS (simorg.Options.TLS), its
	// certificate trusted through AWS_CA_BUNDLE, as AWS is reached.
	tls bool
}

// latency is what every simulated response waits: 10 ms plus up to 20 ms of
// uniform jitter, a same-continent round trip to an AWS API endpoint.
const (
	latencyMin    = 10 * time.Millisecond
	latencyJitter = 20 * time.Millisecond
)

// meanLatency is the expected delay of one call.
const meanLatency = latencyMin + latencyJitter/2

// seed makes every generated organization the same from run to run.
const seed = 1

// What runs, in every generated organization: a service for 30% of the
// families of each (account, region), on the family's latest revision (a
// fifth of them with the previous one still draining), 1 to 3 tasks each,
// and standalone tasks for 5% of the families.
const (
	serviceShare    = 0.3
	standaloneShare = 0.05
)

// smallSpec is the small organization: 50 accounts × 4 regions × 40 revisions.
var smallSpec = simorg.Spec{Seed: seed, Accounts: 50, Regions: 4, RevisionsPerRegion: 40, NonCompliantShare: 0.1,
	ServiceShare: serviceShare, StandaloneShare: standaloneShare}

// wideSpec is the wide organization: 1,000 accounts × 17 regions × 50 revisions.
var wideSpec = simorg.Spec{Seed: seed, Accounts: 1000, Regions: 17, RevisionsPerRegion: 50, NonCompliantShare: 0.1,
	ServiceShare: serviceShare, StandaloneShare: standaloneShare}

// generated builds the organization spec describes.
func generated(spec simorg.Spec) func() (*simorg.Org, error) {
	return func() (*simorg.Org, error) { return simorg.Generate(spec), nil }
}

// nextNight builds spec's organization a night later: 2% new revisions.
func nextNight(spec simorg.Spec) func() (*simorg.Org, error) {
	spec.NewRevisionsShare = 0.02
	return generated(spec)
}

// scenarios returns every scenario by name. The budgets are ecsaudit's
// defaults (10 requests/s, burst 10, and the targets at once it picks for
// the machine, no --concurrency being passed); where an org is
// too large to scan at AWS's real pace within minutes, both the simulator's
// bucket and the client's rate are multiplied by the same factor, so the
// client still spends half of the bucket's refill rate.
func scenarios() map[string]scenario {
	list := []scenario{
		{
			name:  "small",
			about: "50 accounts × 4 regions × 40 revisions; AWS's real ECS bucket; ecsaudit's default budget",
			org:   func() (*simorg.Org, error) { return simorg.Generate(smallSpec), nil },
			scale: 1, ecsRate: 10, ecsBurst: 10,
			baselineAccounts: 10,
		},
		{
			name: "wide",
			about: "1,000 accounts × 17 regions × 50 revisions = 850,000 revisions; " +
				"ECS bucket and client rate ×10 (bucket 500/200 per s, --ecs-rate 100)",
			org:   generated(wideSpec),
			scale: 10, ecsRate: 100, ecsBurst: 10,
			baselineAccounts: 2,
		},
		{
			name: "wide-real",
			about: "the wide organization at AWS's real ECS bucket (burst 50, 20/s) with ecsaudit's default budget " +
				"(--ecs-rate 10 --ecs-burst 10): the pace of a real scan of 1,000 accounts",
			org:   generated(wideSpec),
			scale: 1, ecsRate: 10, ecsBurst: 10,
			baselineAccounts: 2,
		},
		{
			name: "warm-wide",
			about: "the wide organization scanned cold, then the next night (2% new revisions) " +
				"incrementally against the cold run's output; ×10 as wide",
			org:   generated(wideSpec),
			next:  nextNight(wideSpec),
			scale: 10, ecsRate: 100, ecsBurst: 10,
			baselineAccounts: 2,
		},
		{
			name: "hot",
			about: "one (account, region) with 20,000 revisions among 50 accounts × 4 regions × 10; " +
				"ECS bucket and client rate ×10",
			org:   hotOrg,
			scale: 10, ecsRate: 100, ecsBurst: 10,
			baselineAccounts: 10,
		},
		{
			name: "warm",
			about: "the small organization scanned cold, then the next night (2% new revisions) " +
				"incrementally against the cold run's output",
			org:   generated(smallSpec),
			next:  nextNight(smallSpec),
			scale: 1, ecsRate: 10, ecsBurst: 10,
			baselineAccounts: 10,
		},
	}
	m := map[string]scenario{}
	for _, s := range list {
		m[s.name] = s
	}
	m["sharded"] = sharded(m["small"], 4)
	tls := m["small"]
	tls.name, tls.tls = "tls", true
	tls.about = "the small organization over HTTPS (the simulator's own certificate, trusted through AWS_CA_BUNDLE), as AWS is only reachable over TLS"
	m["tls"] = tls
	return m
}

// sharded is base scanned unsharded and then as n concurrent shards of one
// run, each shard with base's budget (concurrency slots of its own). It is
// named sharded, or sharded-<base> when base is not small.
func sharded(base scenario, n int) scenario {
	sc := base
	sc.name = "sharded"
	if base.name != "small" {
		sc.name += "-" + base.name
	}
	sc.about = fmt.Sprintf("the %s organization scanned unsharded, then as %d concurrent shards of one run "+
		"(--shard i/%d --run-id, each with the same budget); -shards, -sharded-base", base.name, n, n)
	sc.shards = n
	return sc
}

// hotRevisions is the size of the hot scenario's one busy target.
const hotRevisions = 20_000

// hotOrg is 50 quiet accounts × 4 regions × 10 revisions, with the first
// region of the middle account holding hotRevisions revisions instead. It
// is a fixture built from two generated organizations, since a generated
// one gives every target the same size.
func hotOrg() (*simorg.Org, error) {
	quiet := simorg.Generate(simorg.Spec{Seed: seed, Accounts: 50, Regions: 4, RevisionsPerRegion: 10, NonCompliantShare: 0.1,
		ServiceShare: serviceShare, StandaloneShare: standaloneShare})
	busy := simorg.Generate(simorg.Spec{Seed: seed + 1, Accounts: 1, Regions: 1, RevisionsPerRegion: hotRevisions, FamiliesPerRegion: 40, NonCompliantShare: 0.1,
		ServiceShare: serviceShare, StandaloneShare: standaloneShare})
	busyAccount := busy.Accounts()[0].ID

	accts := quiet.Accounts()
	hot := accts[len(accts)/2].ID
	f := simorg.Fixture{
		OrganizationID:      quiet.ID(),
		RootID:              quiet.RootID(),
		ManagementAccountID: quiet.ManagementAccountID(),
		Regions:             quiet.Regions(),
		OrganizationalUnits: nest(quiet.OrganizationalUnits(), quiet.RootID()),
	}
	for _, a := range accts {
		af := simorg.AccountFixture{Account: a, TaskDefinitions: map[string][]simorg.TaskDefinition{}, Clusters: map[string][]simorg.Cluster{}}
		for i, region := range quiet.EnabledRegions(a.ID) {
			if a.ID == hot && i == 0 {
				busyRegion := busy.EnabledRegions(busyAccount)[0]
				af.TaskDefinitions[region] = busy.TaskDefinitions(busyAccount, busyRegion)
				af.Clusters[region] = busy.Clusters(busyAccount, busyRegion)
				continue
			}
			if tds := quiet.TaskDefinitions(a.ID, region); len(tds) > 0 {
				af.TaskDefinitions[region] = tds
				af.Clusters[region] = quiet.Clusters(a.ID, region)
			}
		}
		f.Accounts = append(f.Accounts, af)
	}
	org, err := simorg.New(f)
	if err != nil {
		return nil, fmt.Errorf("hot organization: %w", err)
	}
	return org, nil
}

// nest turns the flat OU list (parents first, Parent set) back into the
// fixture's tree below parent.
func nest(flat []simorg.OU, parent string) []simorg.OU {
	var out []simorg.OU
	for _, ou := range flat {
		if ou.Parent == parent {
			ou.Children = nest(flat, ou.ID)
			ou.Parent = ""
			out = append(out, ou)
		}
	}
	return out
}

// plan is what an organization implies for a scan of every ACTIVE revision
// of every enabled region of every account whose role can be assumed.
type plan struct {
	accounts  int          // listed, every state
	assumable int          // ACTIVE and not denying the role
	revisions []int        // ACTIVE revisions per scannable target
	usage     []usageCalls // per scannable target, as revisions
	// findings: one row per container and rule, one per undescribable
	// revision and rule; the host-access rule (on by default) reads
	// host-network revisions only.
	findings int64
	tasks    int64 // running tasks, every target
}

// The usage operations, each an ECS bucket of its own, in usageCalls' order.
var usageOps = [...]string{"ListClusters", "ListServices", "DescribeServices", "ListTasks", "DescribeTasks"}

// usageCalls are one target's calls to read what runs, by usageOps.
type usageCalls [len(usageOps)]int64

// usageFor is what reading the target's clusters takes: the clusters in
// pages of 100 (one page even when empty); per cluster, its services in
// pages of 100 (at least one) described 10 at a time, and its running tasks
// in pages of 100 (at least one) described 100 at a time.
func usageFor(clusters []simorg.Cluster) (c usageCalls, tasks int64) {
	c[0] = listPages(len(clusters))
	for _, cl := range clusters {
		n := 0
		for _, s := range cl.Services {
			for _, d := range s.Deployments {
				n += int(d.RunningCount)
			}
		}
		for _, t := range cl.Tasks {
			n += max(t.Count, 1)
		}
		c[1] += listPages(len(cl.Services))
		c[2] += int64((len(cl.Services) + 9) / 10)
		c[3] += listPages(n)
		c[4] += int64((n + 99) / 100)
		tasks += int64(n)
	}
	return c, tasks
}

// sum is the target's usage calls over every bucket.
func (c usageCalls) sum() int64 {
	var n int64
	for _, x := range c {
		n += x
	}
	return n
}

// planFor walks the organization the way a correct scan must.
func planFor(org *simorg.Org) plan {
	var p plan
	for _, a := range org.Accounts() {
		p.accounts++
		if (a.State != "" && a.State != simorg.StateActive) || a.DenyAssume {
			continue
		}
		p.assumable++
		for _, region := range org.EnabledRegions(a.ID) {
			if org.RegionDenied(a.ID, region) {
				continue
			}
			n := 0
			for _, td := range org.TaskDefinitions(a.ID, region) {
				if td.Status != simorg.StatusActive {
					continue
				}
				n++
				switch {
				case td.Vanishes || len(td.Containers) == 0:
					p.findings += 2
				case td.NetworkMode == "host":
					p.findings += 2 * int64(len(td.Containers))
				default:
					p.findings += int64(len(td.Containers))
				}
			}
			p.revisions = append(p.revisions, n)
			u, tasks := usageFor(org.Clusters(a.ID, region))
			p.usage = append(p.usage, u)
			p.tasks += tasks
		}
	}
	return p
}

// listPages is how many ListTaskDefinitions pages of 100 n ARNs take: at
// least one, which comes back empty when there are none.
func listPages(n int) int64 { return int64(max(1, (n+99)/100)) }

// listCalls and describeCalls are the ECS calls the plan needs, without
// retries.
func (p plan) listCalls() int64 {
	var n int64
	for _, r := range p.revisions {
		n += listPages(r)
	}
	return n
}

func (p plan) describeCalls() int64 {
	var n int64
	for _, r := range p.revisions {
		n += int64(r)
	}
	return n
}

// usageCalls are the calls to read what runs, by operation, without
// retries.
func (p plan) usageCalls() usageCalls {
	var t usageCalls
	for _, u := range p.usage {
		for k := range t {
			t[k] += u[k]
		}
	}
	return t
}

// maxRevisions is the largest target's revision count.
func (p plan) maxRevisions() int { return slices.Max(append([]int{0}, p.revisions...)) }
