package check

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// HostAccessRuleID names the second rule: root-equivalent settings next to
// host networking. It is not part of the control, whose verdicts it never
// changes.
const HostAccessRuleID = "ECSAUDIT.HOSTNET.2"

// HostAccessRuleVersion changes whenever a host-access verdict for the same
// input could change.
const HostAccessRuleVersion = "1"

// Volume is a task-level volume. HostPath is the host path it binds: its
// host.sourcePath, or the device of a Docker "local" driver volume mounted
// with the bind option (driverOpts o=bind, which Docker's local driver
// mounts as a bind of the host path); nil when the volume is not a bind
// mount of the host (Docker-managed, EFS, FSx, …).
type Volume struct {
	Name     string
	HostPath *string
}

// Mount is a container's mount point of a task volume.
type Mount struct {
	SourceVolume  string
	ContainerPath string
}

// maxSettings and maxReason bound how many settings a reason names, and
// its length in bytes (the first setting is always named).
const (
	maxSettings = 8
	maxReason   = 1024
)

// hostCapabilities are the capabilities that, added to a container on the
// host's network, amount to host access, with why and how severe.
var hostCapabilities = map[string]struct{ why, severity string }{
	"ALL":             {"every capability: as good as privileged", SeverityCritical},
	"SYS_ADMIN":       {"mount, namespaces, cgroups: the usual container escape", SeverityCritical},
	"SYS_MODULE":      {"loads kernel modules into the host's kernel", SeverityCritical},
	"SYS_PTRACE":      {"traces and injects into processes it can see", SeverityHigh},
	"NET_ADMIN":       {"reconfigures the host's own network stack (interfaces, routes, firewall)", SeverityHigh},
	"DAC_READ_SEARCH": {"reads any file by handle, past permissions (open_by_handle_at)", SeverityHigh},
}

// hostPaths are host paths whose bind mount hands over the host, with why
// and how severe. A mount of one of them, of a directory above one, or of
// anything below /proc, /sys or /dev counts.
var hostPaths = []struct{ path, why, severity string }{
	{"/var/run/docker.sock", "the Docker socket: starts privileged containers on the host", SeverityCritical},
	{"/run/docker.sock", "the Docker socket: starts privileged containers on the host", SeverityCritical},
	{"/run/containerd/containerd.sock", "the containerd socket: starts containers on the host", SeverityCritical},
	{"/proc", "the host's /proc: its processes and kernel settings", SeverityHigh},
	{"/sys", "the host's /sys: kernel and device settings", SeverityHigh},
	{"/dev", "the host's devices", SeverityHigh},
}

// EvaluateHostAccess returns the host-access rule's verdict for every
// container of a host-network task definition, in container order, and
// nothing for any other network mode: the rule does not apply there. A container fails when it, or its
// task, holds a setting that gives host access on the host's network: added
// capabilities such as ALL or SYS_ADMIN (read as Docker reads them, see
// Capability), pidMode or ipcMode host, a bind mount (its own or through
// volumesFrom) of the Docker or containerd socket or of /, /proc, /sys,
// /dev, /run, /var/run or a directory above them (paths normalised first),
// or a host device.
func EvaluateHostAccess(td TaskDefinition) []Verdict {
	if td.NetworkMode != "host" {
		return nil
	}
	volumes := map[string]*string{}
	for _, v := range td.Volumes {
		volumes[v.Name] = v.HostPath
	}
	out := make([]Verdict, 0, len(td.Containers))
	for _, c := range td.Containers {
		out = append(out, hostAccess(td, c, volumes))
	}
	return out
}

