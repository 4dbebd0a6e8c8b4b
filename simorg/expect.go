package simorg

import "strings"

// The verdicts a container's Expect can carry.
const (
	ExpectPass          = "PASS"
	ExpectFail          = "FAIL"
	ExpectNotApplicable = "NOT_APPLICABLE"
	ExpectError         = "ERROR"
)

// Expected returns the verdict the audit rule should reach for container c
// of task definition td. A revision that vanishes cannot be described, so
// its containers are ERROR. Otherwise a task definition whose network mode
// is not host (absent means bridge) is NOT_APPLICABLE; with host networking
// a privileged container FAILs, and so does one whose user part (before the
// first ':') is exactly "root" or a decimal integer equal to 0 ("0", "00",
// "+0", "-0"); anything else PASSes: an unset or empty user, a root group
// alone ("1000:0"), and look-alikes such as "ROOT" or " root".
func Expected(td TaskDefinition, c Container) string {
	if td.Vanishes {
		return ExpectError
	}
	if td.NetworkMode != "host" {
		return ExpectNotApplicable
	}
	if c.Privileged != nil && *c.Privileged {
		return ExpectFail
	}
	if c.User != nil {
		name, _, _ := strings.Cut(*c.User, ":")
		if isRootUser(name) {
			return ExpectFail
		}
	}
	return ExpectPass
}

// isRootUser reports whether the user part of a container's user field
// names uid 0: "root", or an optionally signed run of zeros.
func isRootUser(name string) bool {
	if name == "root" {
		return true
	}
	digits := strings.TrimPrefix(strings.TrimPrefix(name, "+"), "-")
	if len(digits) == len(name)-2 || digits == "" {
		return false // two signs, or no digits
	}
	return strings.Trim(digits, "0") == ""
}
