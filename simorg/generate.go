package simorg

import (
	"fmt"
	"math"
	"time"
)

// Spec describes a generated organization. Zero fields take the defaults
// given; shares are fractions in [0, 1].
type Spec struct {
	// Seed decides every generated value; the same Spec gives the same Org.
	Seed int64
	// Accounts is the number of accounts, the management account included;
	// zero means 10.
	Accounts int
	// Regions is the number of enabled regions, 1 to 17; zero means 3. Four
	// opt-in regions that no account has enabled are added.
	Regions int
	// RevisionsPerRegion is the number of task definition revisions in each
	// account and region before NewRevisionsShare; zero means 10.
	RevisionsPerRegion int
	// FamiliesPerRegion spreads the revisions over this many families;
	// zero means 10, and it is capped at the number of revisions.
	FamiliesPerRegion int
	// ContainersPerTaskDefinition is zero for 2.
	ContainersPerTaskDefinition int
	// NonCompliantShare is the share of containers the rule should FAIL.
	// A task definition with one uses host networking.
	NonCompliantShare float64
	// HostShare is the share of the other task definitions that use host
	// networking (their containers PASS); the rest use another network
	// mode (NOT_APPLICABLE). Zero means 0.5; negative means none.
	HostShare float64
	// InactiveShare is the share of revisions that are INACTIVE.
	InactiveShare float64
	// VanishShare is the share of revisions that are listed but cannot be
	// described (their containers are ERROR).
	VanishShare float64
	// NewRevisionsShare adds round(RevisionsPerRegion × share) revisions to
	// every account and region, as a later night would see them: with the
	// same Seed, every revision of the Spec without them keeps its ARN and
	// content, and the new ones have higher revision numbers.
	NewRevisionsShare float64
	// ServiceShare is the share of families in each account and region
	// that a service runs, on the family's latest ACTIVE revision (a fifth
	// of them with the previous revision still draining).
	ServiceShare float64
	// StandaloneShare is the share of families with standalone tasks
	// (RunTask), on any of the family's revisions, deregistered ones too.
	StandaloneShare float64
}

// generatedRegions are the regions enabled by default, then the opt-in
// regions a generated organization has not enabled.
var (
	generatedRegions = [...]string{
		"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
		"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
		"ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
		"ap-southeast-1", "ap-southeast-2", "sa-east-1",
	}
	generatedOptInRegions = [...]string{"af-south-1", "ap-east-1", "eu-south-1", "me-south-1"}
	familyWords           = [...]string{"api", "web", "worker", "billing", "search", "ingest", "auth", "reports", "cache", "scheduler", "gateway", "ledger"}
	containerNames        = [...]string{"app", "sidecar", "log-router", "proxy", "init", "agent"}
)

