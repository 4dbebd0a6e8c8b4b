package remediate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Plan file names under the output directory.
const PlanFile = "plan.md"

var (
	familyPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	accountPattern = regexp.MustCompile(`^\d{12}$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$`)
)

// CheckNames refuses an account, region or family that could not be a
// path component as it is: the files' names come from the API's answers,
// and a hostile one must not write outside the output directory.
func CheckNames(account, region, family string) error {
	if !accountPattern.MatchString(account) || !regionPattern.MatchString(region) || !familyPattern.MatchString(family) {
		return fmt.Errorf("account %q, region %q or family %q is not one ECS allows: no files written for it", account, region, family)
	}
	return nil
}

// Base returns the path of an item's files without their suffix, relative
// to the output directory: <account>/<region>/<family>-<revision>.
func (it Item) Base() string {
	return filepath.Join(it.Account, it.Region, fmt.Sprintf("%s-%d", it.Family, it.Revision))
}

// Write writes each item's files and the plan under dir, which it creates
// (or narrows) to mode 0700; every file is 0600: the register files hold
// the task definitions' environment values. Header is the plan's opening
// paragraph (where the failing revisions came from).
func Write(dir string, items []Item, header string) error {
	if err := mkdir(dir); err != nil {
		return err
	}
	for _, it := range items {
		if err := CheckNames(it.Account, it.Region, it.Family); err != nil {
			return err
		}
		base := filepath.Join(dir, it.Base())
		if it.Action != Register {
			// A file left by an earlier plan must not be taken for this one's.
			for _, suffix := range []string{".register.json", ".diff", ".backout.md"} {
				if err := os.Remove(base + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("remove %s: %w", base+suffix, err)
				}
			}
			continue
		}
		if err := mkdir(filepath.Dir(base)); err != nil {
			return err
		}
		name := filepath.Base(base)
		diff := Diff(name+" (now)", name+".register.json", string(it.Original.JSON()), string(it.Desired.JSON()))
		if err := errors.Join(
			writeFile(base+".register.json", it.Desired.JSON()),
			writeFile(base+".diff", []byte(diff)),
			writeFile(base+".backout.md", []byte(backout(it))),
		); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(dir, PlanFile), []byte(planMarkdown(items, header)))
}

func mkdir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("remediation directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("remediation directory: %w", err)
	}
	return nil
}

// writeFile writes b to path with mode 0600, whatever mode a file there had.
func writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// in is the line that says which account's credentials a command needs.
func in(it Item) string {
	return fmt.Sprintf("# with credentials in account %s", it.Account)
}

func newRevision(it Item) string {
	if it.NewARN != "" {
		return it.NewARN
	}
	return fmt.Sprintf("%s:<new revision>", it.Family)
}

// backout is how to return to the original revision after the rollout.
func backout(it Item) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Back out %s\n\nThe original revision stays registered and ACTIVE: nothing here deletes it.\n\n    original: %s\n    new:      %s\n\n", it.ARN, it.ARN, newRevision(it))
	services := 0
	for _, u := range it.Uses {
		if u.Service != "" {
			services++
		}
	}
	if services > 0 {
		fmt.Fprintf(&b, "Return each service to the original revision:\n\n```sh\n%s\n", in(it))
		for _, u := range it.Uses {
			if u.Service != "" {
				fmt.Fprintf(&b, "aws ecs update-service --region %s --cluster %s --service %s --task-definition %s\n", it.Region, u.ClusterName(), u.Service, it.ARN)
			}
		}
		b.WriteString("```\n\n")
	}
	for _, u := range it.Uses {
		if u.Service == "" {
			fmt.Fprintf(&b, "Standalone tasks in cluster %s (started by %s) run whatever revision their starter names: point it back at %s.\n\n", u.ClusterName(), orUnknown(u.StartedBy), it.ARN)
		}
	}
	if !it.UsageKnown {
		fmt.Fprintf(&b, "What runs the revision is not known (%s): find its services before the rollout, and return each to %s.\n\n", it.UsageNote, it.ARN)
	}
	fmt.Fprintf(&b, "Then, once nothing runs it, retire the new revision:\n\n```sh\n%s\naws ecs deregister-task-definition --region %s --task-definition %s\n```\n", in(it), it.Region, newRevision(it))
	return b.String()
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// alternatives is the judgment a fix that takes privileges away needs.
const alternatives = `Removing ` + "`privileged`" + ` is the change the control asks for, but a container that really needs privileges (a host monitoring or security agent, say) may stop working without them. If it does, instead of this revision:

- give it another network mode: the control covers host networking only. ` + "`awsvpc`" + ` (its own ENI; ports no longer on the host's interfaces) or ` + "`bridge`" + ` (ports mapped explicitly) keep the container off the host's network stack; check what listens on which port, and that security groups allow it;
- or grant it only the Linux capabilities it uses instead of ` + "`privileged`" + `: ` + "`linuxParameters.capabilities.add`" + ` (for example ` + "`SYS_PTRACE`" + `, ` + "`NET_ADMIN`" + `, ` + "`SYS_ADMIN`" + `), which the control does not fail; and a non-root ` + "`user`" + ` still.
`

