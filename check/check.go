// Package check holds the rules ecsaudit audits. The control: an ECS task
// definition that uses host networking must not run privileged containers
// and must not run containers as root (Evaluate). Beside it, the host-access
// rule: no other root-equivalent setting on host networking
// (EvaluateHostAccess). It is pure: plain structs in, verdicts out, no AWS.
package check

import (
	"strings"
	"time"
)

// RuleID names the control in findings.
const RuleID = "ECSAUDIT.HOSTNET.1"

// AWSConfigRuleID names the AWS Config managed rule that the aws-config
// compatibility mode reproduces.
const AWSConfigRuleID = "ECS_TASK_DEFINITION_USER_FOR_HOST_MODE_CHECK"

// RuleVersion changes whenever a verdict for the same input could change;
// cached verdicts from another version are not reused. Version 2 reads the
// user field exactly as the runtime does: an empty user part (":1000") is
// uid 0.
const RuleVersion = "2"

// TaskDefinition is the part of an ECS task definition the rule reads.
// It deliberately has no field for environment variables or secrets.
type TaskDefinition struct {
	ARN          string
	Family       string
	Revision     int32
	Status       string
	NetworkMode  string // empty means the ECS default, bridge
	PIDMode      string // host, task or empty
	IPCMode      string // host, task, none or empty
	Volumes      []Volume
	RegisteredAt time.Time
	Containers   []Container
}

// Container is the part of a container definition the rule reads.
type Container struct {
	Name       string
	Image      string
	Privileged *bool   // nil when the field is absent
	User       *string // nil when the field is absent
	// CapabilitiesAdded is linuxParameters.capabilities.add, as given.
	CapabilitiesAdded []string
	Mounts            []Mount
	// VolumesFrom names the containers of the task whose mounts this one
	// takes (volumesFrom's sourceContainer).
	VolumesFrom []string
	Devices     []string // linuxParameters.devices' host paths
}

// Result is the verdict for one container.
type Result string

// The results a verdict can carry.
const (
	Pass          Result = "PASS"
	Fail          Result = "FAIL"
	NotApplicable Result = "NOT_APPLICABLE"
	Error         Result = "ERROR"
)

// Severity labels follow AWS Security Hub's.
const (
	SeverityCritical      = "CRITICAL"
	SeverityHigh          = "HIGH"
	SeverityMedium        = "MEDIUM"
	SeverityInformational = "INFORMATIONAL"
)

// Compat selects whose semantics Evaluate applies.
type Compat string

// The semantics Evaluate can apply.
const (
	// Control is the control as written: host networking with a privileged
	// container, or with a container whose user is root, fails.
	Control Compat = "control"
	// AWSConfig reproduces AWS Config's ECS_TASK_DEFINITION_USER_FOR_HOST_MODE_CHECK
	// (behind the retired Security Hub ECS.1): a container fails iff it is
	// not privileged and its user is root or unset.
	AWSConfig Compat = "aws-config"
)

// Options are the rules' switches.
type Options struct {
	Compat Compat
	// UnsetUserFails treats a missing user as root (the image default often is).
	UnsetUserFails bool
	// HostAccess adds the host-access rule's verdicts (EvaluateHostAccess)
	// beside the control's.
	HostAccess bool
}

// String names the switches in force, such as "control",
// "control,unset-user=fail" or "control,host-access=1" (the host-access
// rule's version included): verdicts are comparable across runs only when
// this and RuleVersion are equal.
func (o Options) String() string {
	s := string(o.Compat)
	if s == "" {
		s = string(Control)
	}
	if o.UnsetUserFails && o.Compat != AWSConfig {
		s += ",unset-user=fail"
	}
	if o.HostAccess {
		s += ",host-access=" + HostAccessRuleVersion
	}
	return s
}

// Verdict is the rule's answer for one container.
type Verdict struct {
	Container string
	Image     string
	Result    Result
	Reason    string
	Severity  string
	UserUnset bool
	// RuleID and RuleVersion name the rule that reached the verdict.
	RuleID      string
	RuleVersion string
}

// Evaluate returns one verdict per container of td, in container order.
func Evaluate(td TaskDefinition, opts Options) []Verdict {
	out := make([]Verdict, 0, len(td.Containers))
	for _, c := range td.Containers {
		out = append(out, evaluate(td.NetworkMode, c, opts))
	}
	return out
}

