package simorg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Fixture is the declarative JSON form of an organization, as [Load] and
// [Parse] read it.
type Fixture struct {
	OrganizationID string `json:"organizationId"`
	// RootID defaults to "r-" and the first four characters after "o-".
	RootID string `json:"rootId,omitempty"`
	// Partition is aws, aws-cn or aws-us-gov; empty means aws.
	Partition           string `json:"partition,omitempty"`
	ManagementAccountID string `json:"managementAccountId"`
	// RoleName is the audit role in every account; empty means ecsaudit-read.
	RoleName string `json:"roleName,omitempty"`
	// RemediationRoleName is the role that may register task definitions;
	// empty means ecsaudit-remediate.
	RemediationRoleName string `json:"remediationRoleName,omitempty"`
	// ExternalID, when set, must be presented by AssumeRole.
	ExternalID string `json:"externalId,omitempty"`
	// MaxSessionSeconds is the role's maximum session duration, 3600 to
	// 43200; zero means 3600. Longer DurationSeconds requests fail.
	MaxSessionSeconds   int32            `json:"maxSessionSeconds,omitempty"`
	Regions             []Region         `json:"regions"`
	OrganizationalUnits []OU             `json:"organizationalUnits,omitempty"`
	Accounts            []AccountFixture `json:"accounts"`
}

// AccountFixture is an account and its task definitions and clusters by
// region name.
type AccountFixture struct {
	Account
	TaskDefinitions map[string][]TaskDefinition `json:"taskDefinitions,omitempty"`
	// Clusters are what runs: services and standalone tasks, on revisions
	// of the same region's TaskDefinitions.
	Clusters map[string][]Cluster `json:"clusters,omitempty"`
}

// DefaultRoleName is the audit role's name when a fixture does not set one.
const DefaultRoleName = "ecsaudit-read"

// DefaultRemediationRoleName is the remediation role's name when a fixture
// does not set one.
const DefaultRemediationRoleName = "ecsaudit-remediate"

// Load reads and validates the fixture file at path.
func Load(path string) (*Org, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load fixture: %w", err)
	}
	org, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("load fixture %s: %w", path, err)
	}
	return org, nil
}

// Parse decodes and validates a JSON fixture. Unknown fields are errors.
func Parse(b []byte) (*Org, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse fixture: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parse fixture: trailing data after the JSON object")
	}
	return New(f)
}

var (
	orgIDPattern     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	rootIDPattern    = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	ouIDPattern      = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	familyPattern    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)
	roleNamePattern  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// New validates a fixture and builds its Org. Errors name the offending
