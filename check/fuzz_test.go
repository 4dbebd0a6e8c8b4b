package check

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzParseUser checks the user parser against an independent reading of
// the runtime's rule: the part before the first colon is root when it is
// "root" or parses as a base-10 integer equal to zero.
func FuzzParseUser(f *testing.F) {
	for _, s := range []string{"", "root", "0", "00", "+0", "-0", "0:0", "1000:0", "root:app", "ROOT", " root", "app:root", "-", "+", "0x0", "１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u := ParseUser(&s)
		name, _, _ := strings.Cut(s, ":")
		n, err := strconv.ParseInt(name, 10, 64)
		numericZero := err == nil && n == 0
		if err != nil && strings.Trim(strings.TrimLeft(name, "+-"), "0") == "" && len(strings.TrimLeft(name, "+-")) > 0 && len(name)-len(strings.TrimLeft(name, "+-")) == 1 {
			numericZero = true // more digits than int64 holds, all zero
		}
		wantRoot := s != "" && (name == "root" || numericZero)
		if u.Root != wantRoot {
			t.Fatalf("ParseUser(%q).Root = %v, want %v", s, u.Root, wantRoot)
		}
		if u.Unset != (s == "") {
			t.Fatalf("ParseUser(%q).Unset = %v", s, u.Unset)
		}
		if u.Root && (u.RootGroup || u.Unusual) {
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