func planMarkdown(items []Item, header string) string {
	var b strings.Builder
	b.WriteString("# Remediation plan: ECSAUDIT.HOSTNET.1\n\n")
	b.WriteString(header)
	b.WriteString("\n\nThe `.register.json` files hold the task definitions' environment values, as they must to register faithful copies: keep this directory local (mode 0700, files 0600); never commit, upload or share it. `secrets` stay references.\n\n")
	var reg, dereg, blocked []Item
	for _, it := range items {
		switch it.Action {
		case Register:
			reg = append(reg, it)
		case Deregister:
			dereg = append(dereg, it)
		case Blocked:
			blocked = append(blocked, it)
		}
	}
	fmt.Fprintf(&b, "%d failing revisions: %d to fix with a new revision, %d nothing uses (deregister), %d blocked on a user to choose.\n\n", len(items), len(reg), len(dereg), len(blocked))
	b.WriteString("| account | region | revision | action | what runs it |\n|---|---|---|---|---|\n")
	for _, it := range items {
		fmt.Fprintf(&b, "| %s | %s | %s:%d | %s | %s |\n", it.Account, it.Region, it.Family, it.Revision, it.Action, runs(it))
	}
	b.WriteString("\n## Order\n\n")
	b.WriteString("1. Register the new revisions (section per revision below): `ecsaudit remediate --apply` with the same input, or `aws ecs register-task-definition --region <region> --cli-input-json file://<file>.register.json` with credentials in the account. Registering changes nothing that runs.\n")
	b.WriteString("2. Roll out one service at a time, least critical first: `aws ecs update-service … --task-definition <new revision>`, and wait for the deployment to finish healthy before the next. Standalone tasks take the new revision when their starter names it.\n")
	b.WriteString("3. If a service fails on the new revision, back out (its `.backout.md`): update the service back to the original revision.\n")
	b.WriteString("4. Deregister the revisions nothing uses, and the originals once nothing runs them.\n")
	for _, it := range reg {
		fmt.Fprintf(&b, "\n## %s:%d in %s %s — register\n\n", it.Family, it.Revision, it.Account, it.Region)
		changes(&b, it)
		fmt.Fprintf(&b, "\nRuns it: %s.\n\nFiles: `%s.register.json` (the new revision, complete), `%s.diff` (exactly what changes), `%s.backout.md`.\n", runs(it), it.Base(), it.Base(), it.Base())
		if it.NewARN != "" {
			fmt.Fprintf(&b, "\nApplied: %s %s.\n", it.Applied, it.NewARN)
		}
		if svc := services(it); len(svc) > 0 {
			fmt.Fprintf(&b, "\nRoll out:\n\n```sh\n%s\n", in(it))
			for _, u := range svc {
				fmt.Fprintf(&b, "aws ecs update-service --region %s --cluster %s --service %s --task-definition %s\n", it.Region, u.ClusterName(), u.Service, newRevision(it))
			}
			b.WriteString("```\n")
		}
		fmt.Fprintf(&b, "\nBack out: return to %s (commands in `%s.backout.md`).\n", it.ARN, it.Base())
		if it.Privileged() {
			b.WriteString("\nNeeds judgment. ")
			b.WriteString(alternatives)
		}
	}
	for _, it := range blocked {
		fmt.Fprintf(&b, "\n## %s:%d in %s %s — blocked\n\n", it.Family, it.Revision, it.Account, it.Region)
		changes(&b, it)
		b.WriteString("\nNo register file was written: a container that runs as root, or as the image's default user (often root), needs a non-root user, and ecsaudit does not invent one. Choose the user the image supports (`--user`, or `--user-map` for this family and container) and run again.\n")
		fmt.Fprintf(&b, "\nRuns it: %s.\n", runs(it))
	}
	for _, it := range dereg {
		if it.Status != "" && it.Status != "ACTIVE" {
			fmt.Fprintf(&b, "\n## %s:%d in %s %s — deregister\n\nNothing runs it (%s), and it is %s already: no new revision, and nothing to deregister. `aws ecs delete-task-definitions` would delete it for good.\n", it.Family, it.Revision, it.Account, it.Region, it.UsageNote, it.Status)
			continue
		}
		fmt.Fprintf(&b, "\n## %s:%d in %s %s — deregister\n\nNothing runs it (%s). Instead of a new revision:\n\n```sh\n%s\naws ecs deregister-task-definition --region %s --task-definition %s\n```\n\nBack out: a deregistered (INACTIVE) revision cannot be made ACTIVE again; register a copy from the scan's data if it is needed after all.\n", it.Family, it.Revision, it.Account, it.Region, it.UsageNote, in(it), it.Region, it.ARN)
	}
	return b.String()
}

func changes(b *strings.Builder, it Item) {
	for _, c := range it.Changes {
		var what []string
		if c.PrivilegedRemoved {
			what = append(what, "`privileged` removed")
		}
		before := "unset"
		if c.UserBefore != nil {
			before = fmt.Sprintf("%q", *c.UserBefore)
		}
		switch {
		case c.UserAfter != "":
			what = append(what, fmt.Sprintf("`user` %s → %q", before, c.UserAfter))
		case c.NeedsUser:
			what = append(what, fmt.Sprintf("**`user` %s needs a non-root user: none chosen**", before))
		}
		fmt.Fprintf(b, "- container `%s` (%s): %s\n", c.Container, c.Reason, strings.Join(what, "; "))
	}
}

func services(it Item) []Use {
	var out []Use
	for _, u := range it.Uses {
		if u.Service != "" {
			out = append(out, u)
		}
	}
	return out
}

// runs says what runs the revision, in a few words.
func runs(it Item) string {
	if !it.UsageKnown {
		return "unknown (" + it.UsageNote + ")"
	}
	if len(it.Uses) == 0 {
		return "nothing"
	}
	var parts []string
	for _, u := range it.Uses {
		if u.Service != "" {
			parts = append(parts, fmt.Sprintf("service %s/%s (desired %d, running %d)", u.ClusterName(), u.Service, u.DesiredCount, u.RunningCount))
		} else {
			parts = append(parts, fmt.Sprintf("%d standalone tasks in %s (started by %s)", u.RunningTasks, u.ClusterName(), orUnknown(u.StartedBy)))
		}
	}
	return strings.Join(parts, ", ")
}
