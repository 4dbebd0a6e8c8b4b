package simorg

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Region is an AWS region of the organization and its default opt-in status.
type Region struct {
	Name string `json:"name"`
	// OptInStatus is opt-in-not-required, opted-in or not-opted-in; empty
	// means opt-in-not-required.
	OptInStatus string `json:"optInStatus,omitempty"`
}

// The opt-in statuses EC2 DescribeRegions reports.
const (
	OptInNotRequired = "opt-in-not-required"
	OptedIn          = "opted-in"
	NotOptedIn       = "not-opted-in"
)

// OU is an organizational unit. In a fixture, Children nests the tree; the
// flattened list from [Org.OrganizationalUnits] has Parent set instead.
type OU struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Children []OU   `json:"children,omitempty"`
	// Parent is the ID of the parent OU or root; not part of the fixture.
	Parent string `json:"-"`
}

// Account is one account of the organization, the management account
// included.
type Account struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	// State is ACTIVE, SUSPENDED, PENDING_CLOSURE, PENDING_ACTIVATION or
	// CLOSED; empty means ACTIVE. Only ACTIVE accounts' roles can be assumed.
	State string `json:"state,omitempty"`
	// Parent is the ID of the OU or root holding the account; empty means
	// the root.
	Parent string `json:"parent,omitempty"`
	// JoinedMethod is CREATED or INVITED; empty means CREATED.
	JoinedMethod    string    `json:"joinedMethod,omitempty"`
	JoinedTimestamp time.Time `json:"joinedTimestamp,omitzero"`
	// DenyAssume makes every AssumeRole into the account fail.
	DenyAssume bool `json:"denyAssume,omitempty"`
	// DeniedRegions are regions where a service control policy denies the
	// audit role's ECS and EC2 calls.
	DeniedRegions []string `json:"deniedRegions,omitempty"`
	// NotOptedInRegions are opt-in regions this account has not enabled,
	// whatever the organization-wide default.
	NotOptedInRegions []string `json:"notOptedInRegions,omitempty"`
}

// The account states Organizations reports.
const (
	StateActive            = "ACTIVE"
	StateSuspended         = "SUSPENDED"
	StatePendingClosure    = "PENDING_CLOSURE"
	StatePendingActivation = "PENDING_ACTIVATION"
	StateClosed            = "CLOSED"
)

// TaskDefinition is one revision of an ECS task definition family.
type TaskDefinition struct {
	// ARN, Account and Region are filled by the Org; not part of the fixture.
	ARN     string `json:"-"`
	Account string `json:"-"`
	Region  string `json:"-"`

	Family   string `json:"family"`
	Revision int32  `json:"revision"`
	// Status is ACTIVE, INACTIVE or DELETE_IN_PROGRESS; empty means ACTIVE.
	Status string `json:"status,omitempty"`
	// NetworkMode is host, bridge, awsvpc or none; empty leaves the key out
	// of the API response, which ECS reads as bridge.
	NetworkMode             string    `json:"networkMode,omitempty"`
	RequiresCompatibilities []string  `json:"requiresCompatibilities,omitempty"`
	CPU                     string    `json:"cpu,omitempty"`
	Memory                  string    `json:"memory,omitempty"`
	RegisteredAt            time.Time `json:"registeredAt,omitzero"`
	// Vanishes makes the revision appear in listings but fail to describe,
	// as one deleted between the two calls would.
	Vanishes bool `json:"vanishes,omitempty"`
	// DescribeError makes the revision appear in listings but answer
	// DescribeTaskDefinition with this error, every time: an error that
	// does not mean "deleted", such as an IAM or SCP denial of the one
	// action, or a ClientException with another message.
	DescribeError *DescribeError `json:"describeError,omitempty"`
	// Unchecked serves the revision as the fixture gives it, without the
	// checks ECS applies at registration (family and container name
	// patterns, a required image, at least one container): hostile or
	// broken API data. The family must still be non-empty and free of ':'.
	Unchecked bool `json:"unchecked,omitempty"`
	// PidMode and IpcMode are host, task (or none, for ipc); empty leaves
	// the key out.
	PidMode    string      `json:"pidMode,omitempty"`
	IpcMode    string      `json:"ipcMode,omitempty"`
	Volumes    []Volume    `json:"volumes,omitempty"`
	Containers []Container `json:"containers"`
	// Tags are served by DescribeTaskDefinition with include TAGS.
	Tags []Tag `json:"tags,omitempty"`
	// Extra is a JSON object of further task definition members
	// (taskRoleArn, executionRoleArn, volumes, pidMode, …) served verbatim,
	// over any the simulator would serve itself.
	Extra json.RawMessage `json:"extra,omitempty"`
}

// Tag is a task definition's tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Volume is a task volume, in the API's shape: a host bind mount (Host) or
// a Docker volume (DockerVolumeConfiguration), or neither (Docker-managed).
type Volume struct {
	Name                      string        `json:"name"`
	Host                      *HostVolume   `json:"host,omitempty"`
	DockerVolumeConfiguration *DockerVolume `json:"dockerVolumeConfiguration,omitempty"`
}

// HostVolume is a volume's host part; a nil SourcePath lets Docker choose.
type HostVolume struct {
	SourcePath *string `json:"sourcePath,omitempty"`
}

// DockerVolume is a volume's dockerVolumeConfiguration.
type DockerVolume struct {
	Scope      string            `json:"scope,omitempty"`
	Driver     string            `json:"driver,omitempty"`
	DriverOpts map[string]string `json:"driverOpts,omitempty"`
}

// MountPoint is a container's mount of a task volume.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly,omitempty"`
}

// VolumeFrom takes every mount of another container of the task.
type VolumeFrom struct {
	SourceContainer string `json:"sourceContainer"`
	ReadOnly        bool   `json:"readOnly,omitempty"`
}

// LinuxParameters is a container's linuxParameters: the parts the
// host-access rule reads, and initProcessEnabled.
type LinuxParameters struct {
	Capabilities       *Capabilities `json:"capabilities,omitempty"`
	Devices            []Device      `json:"devices,omitempty"`
	InitProcessEnabled *bool         `json:"initProcessEnabled,omitempty"`
}

// Capabilities are Linux capabilities added to or dropped from Docker's
// default set, spelled as the task definition gives them.
type Capabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// Device is a host device passed into the container.
type Device struct {
	HostPath      string   `json:"hostPath"`
	ContainerPath string   `json:"containerPath,omitempty"`
	Permissions   []string `json:"permissions,omitempty"`
}

// DescribeError is an ECS error answer: its code (ClientException,
// AccessDeniedException, InvalidParameterException, …) and message.
type DescribeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// The task definition statuses ECS reports.
const (
	StatusActive           = "ACTIVE"
	StatusInactive         = "INACTIVE"
	StatusDeleteInProgress = "DELETE_IN_PROGRESS"
)

// Container is one container definition.
type Container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// Privileged and User are left out of the API response when nil; an
	// empty User is sent as "".
	Privileged *bool   `json:"privileged,omitempty"`
	User       *string `json:"user,omitempty"`
	// Essential nil means true, as in ECS.
	Essential    *bool         `json:"essential,omitempty"`
	CPU          int32         `json:"cpu,omitempty"`
	Memory       int32         `json:"memory,omitempty"`
	PortMappings []PortMapping `json:"portMappings,omitempty"`
	Environment  []KeyValue    `json:"environment,omitempty"`
	Secrets      []Secret      `json:"secrets,omitempty"`
	// MountPoints, VolumesFrom and LinuxParameters are served as given.
	MountPoints     []MountPoint     `json:"mountPoints,omitempty"`
	VolumesFrom     []VolumeFrom     `json:"volumesFrom,omitempty"`
	LinuxParameters *LinuxParameters `json:"linuxParameters,omitempty"`
	// Extra is a JSON object of further container definition members
	// (healthCheck, logConfiguration, dockerLabels, linuxParameters, …)
	// served verbatim, over any the simulator would serve itself.
	Extra json.RawMessage `json:"extra,omitempty"`
	// Expect is the verdict the audit rule should reach for this container,
	// written by hand in every fixture (a generated container takes it from
	// a hand-labelled table). The server ignores it.
	Expect string `json:"expect,omitempty"`
	// ExpectHostAccess is the host-access rule's verdict (PASS, FAIL or
	// ERROR) for a container of a host-network task definition, written by
	// hand; it is required where the task definition holds a setting that
	// rule reads. Empty elsewhere: the rule gives no verdict off host
	// networking.
	ExpectHostAccess string `json:"expectHostAccess,omitempty"`
}

