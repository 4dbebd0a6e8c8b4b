package check

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/moby/sys/user"
)

// The image files the differential test resolves users in: a typical
// image's, where root is the only name with uid 0.
const (
	typicalPasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
		"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	typicalGroup = "root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nnogroup:x:65534:\n"
)

// runtimeRunsAsRoot asks the container runtime's own parser,
// github.com/moby/sys/user, which uid Docker runs a container with user
// field s as: GetExecUser with no defaults, as Docker calls it. The group
// part can only stop the container from starting (a group the image may or
// may not define, a gid out of range); ecsaudit judges the user the runtime
// resolves, so when the whole spec is refused, the user part alone, as
// split by the runtime, is resolved.
func runtimeRunsAsRoot(s string) bool {
	eu, err := user.GetExecUser(s, nil, strings.NewReader(typicalPasswd), strings.NewReader(typicalGroup))
	if err != nil {
		name, _, _ := strings.Cut(s, ":") // GetExecUser's own split
		eu, err = user.GetExecUser(name, nil, strings.NewReader(typicalPasswd), strings.NewReader(typicalGroup))
	}
	return err == nil && eu.Uid == 0
}

// FuzzParseUser is a differential test: on arbitrary strings, ParseUser's
// Root agrees with the runtime's own parser.
func FuzzParseUser(f *testing.F) {
	for _, s := range []string{"root", "0", "00", "+0", "-0", "0:0", "1000:0", "root:app", "ROOT", " root", "app:root",
		"-", "+", "0x0", "１", ":", ":0", ":1000", "::", "-1", "2147483648", "99999999999999999999", "root:99999999999999999999",
		"www-data", "nobody:root", "0:a:b", "0\n", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" {
			return // unset: the image's default user, not a spec the runtime resolves
		}
		u := ParseUser(&s)
		if want := runtimeRunsAsRoot(s); u.Root != want {
			t.Fatalf("ParseUser(%q).Root = %v, the runtime's parser says %v", s, u.Root, want)
		}
		if u.Unset {
			t.Fatalf("ParseUser(%q).Unset = true", s)
		}
		if u.Root && (u.RootGroup || u.Unusual || u.Invalid) {
			t.Fatalf("ParseUser(%q) = %+v: root excludes the notes", s, u)
		}
	})
}

// FuzzEvaluate checks invariants of the whole task-definition-to-verdict
// path on arbitrary input: one verdict per container, no PASS for a
// privileged host container, nothing off host networking but NOT_APPLICABLE.
func FuzzEvaluate(f *testing.F) {
	f.Add("host", "c", "root", true, true, false)
	f.Add("bridge", "c", "0", true, true, true)
	f.Add("", "\xff", "\x00", false, false, false)
	f.Fuzz(func(t *testing.T, mode, name, user string, userSet, privileged, unsetFails bool) {
		c := Container{Name: name, Image: "i", Privileged: &privileged}
		if userSet {
			c.User = &user
		}
		td := TaskDefinition{NetworkMode: mode, Containers: []Container{c, c}}
		for _, compat := range []Compat{Control, AWSConfig} {
			vs := Evaluate(td, Options{Compat: compat, UnsetUserFails: unsetFails})
			if len(vs) != 2 {
				t.Fatalf("%d verdicts for 2 containers", len(vs))
			}
			v := vs[0]
			if mode != "host" && v.Result != NotApplicable {
				t.Fatalf("mode %q gave %s", mode, v.Result)
			}
			if mode == "host" && compat == Control && privileged && v.Result != Fail {
				t.Fatalf("privileged host container gave %s", v.Result)
			}
			if !utf8.ValidString(v.Reason) || strings.ContainsFunc(v.Reason, unicode.IsControl) || len(v.Reason) > 1024 {
				t.Fatalf("reason %q is not bounded, printable UTF-8", v.Reason)
			}
		}
	})
}
