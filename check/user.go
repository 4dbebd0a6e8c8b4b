package check

import (
	"errors"
	"strconv"
	"strings"
)

// User is a container's user field as the container runtime reads it.
//
// On EC2 and external instances, the only places host networking runs, ECS
// hands the field to Docker, which resolves it with
// github.com/moby/sys/user's GetExecUser and no defaults: the text before
// the first ':' is the user, the rest the group. An empty user part means
// the default uid, 0; a part that strconv.Atoi reads is a uid (so "00",
// "+0" and "-0" are 0); anything else is a name looked up in the image's
// /etc/passwd. ecsaudit cannot read the image, so it assumes a typical
// passwd file in which root is the only name with uid 0.
type User struct {
	Raw       string
	Unset     bool // absent or empty: the image's default user applies
	Root      bool // the runtime resolves the user to uid 0
	EmptyName bool // root because the user part is empty (":1000")
	RootGroup bool // not root, but the group part is root or gid 0
	Invalid   bool // not root: the user part is a number out of the runtime's range, so the container cannot start
	Unusual   bool // a spelling such as "ROOT" or " root" that is not root to the runtime
}

// ParseUser reads the forms user, user:group, uid, uid:gid, user:gid,
// uid:group and :group exactly as the runtime does. Only the part before
// the first colon decides whether it is root.
func ParseUser(field *string) User {
	if field == nil || *field == "" {
		return User{Unset: true}
	}
	u := User{Raw: *field}
	name, group, _ := strings.Cut(*field, ":")
	uid, numeric, inRange := runtimeID(name)
	switch {
	case name == "":
		u.Root, u.EmptyName = true, true
	case numeric:
		u.Root = inRange && uid == 0
		u.Invalid = !inRange
	default:
		u.Root = name == "root"
	}
	if !u.Root {
		gid, gnumeric, ginRange := runtimeID(group)
		u.RootGroup = group == "root" || (gnumeric && ginRange && gid == 0)
		u.Unusual = looksLikeRoot(name) || looksLikeRoot(group)
	}
	return u
}

// maxID is the largest uid or gid the runtime accepts (it keeps to int32
// for 32-bit systems).
const maxID = 1<<31 - 1

// runtimeID reads one part of the user field the way the runtime does:
// numeric when strconv.Atoi accepts it (a number too large for int is
// still numeric, and out of range), and in range when 0 <= id <= maxID.
func runtimeID(part string) (id int, numeric, inRange bool) {
	n, err := strconv.Atoi(part)
	if err != nil {
		return 0, errors.Is(err, strconv.ErrRange), false
	}
	return n, true, n >= 0 && n <= maxID
}

// looksLikeRoot reports spellings a reader might take for root but the
// runtime does not: other cases, surrounding white space.
func looksLikeRoot(part string) bool {
	t := strings.TrimSpace(part)
	if t == part {
		return part != "root" && strings.EqualFold(part, "root")
	}
	id, numeric, inRange := runtimeID(t)
	return strings.EqualFold(t, "root") || (numeric && inRange && id == 0)
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

func (u User) describe() string {
	if u.EmptyName {
		return "user " + u.quoted() + ": an empty user part is the runtime's default uid 0"
	}
	return "user " + u.quoted()
}

// assumption is what a PASS on a user name rests on: the image's passwd file
// is not read, and a typical one gives uid 0 to root alone.
func (u User) assumption() string {
	if u.Unset || u.Invalid {
		return ""
	}
	name, _, _ := strings.Cut(u.Raw, ":")
	if _, numeric, _ := runtimeID(name); numeric {
		return ""
	}
	return " (a name: assuming, as in a typical image's passwd file, that only root has uid 0)"
}
