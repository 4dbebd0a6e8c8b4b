package check

import (
	"strings"
	"testing"
)

// TestEvaluateHostAccess covers every setting the host-access rule names,
// with verdicts and severities written by hand from the list and
// Docker's documented behaviour, not from the rule's tables.
func TestEvaluateHostAccess(t *testing.T) {
	t.Parallel()
	sock, root, proc, varRun := "/var/run/docker.sock", "/", "/proc", "/var/run"
	vols := []Volume{
		{Name: "sock", HostPath: &sock},
		{Name: "root", HostPath: &root},
		{Name: "proc", HostPath: &proc},
		{Name: "varrun", HostPath: &varRun},
		{Name: "scratch"}, // Docker-managed: no host path
		{Name: "slashes", HostPath: ptr("//var//run/docker.sock/")},
		{Name: "dotdot", HostPath: ptr("/opt/app/../../proc/1")},
		{Name: "parent", HostPath: ptr("/var")},
		{Name: "data", HostPath: ptr("/data/app")},
		{Name: "lookalike", HostPath: ptr("/procfs")},
		{Name: "run", HostPath: ptr("/run/containerd/containerd.sock")},
		{Name: "sys", HostPath: ptr("/sys/fs/cgroup")},
		{Name: "dev", HostPath: ptr("/dev/")},
		{Name: "relative", HostPath: ptr("proc")},
	}
	mount := func(vol string) []Mount { return []Mount{{SourceVolume: vol, ContainerPath: "/mnt"}} }
	for _, tt := range []struct {
		name     string
		td       TaskDefinition // NetworkMode host unless set; Volumes vols
		c        Container
		result   Result
		severity string
		reason   string // a part of the reason
	}{
		{"nothing", TaskDefinition{}, Container{}, Pass, SeverityInformational, "no root-equivalent setting"},
		{"harmless capability", TaskDefinition{}, Container{CapabilitiesAdded: []string{"NET_BIND_SERVICE", "CHOWN"}}, Pass, SeverityInformational, ""},
		{"ALL", TaskDefinition{}, Container{CapabilitiesAdded: []string{"ALL"}}, Fail, SeverityCritical, "capability ALL"},
		{"all lower case", TaskDefinition{}, Container{CapabilitiesAdded: []string{"all"}}, Fail, SeverityCritical, "capability ALL"},
		{"CAP_ALL is refused by Docker", TaskDefinition{}, Container{CapabilitiesAdded: []string{"CAP_ALL"}}, Pass, SeverityInformational, ""},
		{"SYS_ADMIN", TaskDefinition{}, Container{CapabilitiesAdded: []string{"SYS_ADMIN"}}, Fail, SeverityCritical, "capability SYS_ADMIN"},
		{"cap_sys_admin", TaskDefinition{}, Container{CapabilitiesAdded: []string{"cap_sys_admin"}}, Fail, SeverityCritical, "capability SYS_ADMIN added (\"cap_sys_admin\")"},
		{"Cap_Sys_Module", TaskDefinition{}, Container{CapabilitiesAdded: []string{"Cap_Sys_Module"}}, Fail, SeverityCritical, "capability SYS_MODULE"},
		{"NET_ADMIN", TaskDefinition{}, Container{CapabilitiesAdded: []string{"NET_ADMIN"}}, Fail, SeverityHigh, "capability NET_ADMIN"},
		{"SYS_PTRACE", TaskDefinition{}, Container{CapabilitiesAdded: []string{"sys_ptrace"}}, Fail, SeverityHigh, "capability SYS_PTRACE"},
		{"DAC_READ_SEARCH", TaskDefinition{}, Container{CapabilitiesAdded: []string{"CAP_DAC_READ_SEARCH"}}, Fail, SeverityHigh, "capability DAC_READ_SEARCH"},
		{"double prefix is no capability", TaskDefinition{}, Container{CapabilitiesAdded: []string{"CAP_CAP_SYS_ADMIN"}}, Pass, SeverityInformational, ""},
		{"padded name is no capability", TaskDefinition{}, Container{CapabilitiesAdded: []string{" SYS_ADMIN"}}, Pass, SeverityInformational, ""},
		{"worst severity wins", TaskDefinition{}, Container{CapabilitiesAdded: []string{"NET_ADMIN", "SYS_ADMIN"}}, Fail, SeverityCritical, "NET_ADMIN"},
		{"pidMode host", TaskDefinition{PIDMode: "host"}, Container{}, Fail, SeverityHigh, "pidMode host"},
		{"pidMode task", TaskDefinition{PIDMode: "task"}, Container{}, Pass, SeverityInformational, ""},
		{"ipcMode host", TaskDefinition{IPCMode: "host"}, Container{}, Fail, SeverityMedium, "ipcMode host"},
		{"ipcMode none", TaskDefinition{IPCMode: "none"}, Container{}, Pass, SeverityInformational, ""},
		{"docker socket", TaskDefinition{}, Container{Mounts: mount("sock")}, Fail, SeverityCritical, "Docker socket"},
		{"docker socket, slashes", TaskDefinition{}, Container{Mounts: mount("slashes")}, Fail, SeverityCritical, "Docker socket"},
		{"containerd socket", TaskDefinition{}, Container{Mounts: mount("run")}, Fail, SeverityCritical, "containerd socket"},
		{"host root", TaskDefinition{}, Container{Mounts: mount("root")}, Fail, SeverityCritical, "whole filesystem"},
		{"/proc", TaskDefinition{}, Container{Mounts: mount("proc")}, Fail, SeverityHigh, "/proc"},
		{"below /proc through ..", TaskDefinition{}, Container{Mounts: mount("dotdot")}, Fail, SeverityHigh, "/proc"},
		{"relative proc", TaskDefinition{}, Container{Mounts: mount("relative")}, Fail, SeverityHigh, "/proc"},
		{"/sys/fs/cgroup", TaskDefinition{}, Container{Mounts: mount("sys")}, Fail, SeverityHigh, "/sys"},
		{"/dev/", TaskDefinition{}, Container{Mounts: mount("dev")}, Fail, SeverityHigh, "devices"},
		{"/var/run", TaskDefinition{}, Container{Mounts: mount("varrun")}, Fail, SeverityCritical, "Docker socket"}, // holds docker.sock
		{"/var holds the socket", TaskDefinition{}, Container{Mounts: mount("parent")}, Fail, SeverityCritical, "Docker socket"},
		{"a data directory", TaskDefinition{}, Container{Mounts: mount("data")}, Pass, SeverityInformational, ""},
		{"a look-alike of /proc", TaskDefinition{}, Container{Mounts: mount("lookalike")}, Pass, SeverityInformational, ""},
		{"a Docker-managed volume", TaskDefinition{}, Container{Mounts: mount("scratch")}, Pass, SeverityInformational, ""},
		{"an unknown volume", TaskDefinition{}, Container{Mounts: mount("nope")}, Pass, SeverityInformational, ""},
		{"host device", TaskDefinition{}, Container{Devices: []string{"/dev/fuse"}}, Fail, SeverityHigh, "host device \"/dev/fuse\""},
		{"socket through volumesFrom", TaskDefinition{Containers: []Container{{Name: "agent", Mounts: mount("sock")}}},
			Container{VolumesFrom: []string{"agent"}}, Fail, SeverityCritical, "through volumesFrom \"agent\""},
		{"volumesFrom, transitively", TaskDefinition{Containers: []Container{{Name: "a", VolumesFrom: []string{"b"}}, {Name: "b", Mounts: mount("proc")}}},
			Container{VolumesFrom: []string{"a"}}, Fail, SeverityHigh, "through volumesFrom \"b\""},
		{"volumesFrom a cycle", TaskDefinition{Containers: []Container{{Name: "a", VolumesFrom: []string{"x"}}}},
			Container{VolumesFrom: []string{"a"}}, Pass, SeverityInformational, ""},
		{"the control's settings are not this rule's", TaskDefinition{}, Container{Privileged: ptr(true), User: ptr("root")}, Pass, SeverityInformational, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			td := tt.td
			td.NetworkMode, td.Volumes = "host", vols
			c := tt.c
			c.Name = "x"
			td.Containers = append([]Container{c}, td.Containers...)
			v := EvaluateHostAccess(td)[0]
			if v.Result != tt.result || v.Severity != tt.severity || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("got %s %s %q, want %s %s containing %q", v.Result, v.Severity, v.Reason, tt.result, tt.severity, tt.reason)
			}
			if v.RuleID != HostAccessRuleID || v.RuleVersion != HostAccessRuleVersion || v.Container != "x" {
				t.Errorf("verdict names %s v%s container %q", v.RuleID, v.RuleVersion, v.Container)
			}
		})
	}
}

