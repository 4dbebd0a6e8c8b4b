package check

import (
	"strconv"
	"strings"
)

// User is a container's user field as the container runtime reads it.
type User struct {
	Raw       string
	Unset     bool // absent or empty
	Root      bool // the user part is "root" or a decimal integer equal to 0
	RootGroup bool // not root, but the group part is "root" or 0
	Unusual   bool // a spelling such as "ROOT" or " root" that is not root to the runtime
}

// ParseUser reads the forms user, user:group, uid, uid:gid, user:gid and
// uid:group. Only the part before the first colon decides whether it is root.
func ParseUser(field *string) User {
	if field == nil || *field == "" {
		return User{Unset: true}
	}
	u := User{Raw: *field}
	name, group, hasGroup := strings.Cut(*field, ":")
	u.Root = isRoot(name)
	if !u.Root {
		u.RootGroup = hasGroup && isRoot(group)
		u.Unusual = looksLikeRoot(name) || (hasGroup && looksLikeRoot(group))
	}
	return u
}

// isRoot reports whether one part of the user field names uid 0 the way the
// runtime parses it: the name root, or a decimal integer equal to zero
// ("0", "00", "+0", "-0").
func isRoot(part string) bool {
	if part == "root" {
		return true
	}
	if part == "" {
		return false
	}
	digits := part
	if digits[0] == '+' || digits[0] == '-' {
		digits = digits[1:]
	}
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return false
	}
	n, err := strconv.ParseInt(part, 10, 64)
	return err == nil && n == 0
}

// looksLikeRoot reports spellings a reader might take for root but the
// runtime does not: other cases, surrounding white space.
func looksLikeRoot(part string) bool {
	t := strings.TrimSpace(part)
	return !isRoot(part) && (strings.EqualFold(t, "root") || isRoot(t))
}

func (u User) quoted() string {
	if u.Unset {
		return "unset"
	}
	return quote(u.Raw)
}

// maxQuoted bounds how much of an untrusted string a reason repeats.
const maxQuoted = 64

// quote renders untrusted text for a reason: Go-quoted, so control
// characters and invalid UTF-8 become escapes, and cut to maxQuoted bytes.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "…"
	}
	return strconv.Quote(s)
}

func (u User) describe() string { return "user " + u.quoted() }