// Generate builds an organization whose task definitions are computed from
// the Spec on demand: memory does not grow with the number of revisions.
// It panics if a count is negative, Regions exceeds 17 or a share is
// outside [0, 1], as those are programming errors.
func Generate(spec Spec) *Org {
	spec = spec.withDefaults()
	g := &genCatalog{
		seed:       uint64(spec.Seed),
		families:   spec.FamiliesPerRegion,
		containers: spec.ContainersPerTaskDefinition,
		revisions:  spec.RevisionsPerRegion + int(math.Round(float64(spec.RevisionsPerRegion)*spec.NewRevisionsShare)),
		failShare:  spec.NonCompliantShare,
		hostShare:  max(spec.HostShare, 0),
		inactive:   spec.InactiveShare,
		vanish:     spec.VanishShare,

		serviceShare:    spec.ServiceShare,
		standaloneShare: spec.StandaloneShare,
	}
	g.names = make([]string, g.families)
	for f := range g.names {
		g.names[f] = fmt.Sprintf("svc%04d-%s", f, familyWords[mix(g.seed, 7, uint64(f))%uint64(len(familyWords))])
	}

	suffix := fmt.Sprintf("%010x", mix(g.seed, 1)%(1<<40))
	o := &Org{
		id: "o-" + suffix, rootID: "r-" + suffix[:4], partition: "aws",
		roleName: DefaultRoleName, remediationRoleName: DefaultRemediationRoleName, maxSessionSeconds: 3600,
		regionIdx: map[string]int{}, ouIdx: map[string]int{}, acctIdx: map[string]int{},
		cat: g, use: g,
	}
	for i, name := range generatedRegions[:spec.Regions] {
		o.regionIdx[name] = i
		o.regions = append(o.regions, Region{Name: name, OptInStatus: OptInNotRequired})
	}
	for _, name := range generatedOptInRegions {
		o.regionIdx[name] = len(o.regions)
		o.regions = append(o.regions, Region{Name: name, OptInStatus: NotOptedIn})
	}
	g.enabled = spec.Regions

	ou := func(name, parent string) string {
		id := fmt.Sprintf("ou-%s-%08s", suffix[:4], name)
		o.ouIdx[id] = len(o.ous)
		o.ous = append(o.ous, OU{ID: id, Name: name, Parent: parent})
		return id
	}
	workloads := ou("workload", o.rootID)
	leaves := []string{ou("security", o.rootID), ou("prod", workloads), ou("dev", workloads), ou("sandbox", o.rootID)}

	joined := time.Date(2020, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range spec.Accounts {
		id := generatedAccountID(g.seed, i)
		a := Account{
			ID: id, Name: fmt.Sprintf("gen-%04d", i), Email: fmt.Sprintf("aws+gen-%04d@example.com", i),
			State: StateActive, Parent: o.rootID, JoinedMethod: "CREATED",
			JoinedTimestamp: joined.Add(time.Duration(i) * time.Hour),
		}
		if i == 0 {
			a.Name = "management"
			o.management = id
		} else {
			a.Parent = leaves[i%len(leaves)]
		}
		o.acctIdx[id] = i
		o.accounts = append(o.accounts, a)
		o.notOptedIn = append(o.notOptedIn, nil)
		o.denied = append(o.denied, nil)
	}
	return o
}

func (s Spec) withDefaults() Spec {
	def := func(v *int, d int, name string) {
		if *v < 0 {
			panic(fmt.Sprintf("simorg: Spec.%s is negative: %d", name, *v))
		}
		if *v == 0 {
			*v = d
		}
	}
	def(&s.Accounts, 10, "Accounts")
	def(&s.Regions, 3, "Regions")
	def(&s.RevisionsPerRegion, 10, "RevisionsPerRegion")
	def(&s.FamiliesPerRegion, 10, "FamiliesPerRegion")
	def(&s.ContainersPerTaskDefinition, 2, "ContainersPerTaskDefinition")
	if s.Accounts > 99999 {
		panic(fmt.Sprintf("simorg: Spec.Accounts %d exceeds 99999", s.Accounts))
	}
	if s.Regions > len(generatedRegions) {
		panic(fmt.Sprintf("simorg: Spec.Regions %d exceeds %d", s.Regions, len(generatedRegions)))
	}
	if s.FamiliesPerRegion > 9999 {
		panic(fmt.Sprintf("simorg: Spec.FamiliesPerRegion %d exceeds 9999", s.FamiliesPerRegion))
	}
	if s.HostShare == 0 {
		s.HostShare = 0.5
	}
	for name, v := range map[string]float64{
		"NonCompliantShare": s.NonCompliantShare, "HostShare": max(s.HostShare, 0),
		"InactiveShare": s.InactiveShare, "VanishShare": s.VanishShare, "NewRevisionsShare": s.NewRevisionsShare,
		"ServiceShare": s.ServiceShare, "StandaloneShare": s.StandaloneShare,
	} {
		if !(v >= 0 && v <= 1) {
			panic(fmt.Sprintf("simorg: Spec.%s %v is outside [0, 1]", name, v))
		}
	}
	return s
}

// genCatalog computes task definitions from their coordinates.
type genCatalog struct {
	seed                                   uint64
	families, containers, revisions        int
	enabled                                int // regions with task definitions
	failShare, hostShare, inactive, vanish float64
	serviceShare, standaloneShare          float64
	names                                  []string
}

func (g *genCatalog) shard(account, region int) shard {
	if region >= g.enabled {
		return emptyShard
	}
	return genShard{g: g, account: account, region: region}
}

// genShard spreads g.revisions over the families: family f holds q or q+1
// revisions numbered from 1, the first r families one more.
type genShard struct {
	g               *genCatalog
	account, region int
}

func (s genShard) size() int           { return s.g.revisions }
func (s genShard) families() int       { return min(s.g.families, s.g.revisions) }
func (s genShard) family(f int) string { return s.g.names[f] }

func (s genShard) familyStart(f int) int {
	q, r := s.g.revisions/s.g.families, s.g.revisions%s.g.families
	return f*q + min(f, r)
}

func (s genShard) locate(i int) (f int, rev int32) {
	q, r := s.g.revisions/s.g.families, s.g.revisions%s.g.families
	big := r * (q + 1)
	if i < big {
		return i / (q + 1), int32(i%(q+1)) + 1
	}
	return r + (i-big)/q, int32((i-big)%q) + 1
}

func (s genShard) hash(f int, rev int32) uint64 {
	return mix(s.g.seed, uint64(s.account), uint64(s.region), uint64(f), uint64(rev))
}

func (s genShard) status(h uint64) string {
	if unit(mix(h, 1)) < s.g.inactive {
		return StatusInactive
	}
	return StatusActive
}

func (s genShard) ref(i int) ref {
	f, rev := s.locate(i)
	return ref{family: f, revision: rev, status: s.status(s.hash(f, rev))}
}

// variant is a container's privileged and user fields, and the verdict a
// reviewer gives it under host networking, written by hand.
type variant struct {
	privileged string // "", "true" or "false"
	user       string
	hasUser    bool
	onHost     string // the expected verdict with host networking
}

var (
	failVariants = [...]variant{{privileged: "true", onHost: ExpectFail}, {user: "root", hasUser: true, onHost: ExpectFail},
		{user: "0", hasUser: true, onHost: ExpectFail}, {user: "0:0", hasUser: true, onHost: ExpectFail},
		{user: "root:root", hasUser: true, onHost: ExpectFail}, {user: "00", hasUser: true, onHost: ExpectFail},
		{privileged: "true", user: "1000", hasUser: true, onHost: ExpectFail}, {user: ":1000", hasUser: true, onHost: ExpectFail}}
	passVariants = [...]variant{{onHost: ExpectPass}, {user: "1000", hasUser: true, onHost: ExpectPass},
		{user: "1000:0", hasUser: true, onHost: ExpectPass}, {user: "nobody", hasUser: true, onHost: ExpectPass},
		{privileged: "false", user: "app", hasUser: true, onHost: ExpectPass}, {user: "ROOT", hasUser: true, onHost: ExpectPass},
		{user: "65534:65534", hasUser: true, onHost: ExpectPass}}
	otherModes = [...]string{"", "bridge", "awsvpc", "none"}
)

func (s genShard) get(i int) TaskDefinition {
	f, rev := s.locate(i)
	h := s.hash(f, rev)
	family := s.g.names[f]
	td := TaskDefinition{
		Family: family, Revision: rev, Status: s.status(h),
		Vanishes:     unit(mix(h, 2)) < s.g.vanish,
		RegisteredAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rev)*36*time.Hour + time.Duration(f)*time.Minute),
		Containers:   make([]Container, s.g.containers),
	}
	fails := make([]bool, s.g.containers)
	host := false
	for c := range fails {
		fails[c] = unit(mix(h, 3, uint64(c))) < s.g.failShare
		host = host || fails[c]
	}
	host = host || unit(mix(h, 4)) < s.g.hostShare
	td.RequiresCompatibilities = []string{"EC2"}
	if host {
		td.NetworkMode = "host"
	} else {
		td.NetworkMode = otherModes[mix(h, 5)%uint64(len(otherModes))]
	}
	acct, region := s.accountID(), generatedRegions[s.region]
	for c := range td.Containers {
		hc := mix(h, 6, uint64(c))
		var v variant
		switch {
		case fails[c]:
			v = failVariants[hc%uint64(len(failVariants))]
		case host:
			v = passVariants[hc%uint64(len(passVariants))]
		case hc%2 == 0:
			v = failVariants[(hc/2)%uint64(len(failVariants))]
		default:
			v = passVariants[(hc/2)%uint64(len(passVariants))]
		}
		td.Containers[c] = s.container(c, v, family, rev, acct, region, host)
		switch {
		case td.Vanishes:
			td.Containers[c].Expect = ExpectError // it cannot be described
		case !host:
			td.Containers[c].Expect = ExpectNotApplicable
		default:
			td.Containers[c].Expect = v.onHost
			// No variant holds a setting the host-access rule reads.
			td.Containers[c].ExpectHostAccess = ExpectPass
		}
	}
	return td
}