func TestHostAccessAppliesToHostNetworkingOnly(t *testing.T) {
	t.Parallel()
	c := Container{Name: "c", CapabilitiesAdded: []string{"ALL"}}
	for _, mode := range []string{"", "bridge", "awsvpc", "none", "HOST"} {
		if vs := EvaluateHostAccess(TaskDefinition{NetworkMode: mode, PIDMode: "host", Containers: []Container{c}}); len(vs) != 0 {
			t.Errorf("network mode %q: %d verdicts", mode, len(vs))
		}
	}
	if vs := EvaluateHostAccess(TaskDefinition{NetworkMode: "host", Containers: []Container{c, {Name: "d"}}}); len(vs) != 2 || vs[0].Result != Fail || vs[1].Result != Pass {
		t.Errorf("two containers: %+v", vs)
	}
}

func TestHostAccessLeavesTheControlAlone(t *testing.T) {
	t.Parallel()
	// A container the control passes (not privileged, user 1000) and the
	// host-access rule fails: the control's verdict is the same with the
	// second rule on or off.
	td := TaskDefinition{NetworkMode: "host", PIDMode: "host", Containers: []Container{{Name: "c", Privileged: ptr(false), User: ptr("1000"), CapabilitiesAdded: []string{"SYS_ADMIN"}}}}
	off, on := Evaluate(td, Options{}), Evaluate(td, Options{HostAccess: true})
	if off[0] != on[0] || on[0].Result != Pass {
		t.Fatalf("control verdict changed: %+v vs %+v", off[0], on[0])
	}
	if v := EvaluateHostAccess(td)[0]; v.Result != Fail {
		t.Fatalf("host access: %+v", v)
	}
}

func TestHostAccessQuotesHostileStrings(t *testing.T) {
	t.Parallel()
	evil := "/proc/\n\x1b[31m"
	td := TaskDefinition{NetworkMode: "host", Volumes: []Volume{{Name: "v", HostPath: &evil}}, Containers: []Container{
		{Name: "c", Mounts: []Mount{{SourceVolume: "v", ContainerPath: "\r"}}, CapabilitiesAdded: []string{"cap_sys_admin\x00"}, Devices: []string{"\x1b"}}}}
	v := EvaluateHostAccess(td)[0]
	if v.Result != Fail || strings.ContainsAny(v.Reason, "\n\r\x1b\x00") {
		t.Fatalf("%s %q", v.Result, v.Reason)
	}
}