// Title is the one-line statement of the rule ruleID names, for findings
// shown outside ecsaudit (Security Hub, OCSF).
func Title(ruleID string) string {
	switch ruleID {
	case AWSConfigRuleID:
		return "ECS task definition with host networking runs a container as root or without a user (as AWS Config's " + AWSConfigRuleID + ")"
	case HostAccessRuleID:
		return "ECS task definition with host networking must not give a container root-equivalent host access (capabilities, pid/ipc mode host, host mounts, devices)"
	}
	return "ECS task definition with host networking must not run privileged or root containers"
}

// ErrorVerdicts are the verdicts for a task definition that could not be
// read, one per rule in force: never a PASS, and never silent on the
// host-access rule, since the task definition may well use host networking.
func ErrorVerdicts(reason string, opts Options) []Verdict {
	v := Verdict{Result: Error, Reason: reason, Severity: SeverityMedium, RuleID: ruleID(opts), RuleVersion: RuleVersion}
	if !opts.HostAccess {
		return []Verdict{v}
	}
	h := v
	h.RuleID, h.RuleVersion = HostAccessRuleID, HostAccessRuleVersion
	return []Verdict{v, h}
}

func ruleID(opts Options) string {
	if opts.Compat == AWSConfig {
		return AWSConfigRuleID
	}
	return RuleID
}

func evaluate(networkMode string, c Container, opts Options) Verdict {
	v := Verdict{Container: c.Name, Image: c.Image, RuleID: ruleID(opts), RuleVersion: RuleVersion, Severity: SeverityInformational}
	if networkMode != "host" {
		mode := "bridge (default)"
		if networkMode != "" {
			mode = quote(networkMode)
		}
		v.Result = NotApplicable
		v.Reason = "network mode " + mode + " is not host"
		return v
	}
	privileged := c.Privileged != nil && *c.Privileged
	u := ParseUser(c.User)
	v.UserUnset = u.Unset
	if opts.Compat == AWSConfig {
		return awsConfig(v, privileged, u)
	}

	var fails, notes []string
	if privileged {
		fails = append(fails, "privileged container with host networking")
		v.Severity = SeverityCritical
	}
	switch {
	case u.Root:
		fails = append(fails, "runs as root ("+u.describe()+") with host networking")
		if v.Severity != SeverityCritical {
			v.Severity = SeverityHigh
		}
	case u.Unset && opts.UnsetUserFails:
		fails = append(fails, "user unset: the image's default user applies (often root); counted as root by --unset-user=fail")
		if v.Severity == SeverityInformational {
			v.Severity = SeverityMedium
		}
	case u.Unset:
		notes = append(notes, "user unset: the image's default user applies (often root)")
	}
	if u.RootGroup {
		notes = append(notes, "root group ("+u.describe()+"): the group alone does not make the user root")
	}
	if u.Unusual {
		notes = append(notes, "unusual spelling of user "+u.quoted()+": the runtime does not read it as root")
	}
	if u.Invalid {
		notes = append(notes, "user "+u.quoted()+" is a uid outside 0-2147483647: the runtime refuses to start the container")
	}
	if len(fails) > 0 {
		v.Result = Fail
		v.Reason = strings.Join(append(fails, notes...), "; ")
		return v
	}
	v.Result = Pass
	if len(notes) == 0 {
		notes = append(notes, "host networking, not privileged, user "+u.quoted()+" is not root"+u.assumption())
	}
	v.Reason = strings.Join(notes, "; ")
	return v
}

// awsConfig applies AWS Config's logic: privileged counts as compliant, and
// a root or unset user fails.
func awsConfig(v Verdict, privileged bool, u User) Verdict {
	switch {
	case privileged:
		v.Result = Pass
		v.Reason = "aws-config: privileged containers are compliant under ECS_TASK_DEFINITION_USER_FOR_HOST_MODE_CHECK"
	case u.Root:
		v.Result, v.Severity = Fail, SeverityHigh
		v.Reason = "aws-config: not privileged and runs as root (" + u.describe() + ")"
	case u.Unset:
		v.Result, v.Severity = Fail, SeverityHigh
		v.Reason = "aws-config: not privileged and user unset"
	default:
		v.Result = Pass
		v.Reason = "aws-config: not privileged and user " + u.quoted() + " is not root" + u.assumption()
	}
	return v
}