func (s genShard) accountID() string { return generatedAccountID(s.g.seed, s.account) }

// generatedAccountID is the ID of the i-th generated account.
func generatedAccountID(seed uint64, i int) string {
	return fmt.Sprintf("%012d", 100000000000+int(mix(seed, 2)%1000)*100000+i)
}

func (s genShard) container(c int, v variant, family string, rev int32, acct, region string, host bool) Container {
	name := containerNames[c%len(containerNames)]
	if c >= len(containerNames) {
		name = fmt.Sprintf("%s-%d", name, c)
	}
	ct := Container{
		Name: name, Essential: ptr(c == 0), CPU: 128, Memory: 256,
		Image:       fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s-%s:r%d", acct, region, family, name, rev),
		Environment: []KeyValue{{Name: "LOG_LEVEL", Value: "info"}, {Name: "SERVICE_NAME", Value: family}},
	}
	if v.privileged != "" {
		ct.Privileged = ptr(v.privileged == "true")
	}
	if v.hasUser {
		ct.User = ptr(v.user)
	}
	if c == 0 {
		port := int32(8080)
		pm := PortMapping{ContainerPort: port, Protocol: "tcp"}
		if host {
			pm.HostPort = port
		}
		ct.PortMappings = []PortMapping{pm}
		ct.Secrets = []Secret{{Name: "DB_PASSWORD", ValueFrom: fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s/db", region, acct, family)}}
	}
	return ct
}

// mix hashes its arguments with SplitMix64 steps.
func mix(seed uint64, parts ...uint64) uint64 {
	h := splitmix(seed ^ 0x9e3779b97f4a7c15)
	for _, p := range parts {
		h = splitmix(h ^ p)
	}
	return h
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }
