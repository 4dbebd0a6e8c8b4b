// Package remediate turns the control's failing task definition revisions
// into the exact change that fixes each one: the complete register input
// of a new revision with only the failing containers' privileged and user
// changed, a diff of that change, the backout, and a plan that orders it
// all; and, when asked, registers the new revisions, once.
package remediate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/taskdefs"
)

// Users is the operator's choice of a non-root user for the failing
// containers: one for all, and per family and container, which wins.
type Users struct {
	Default  string
	ByFamily map[string]map[string]string // family → container → user
}

// For returns the user chosen for a container of a family, or "".
func (u Users) For(family, container string) string {
	if v := u.ByFamily[family][container]; v != "" {
		return v
	}
	return u.Default
}

// ValidateUser checks that a user the operator chose is one the runtime
// does not run as root: a name, uid, or either with a group.
func ValidateUser(s string) error {
	u := check.ParseUser(&s)
	switch {
	case u.Unset:
		return fmt.Errorf("user %q: want a non-root user such as 1000:1000", s)
	case u.Root:
		return fmt.Errorf("user %q is root: want a non-root user such as 1000:1000", s)
	case u.Invalid:
		return fmt.Errorf("user %q: a uid outside 0-2147483647 does not start", s)
	case u.Unusual, strings.TrimSpace(s) != s:
		return fmt.Errorf("user %q: an unusual spelling; write the user as the image names it", s)
	}
	return nil
}

// ParseUserMap reads a --user-map file: a JSON object of family → container
// → user, every user valid.
func ParseUserMap(b []byte) (map[string]map[string]string, error) {
	var m map[string]map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("user map: want a JSON object of family → container → user: %w", err)
	}
	for family, cs := range m {
		for c, u := range cs {
			if err := ValidateUser(u); err != nil {
				return nil, fmt.Errorf("user map %s/%s: %w", family, c, err)
			}
		}
	}
	return m, nil
}

// Use is what runs a revision in one cluster: a service, or (Service
// empty) standalone tasks.
type Use struct {
	Cluster      string // the cluster's ARN
	Service      string
	DesiredCount int64
	RunningCount int64
	RunningTasks int64
	StartedBy    string
}

// ClusterName returns the cluster's name from its ARN.
func (u Use) ClusterName() string { return u.Cluster[strings.LastIndexByte(u.Cluster, '/')+1:] }

// Action is what the plan does about one failing revision.
type Action string

// The actions.
const (
	// Register a new revision: the fix.
	Register Action = "register"
	// Deregister the revision: nothing uses it.
	Deregister Action = "deregister"
	// Blocked: a failing container needs a user and none was chosen.
	Blocked Action = "blocked"
)

// Change is what happens to one failing container.
type Change struct {
	Container         string
	Reason            string // why the rule fails it
	PrivilegedRemoved bool
	UserBefore        *string
	UserAfter         string // empty when the user stays
	NeedsUser         bool   // it needs a user and none was chosen
}

// Item is the plan for one failing revision.
type Item struct {
	Account, Region string
	ARN, Family     string
	Revision        int32
	Status          string // ACTIVE, INACTIVE, …
	Action          Action
	Changes         []Change
	// Original registers a copy of the revision; Desired the fix (nil
	// unless Action is Register).
	Original, Desired taskdefs.Definition
	// Uses is what runs the revision, when UsageKnown.
	Uses       []Use
	UsageKnown bool
	UsageNote  string // where usage came from, or why it is unknown
	// NewARN is the revision apply registered or found registered already;
	// Applied says which ("registered", "already registered").
	NewARN, Applied string
}

// Plan decides what to do about one failing revision: failing names the
// containers a scan failed (the rule is applied again to the live
// revision, and the two are joined), users the operator's choice.
func Plan(account, region string, full taskdefs.Full, failing []string, users Users, uses []Use, usageKnown bool, usageNote string) Item {
	td := full.TaskDefinition
	it := Item{Account: account, Region: region, ARN: td.ARN, Family: td.Family, Revision: td.Revision, Status: td.Status,
		Original: full.Definition, Uses: uses, UsageKnown: usageKnown, UsageNote: usageNote}
	desired := full.Definition.Clone()
	containers, _ := desired["containerDefinitions"].([]any)
	for i, v := range check.Evaluate(td, check.Options{}) {
		c := td.Containers[i]
		if v.Result != check.Fail && !slices.Contains(failing, c.Name) {
			continue
		}
		ch := Change{Container: c.Name, Reason: v.Reason, UserBefore: c.User}
		cm := containers[i].(map[string]any)
		if p, _ := cm["privileged"].(bool); p {
			delete(cm, "privileged")
			ch.PrivilegedRemoved = true
		}
		if u := check.ParseUser(c.User); u.Root || u.Unset {
			if chosen := users.For(td.Family, c.Name); chosen != "" {
				cm["user"] = chosen
				ch.UserAfter = chosen
			} else {
				ch.NeedsUser = true
			}
		}
		it.Changes = append(it.Changes, ch)
	}
	switch {
	case usageKnown && len(uses) == 0:
		it.Action = Deregister
	case slices.ContainsFunc(it.Changes, func(c Change) bool { return c.NeedsUser }):
		it.Action = Blocked
	default:
		it.Action = Register
		it.Desired = desired
	}
	return it
}

// Privileged reports whether the fix takes privileges away from a
// container: the change that needs judgment.
func (it Item) Privileged() bool {
	return slices.ContainsFunc(it.Changes, func(c Change) bool { return c.PrivilegedRemoved })
}