// field by its JSON path; all of them are reported, joined.
func New(f Fixture) (*Org, error) {
	v := &validator{}
	o := &Org{
		id: f.OrganizationID, rootID: f.RootID, partition: f.Partition,
		management: f.ManagementAccountID, roleName: f.RoleName,
		remediationRoleName: f.RemediationRoleName,
		externalID:          f.ExternalID, maxSessionSeconds: f.MaxSessionSeconds,
		regionIdx: map[string]int{}, ouIdx: map[string]int{}, acctIdx: map[string]int{},
	}
	if !orgIDPattern.MatchString(o.id) {
		v.bad("organizationId", "%q does not match o-[a-z0-9]{10,32}", o.id)
	} else if o.rootID == "" {
		o.rootID = "r-" + o.id[2:6]
	}
	if o.rootID != "" && !rootIDPattern.MatchString(o.rootID) {
		v.bad("rootId", "%q does not match r-[0-9a-z]{4,32}", o.rootID)
	}
	switch o.partition {
	case "":
		o.partition = "aws"
	case "aws", "aws-cn", "aws-us-gov":
	default:
		v.bad("partition", "%q is not aws, aws-cn or aws-us-gov", o.partition)
	}
	if o.roleName == "" {
		o.roleName = DefaultRoleName
	} else if !roleNamePattern.MatchString(o.roleName) {
		v.bad("roleName", "%q is not a valid IAM role name", o.roleName)
	}
	if o.remediationRoleName == "" {
		o.remediationRoleName = DefaultRemediationRoleName
	} else if !roleNamePattern.MatchString(o.remediationRoleName) || o.remediationRoleName == o.roleName {
		v.bad("remediationRoleName", "%q is not a valid IAM role name other than roleName", o.remediationRoleName)
	}
	if o.externalID != "" && len(o.externalID) < 2 {
		v.bad("externalId", "must be at least 2 characters")
	}
	if o.maxSessionSeconds == 0 {
		o.maxSessionSeconds = 3600
	} else if o.maxSessionSeconds < 3600 || o.maxSessionSeconds > 43200 {
		v.bad("maxSessionSeconds", "%d is outside 3600..43200", o.maxSessionSeconds)
	}

	if len(f.Regions) == 0 {
		v.bad("regions", "at least one region is required")
	}
	for i, r := range f.Regions {
		p := fmt.Sprintf("regions[%d]", i)
		if !regionPattern.MatchString(r.Name) {
			v.bad(p+".name", "%q is not a region name", r.Name)
		}
		if _, dup := o.regionIdx[r.Name]; dup {
			v.bad(p+".name", "%q appears twice", r.Name)
		}
		switch r.OptInStatus {
		case "":
			r.OptInStatus = OptInNotRequired
		case OptInNotRequired, OptedIn, NotOptedIn:
		default:
			v.bad(p+".optInStatus", "%q is not %s, %s or %s", r.OptInStatus, OptInNotRequired, OptedIn, NotOptedIn)
		}
		o.regionIdx[r.Name] = len(o.regions)
		o.regions = append(o.regions, r)
	}

	v.ous(o, "organizationalUnits", f.OrganizationalUnits, o.rootID)

	cat, use := listCatalog{}, listUsage{}
	for i, af := range f.Accounts {
		v.account(o, cat, use, i, af)
	}
	if len(f.Accounts) == 0 {
		v.bad("accounts", "at least one account is required")
	}
	if _, ok := o.acctIdx[o.management]; !ok {
		v.bad("managementAccountId", "%q is not one of the accounts", o.management)
	}
	o.cat, o.use = cat, use
	if err := errors.Join(v.errs...); err != nil {
		return nil, fmt.Errorf("invalid fixture: %w", err)
	}
	return o, nil
}

type validator struct{ errs []error }

