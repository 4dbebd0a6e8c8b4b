package check

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/docker/docker/oci/caps"
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

// dockerCapability asks Docker's own parser, NormalizeLegacyCapabilities in
// github.com/docker/docker/oci/caps, how it reads one capAdd entry: the
// name without CAP_ ("ALL" for the magic value), or "" when Docker refuses
// the entry.
func dockerCapability(raw string) string {
	norm, err := caps.NormalizeLegacyCapabilities([]string{raw})
	if err != nil || len(norm) != 1 {
		return ""
	}
	return strings.TrimPrefix(norm[0], "CAP_")
}

// FuzzCapability is a differential test: on arbitrary strings, every name
// Capability reads as one of the host-access rule's capabilities is the
// one Docker reads, and every entry Docker reads as one of them, Capability
// reads the same.
func FuzzCapability(f *testing.F) {
	for _, s := range []string{"ALL", "all", "CAP_ALL", "cap_all", "SYS_ADMIN", "cap_sys_admin", "CAP_CAP_SYS_ADMIN", " SYS_ADMIN",
		"ſys_admin", "net_admin", "Sys_Ptrace", "DAC_READ_SEARCH", "sys_module", "CHOWN", "", "CAP_", "\x00ALL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		ours, theirs := Capability(raw), dockerCapability(raw)
		_, oursHost := hostCapabilities[ours]
		_, theirsHost := hostCapabilities[theirs]
		if (oursHost || theirsHost) && ours != theirs {
			t.Fatalf("Capability(%q) = %q, Docker reads %q", raw, ours, theirs)
		}
	})
}

// FuzzEvaluateHostAccess checks invariants of the host-access rule on
// arbitrary input: one verdict per container on host networking and none
// elsewhere; a FAIL for ALL or a mount of the host's root however the path
// is spelled; the control's verdicts unchanged; reasons bounded, printable
// UTF-8.
func FuzzEvaluateHostAccess(f *testing.F) {
	f.Add("host", "SYS_ADMIN", "/var/run/docker.sock", "/dev/kvm", "host", "", 1)
	f.Add("host", "cap_all", "//", "", "", "host", 3)
	f.Add("bridge", "ALL", "/", "/dev/mem", "host", "host", 0)
	f.Add("host", "\xff", "/a/../../..//proc/", "\x1b", "task", "none", 200)
	f.Fuzz(func(t *testing.T, mode, capability, hostPath, device, pid, ipc string, devices int) {
		devices = min(max(devices, 0), 300)
		c := Container{Name: "c", Image: "i", CapabilitiesAdded: []string{capability},
			Mounts: []Mount{{SourceVolume: "v", ContainerPath: "/m"}}}
		for range devices {
			c.Devices = append(c.Devices, device)
		}
		td := TaskDefinition{NetworkMode: mode, PIDMode: pid, IPCMode: ipc,
			Volumes: []Volume{{Name: "v", HostPath: &hostPath}}, Containers: []Container{c, {Name: "d", VolumesFrom: []string{"c"}}}}
		vs := EvaluateHostAccess(td)
		if mode != "host" {
			if len(vs) != 0 {
				t.Fatalf("mode %q gave %d verdicts", mode, len(vs))
			}
			return
		}
		if len(vs) != 2 {
			t.Fatalf("%d verdicts for 2 containers", len(vs))
		}
		root := strings.Trim(hostPath, "/") == "" && hostPath != ""
		for _, v := range vs {
			if v.Result != Pass && v.Result != Fail {
				t.Fatalf("result %s", v.Result)
			}
			if (strings.EqualFold(capability, "ALL") || root || pid == "host") && v.Container == "c" && v.Result != Fail {
				t.Fatalf("%+v passed", v)
			}
			if root && v.Result != Fail {
				t.Fatalf("host root through volumesFrom passed: %+v", v)
			}
			if !utf8.ValidString(v.Reason) || strings.ContainsFunc(v.Reason, unicode.IsControl) || len(v.Reason) > 2048 {
				t.Fatalf("reason %q is not bounded, printable UTF-8", v.Reason)
			}
		}
		if a, b := Evaluate(td, Options{}), Evaluate(td, Options{HostAccess: true}); a[0] != b[0] || a[1] != b[1] {
			t.Fatalf("the host-access switch changed the control: %+v vs %+v", a, b)
		}
	})
}