// PortMapping is a container port mapping.
type PortMapping struct {
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
}

// KeyValue is an environment variable.
type KeyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Secret is a secret injected into a container's environment.
type Secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

// Target is one (account, region) pair.
type Target struct {
	Account string
	Region  string
}

// Org is a simulated organization: accounts, OU tree, regions and task
// definitions. It is immutable and safe for concurrent use.
type Org struct {
	id, rootID, partition string
	management, roleName  string
	remediationRoleName   string
	externalID            string
	maxSessionSeconds     int32
	regions               []Region
	regionIdx             map[string]int
	ous                   []OU // flattened, Parent set, Children nil
	ouIdx                 map[string]int
	accounts              []Account
	acctIdx               map[string]int
	notOptedIn, denied    []map[string]bool // per account index
	cat                   catalog
	use                   usageCatalog // nil: no clusters anywhere
}

// ID returns the organization ID (o-…).
func (o *Org) ID() string { return o.id }

// RootID returns the ID of the organization's root (r-…).
func (o *Org) RootID() string { return o.rootID }

// Partition returns the ARN partition: aws, aws-cn or aws-us-gov.
func (o *Org) Partition() string { return o.partition }

// ManagementAccountID returns the ID of the management account, the only
// account whose credentials may call Organizations and assume the audit role.
func (o *Org) ManagementAccountID() string { return o.management }

// RoleName returns the name of the audit role in every member account.
func (o *Org) RoleName() string { return o.roleName }

// RemediationRoleName returns the name of the remediation role in every
// member account: the only role that may call RegisterTaskDefinition.
func (o *Org) RemediationRoleName() string { return o.remediationRoleName }

// ExternalID returns the external ID AssumeRole must present, or "".
func (o *Org) ExternalID() string { return o.externalID }

// RoleARN returns the ARN of the audit role in account.
func (o *Org) RoleARN(account string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", o.partition, account, o.roleName)
}

// Accounts returns every account, in listing order.
func (o *Org) Accounts() []Account {
	out := make([]Account, len(o.accounts))
	for i, a := range o.accounts {
		out[i] = cloneAccount(a)
	}
	return out
}

// Account returns the account with the given ID.
func (o *Org) Account(id string) (Account, bool) {
	i, ok := o.acctIdx[id]
	if !ok {
		return Account{}, false
	}
	return cloneAccount(o.accounts[i]), true
}

func cloneAccount(a Account) Account {
	a.DeniedRegions = slices.Clone(a.DeniedRegions)
	a.NotOptedInRegions = slices.Clone(a.NotOptedInRegions)
	return a
}

// Regions returns every region with its organization-wide opt-in status.
func (o *Org) Regions() []Region { return slices.Clone(o.regions) }

// OrganizationalUnits returns every OU, parents before children, with
// Parent set and Children nil.
func (o *Org) OrganizationalUnits() []OU { return slices.Clone(o.ous) }