func (v *validator) bad(field, format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

func (v *validator) ous(o *Org, path string, ous []OU, parent string) {
	for i, ou := range ous {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !ouIDPattern.MatchString(ou.ID) {
			v.bad(p+".id", "%q does not match ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}", ou.ID)
		}
		if _, dup := o.ouIdx[ou.ID]; dup {
			v.bad(p+".id", "%q appears twice", ou.ID)
		}
		if ou.Name == "" {
			v.bad(p+".name", "is required")
		}
		flat := OU{ID: ou.ID, Name: ou.Name, Parent: parent}
		o.ouIdx[ou.ID] = len(o.ous)
		o.ous = append(o.ous, flat)
		v.ous(o, p+".children", ou.Children, ou.ID)
	}
}

func (v *validator) account(o *Org, cat listCatalog, use listUsage, i int, af AccountFixture) {
	a := cloneAccount(af.Account)
	p := fmt.Sprintf("accounts[%d]", i)
	if !accountIDPattern.MatchString(a.ID) {
		v.bad(p+".id", "%q is not 12 digits", a.ID)
	}
	if _, dup := o.acctIdx[a.ID]; dup {
		v.bad(p+".id", "%q appears twice", a.ID)
	}
	if a.Name == "" {
		v.bad(p+".name", "is required")
	}
	if a.Email == "" {
		a.Email = fmt.Sprintf("aws+%s@example.com", a.ID)
	} else if !strings.Contains(a.Email, "@") {
		v.bad(p+".email", "%q is not an email address", a.Email)
	}
	switch a.State {
	case "":
		a.State = StateActive
	case StateActive, StateSuspended, StatePendingClosure, StatePendingActivation, StateClosed:
	default:
		v.bad(p+".state", "%q is not ACTIVE, SUSPENDED, PENDING_CLOSURE, PENDING_ACTIVATION or CLOSED", a.State)
	}
	if a.Parent == "" {
		a.Parent = o.rootID
	} else if _, ok := o.ouIdx[a.Parent]; !ok && a.Parent != o.rootID {
		v.bad(p+".parent", "%q is neither the root nor an OU", a.Parent)
	}
	switch a.JoinedMethod {
	case "":
		a.JoinedMethod = "CREATED"
	case "CREATED", "INVITED":
	default:
		v.bad(p+".joinedMethod", "%q is not CREATED or INVITED", a.JoinedMethod)
	}
	if a.JoinedTimestamp.IsZero() {
		a.JoinedTimestamp = time.Date(2021, 6, 1, 9, 0, 0, 0, time.UTC).AddDate(0, 0, 7*i)
	}
	ai := len(o.accounts)
	o.acctIdx[a.ID] = ai
	o.notOptedIn = append(o.notOptedIn, v.regionSet(o, p+".notOptedInRegions", a.NotOptedInRegions, true))
	o.denied = append(o.denied, v.regionSet(o, p+".deniedRegions", a.DeniedRegions, false))
	o.accounts = append(o.accounts, a)

	regions := make([]string, 0, len(af.TaskDefinitions))
	for r := range af.TaskDefinitions {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	for _, region := range regions {
		rp := fmt.Sprintf("%s.taskDefinitions[%q]", p, region)
		ri, ok := o.regionIdx[region]
		if !ok {
			v.bad(rp, "%q is not one of the regions", region)
			continue
		}
		tds := make([]TaskDefinition, len(af.TaskDefinitions[region]))
		seen := map[string]bool{}
		for k, td := range af.TaskDefinitions[region] {
			tds[k] = td.clone()
			v.taskDefinition(fmt.Sprintf("%s[%d]", rp, k), &tds[k], seen)
		}
		cat[[2]int{ai, ri}] = newListShard(tds)
	}
	for region, cls := range af.Clusters {
		rp := fmt.Sprintf("%s.clusters[%q]", p, region)
		ri, ok := o.regionIdx[region]
		if !ok {
			v.bad(rp, "%q is not one of the regions", region)
			continue
		}
		v.clusters(rp, cls, af.TaskDefinitions[region])
		use[[2]int{ai, ri}] = cls
	}
}

func (v *validator) regionSet(o *Org, path string, names []string, optInOnly bool) map[string]bool {
	set := map[string]bool{}
	for i, name := range names {
		ri, ok := o.regionIdx[name]
		switch {
		case !ok:
			v.bad(fmt.Sprintf("%s[%d]", path, i), "%q is not one of the regions", name)
		case optInOnly && o.regions[ri].OptInStatus == OptInNotRequired:
			v.bad(fmt.Sprintf("%s[%d]", path, i), "%q does not require opt-in", name)
		}
		set[name] = true
	}
	return set
}

func (v *validator) taskDefinition(p string, td *TaskDefinition, seen map[string]bool) {
	if td.Unchecked {
		if td.Family == "" || bytes.ContainsRune([]byte(td.Family), ':') {
			v.bad(p+".family", "%q: even unchecked, a family needs a name without ':'", td.Family)
		}
	} else if !familyPattern.MatchString(td.Family) {
		v.bad(p+".family", "%q is not a valid family name", td.Family)
	}
	if td.Revision < 1 {
		v.bad(p+".revision", "%d is not a positive revision", td.Revision)
	}
	key := fmt.Sprintf("%s:%d", td.Family, td.Revision)
	if seen[key] {
		v.bad(p+".revision", "%s appears twice", key)
	}
	seen[key] = true
	switch td.Status {
	case "":
		td.Status = StatusActive
	case StatusActive, StatusInactive, StatusDeleteInProgress:
	default:
		v.bad(p+".status", "%q is not ACTIVE, INACTIVE or DELETE_IN_PROGRESS", td.Status)
	}
	switch td.NetworkMode {
	case "", "bridge", "host", "awsvpc", "none":
	default:
		v.bad(p+".networkMode", "%q is not host, bridge, awsvpc or none", td.NetworkMode)
	}
	if e := td.DescribeError; e != nil && (e.Code == "" || e.Message == "") {
		v.bad(p+".describeError", "code and message are required")
	}
	if td.RegisteredAt.IsZero() {
		td.RegisteredAt = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, int(td.Revision))
	}
	v.extra(p+".extra", td.Extra, taskDefinitionOwned)
	for i, t := range td.Tags {
		if t.Key == "" {
			v.bad(fmt.Sprintf("%s.tags[%d].key", p, i), "is required")
		}
	}
	if len(td.Containers) == 0 && !td.Unchecked {
		v.bad(p+".containers", "at least one container is required")
	}
	names := map[string]bool{}
	for i, c := range td.Containers {
		cp := fmt.Sprintf("%s.containers[%d]", p, i)
		if !td.Unchecked && !familyPattern.MatchString(c.Name) {
			v.bad(cp+".name", "%q is not a valid container name", c.Name)
		} else if names[c.Name] {
			v.bad(cp+".name", "%q appears twice", c.Name)
		}
		names[c.Name] = true
		if c.Image == "" && !td.Unchecked {
			v.bad(cp+".image", "is required")
		}
		v.extra(cp+".extra", c.Extra, containerOwned)
		for k, e := range c.Environment {
			if e.Name == "" {
				v.bad(fmt.Sprintf("%s.environment[%d].name", cp, k), "is required")
			}
		}
		for k, s := range c.Secrets {
			if s.Name == "" || s.ValueFrom == "" {
				v.bad(fmt.Sprintf("%s.secrets[%d]", cp, k), "name and valueFrom are required")
			}
		}
		switch c.Expect {
		case ExpectPass, ExpectFail, ExpectNotApplicable, ExpectError:
		case "":
			v.bad(cp+".expect", "is required: the verdict a reviewer expects, written by hand")
		default:
			v.bad(cp+".expect", "%q is not PASS, FAIL, NOT_APPLICABLE or ERROR", c.Expect)
		}
		switch {
		case c.ExpectHostAccess == "" && td.NetworkMode == "host" && hostAccessSettings(td):
			v.bad(cp+".expectHostAccess", "is required: the task definition holds settings the host-access rule reads; write its verdict by hand")
		case c.ExpectHostAccess == "":
		case td.NetworkMode != "host":
			v.bad(cp+".expectHostAccess", "the host-access rule gives no verdict off host networking")
		case c.ExpectHostAccess != ExpectPass && c.ExpectHostAccess != ExpectFail && c.ExpectHostAccess != ExpectError:
			v.bad(cp+".expectHostAccess", "%q is not PASS, FAIL or ERROR", c.ExpectHostAccess)
		}
	}
}

// hostAccessSettings says whether td holds any setting the host-access
// rule reads: pid or ipc mode, volumes, mounts, volumesFrom or Linux
// parameters.
func hostAccessSettings(td *TaskDefinition) bool {
	if td.PidMode != "" || td.IpcMode != "" || len(td.Volumes) > 0 {
		return true
	}
	for _, c := range td.Containers {
		if len(c.MountPoints) > 0 || len(c.VolumesFrom) > 0 || c.LinuxParameters != nil {
			return true
		}
	}
	return false
}

// The members the simulator serves from a task definition's or container's
// own fields, which Extra must not override.
var (
	taskDefinitionOwned = []string{"taskDefinitionArn", "family", "revision", "status", "networkMode",
		"containerDefinitions", "compatibilities", "requiresCompatibilities", "cpu", "memory",
		"registeredAt", "registeredBy", "deregisteredAt",
		"pidMode", "ipcMode", "volumes"} // the host-access rule's: the fixture's validation must see them
	containerOwned = []string{"name", "image", "privileged", "user",
		"mountPoints", "volumesFrom", "linuxParameters"}
)

// extra checks that raw, when set, is a JSON object without owned members.
func (v *validator) extra(path string, raw json.RawMessage, owned []string) {
	if len(raw) == 0 {
		return
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		v.bad(path, "want a JSON object")
		return
	}
	for _, k := range owned {
		if _, ok := m[k]; ok {
			v.bad(path, "%q is served from the fixture's own field, not extra", k)
		}
	}
}