func hostAccess(td TaskDefinition, c Container, volumes map[string]*string) Verdict {
	v := Verdict{Container: c.Name, Image: c.Image, RuleID: HostAccessRuleID, RuleVersion: HostAccessRuleVersion, Severity: SeverityInformational}
	v.UserUnset = ParseUser(c.User).Unset
	var found []string
	more, length := 0, 0
	raise := func(severity, reason string) {
		// A hostile definition can list thousands of devices, each with a
		// long name: the reason names the first settings that fit.
		if len(found) == 0 || (len(found) < maxSettings && length+2+len(reason) <= maxReason) {
			found = append(found, reason)
			length += 2 + len(reason)
		} else {
			more++
		}
		if rank(severity) > rank(v.Severity) {
			v.Severity = severity
		}
	}
	var caps []string
	for _, raw := range c.CapabilitiesAdded {
		name := Capability(raw)
		if k, ok := hostCapabilities[name]; ok && !slices.Contains(caps, name) {
			caps = append(caps, name)
			raise(k.severity, "capability "+name+" added ("+quote(raw)+"): "+k.why)
		}
	}
	if td.PIDMode == "host" {
		raise(SeverityHigh, "pidMode host: sees and signals every process of the host")
	}
	if td.IPCMode == "host" {
		raise(SeverityMedium, "ipcMode host: shares the host's shared memory and semaphores")
	}
	for _, m := range mounts(td, c) {
		host, ok := volumes[m.SourceVolume]
		if !ok || host == nil {
			continue
		}
		if why, severity := hostPath(*host); why != "" {
			via := ""
			if m.from != "" {
				via = " (through volumesFrom " + quote(m.from) + ")"
			}
			raise(severity, "bind mount of host path "+quote(*host)+" at "+quote(m.ContainerPath)+via+": "+why)
		}
	}
	for _, d := range c.Devices {
		raise(SeverityHigh, "host device "+quote(d)+" passed in")
	}
	if len(found) == 0 {
		v.Result = Pass
		v.Reason = "host networking, no root-equivalent setting (capabilities, pid/ipc mode host, host mounts, devices)"
		return v
	}
	v.Result = Fail
	if more > 0 {
		found = append(found, fmt.Sprintf("and %d more", more))
	}
	v.Reason = strings.Join(found, "; ")
	return v
}

// Capability reads a capability name as Docker does (NormalizeLegacyCapabilities):
// upper-cased by strings.ToUpper, the magic value ALL as it is, any other
// name with its CAP_ prefix optional. It returns the name without the
// prefix, or "" for a spelling Docker refuses as no capability (CAP_ALL).
func Capability(raw string) string {
	c := strings.ToUpper(raw)
	if c == "ALL" {
		return c
	}
	c = strings.TrimPrefix(c, "CAP_")
	if c == "ALL" {
		return "" // CAP_ALL is not the magic value: Docker refuses it
	}
	return c
}

// inherited is a mount a container has, with the container it took it from
// through volumesFrom ("" for its own).
type inherited struct {
	Mount
	from string
}

// mounts returns c's own mount points and those it takes from other
// containers of the task through volumesFrom, transitively, as Docker
// copies a source container's mounts, its inherited ones included.
func mounts(td TaskDefinition, c Container) []inherited {
	byName := map[string]Container{}
	for _, o := range td.Containers {
		if _, dup := byName[o.Name]; !dup {
			byName[o.Name] = o
		}
	}
	var out []inherited
	seen := map[string]bool{c.Name: true}
	var walk func(c Container, from string)
	walk = func(c Container, from string) {
		for _, m := range c.Mounts {
			out = append(out, inherited{m, from})
		}
		for _, name := range c.VolumesFrom {
			src, ok := byName[name]
			if !ok || seen[name] {
				continue
			}
			seen[name] = true
			walk(src, name)
		}
	}
	walk(c, "")
	return out
}

// hostPath says why a bind mount of host path p gives host access, or "".
// The path is normalised first: trailing and duplicate slashes and ".."
// make no difference.
func hostPath(p string) (why, severity string) {
	if p == "" {
		return "", ""
	}
	p = path.Clean("/" + p)
	if p == "/" {
		return "the host's whole filesystem", SeverityCritical
	}
	for _, h := range hostPaths {
		if p == h.path || strings.HasPrefix(h.path, p+"/") {
			return h.why, h.severity // the path itself, or a directory that holds it
		}
	}
	for _, h := range hostPaths[3:] { // below /proc, /sys, /dev
		if strings.HasPrefix(p, h.path+"/") {
			return h.why, h.severity
		}
	}
	if p == "/var/run" || p == "/run" || strings.HasPrefix(p, "/var/run/") || strings.HasPrefix(p, "/run/") {
		return "the host's runtime directory: service sockets", SeverityHigh
	}
	return "", ""
}

// rank orders severities.
func rank(severity string) int {
	switch severity {
	case SeverityCritical:
		return 3
	case SeverityHigh:
		return 2
	case SeverityMedium:
		return 1
	}
	return 0
}