// RegionStatus returns the opt-in status of region for account, or "" when
// either is unknown.
func (o *Org) RegionStatus(account, region string) string {
	ai, ok1 := o.acctIdx[account]
	ri, ok2 := o.regionIdx[region]
	if !ok1 || !ok2 {
		return ""
	}
	return o.regionStatus(ai, ri)
}

// RegionDenied reports whether a service control policy in the fixture
// denies region to account. Server options can deny more.
func (o *Org) RegionDenied(account, region string) bool {
	ai, ok := o.acctIdx[account]
	return ok && o.denied[ai][region]
}

// EnabledRegions returns the regions account can call: opted in or not
// requiring opt-in.
func (o *Org) EnabledRegions(account string) []string {
	ai, ok := o.acctIdx[account]
	if !ok {
		return nil
	}
	var out []string
	for ri, r := range o.regions {
		if o.regionStatus(ai, ri) != NotOptedIn {
			out = append(out, r.Name)
		}
	}
	return out
}

// TaskDefinitions returns every revision, of every status, registered in
// account and region, ordered by family then revision, with ARN, Account
// and Region filled in. For a generated Org it
// computes them on each call.
func (o *Org) TaskDefinitions(account, region string) []TaskDefinition {
	ai, ok1 := o.acctIdx[account]
	ri, ok2 := o.regionIdx[region]
	if !ok1 || !ok2 {
		return nil
	}
	sh := o.cat.shard(ai, ri)
	out := make([]TaskDefinition, sh.size())
	for i := range out {
		out[i] = o.complete(sh.get(i), ai, ri)
	}
	return out
}

// TaskDefinition returns one revision of family in account and region.
func (o *Org) TaskDefinition(account, region, family string, revision int32) (TaskDefinition, bool) {
	ai, ok1 := o.acctIdx[account]
	ri, ok2 := o.regionIdx[region]
	if !ok1 || !ok2 {
		return TaskDefinition{}, false
	}
	sh := o.cat.shard(ai, ri)
	f, ok := findFamily(sh, family)
	if !ok {
		return TaskDefinition{}, false
	}
	i, ok := findRevision(sh, f, revision)
	if !ok {
		return TaskDefinition{}, false
	}
	return o.complete(sh.get(i), ai, ri), true
}

// RevisionCount returns the number of revisions in the whole organization,
// of every status, in every account and region.
func (o *Org) RevisionCount() int {
	n := 0
	for ai := range o.accounts {
		for ri := range o.regions {
			n += o.cat.shard(ai, ri).size()
		}
	}
	return n
}

func (o *Org) complete(td TaskDefinition, ai, ri int) TaskDefinition {
	td.Account = o.accounts[ai].ID
	td.Region = o.regions[ri].Name
	td.ARN = o.taskDefinitionARN(td.Region, td.Account, td.Family, td.Revision)
	return td
}

func (o *Org) taskDefinitionARN(region, account, family string, rev int32) string {
	return fmt.Sprintf("arn:%s:ecs:%s:%s:task-definition/%s:%d", o.partition, region, account, family, rev)
}

func (o *Org) regionStatus(ai, ri int) string {
	s := o.regions[ri].OptInStatus
	if s == NotOptedIn || o.notOptedIn[ai][o.regions[ri].Name] {
		return NotOptedIn
	}
	return s
}

// accountARN returns an account's ARN as Organizations reports it.
func (o *Org) accountARN(id string) string {
	return fmt.Sprintf("arn:%s:organizations::%s:account/%s/%s", o.partition, o.management, o.id, id)
}

// path returns the Organizations path of an OU or root ID, ending in "/".
func (o *Org) path(parent string) string {
	var chain []string
	for parent != "" && parent != o.rootID {
		i, ok := o.ouIdx[parent]
		if !ok {
			break
		}
		chain = append(chain, parent)
		parent = o.ous[i].Parent
	}
	p := o.id + "/" + o.rootID + "/"
	for i := len(chain) - 1; i >= 0; i-- {
		p += chain[i] + "/"
	}
	return p
}
