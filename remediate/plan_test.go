package remediate

import (
	"testing"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/taskdefs"
)

func ptr[T any](v T) *T { return &v }

// revision is a host-mode revision with the given containers, and its
// register input as taskdefs builds it.
func revision(containers ...check.Container) taskdefs.Full {
	td := check.TaskDefinition{ARN: "arn:aws:ecs:eu-west-1:444444444444:task-definition/metrics:1", Family: "metrics", Revision: 1, NetworkMode: "host", Containers: containers}
	var defs []any
	for _, c := range containers {
		m := map[string]any{"name": c.Name, "image": c.Image, "essential": true}
		if c.Privileged != nil {
			m["privileged"] = *c.Privileged
		}
		if c.User != nil {
			m["user"] = *c.User
		}
		defs = append(defs, m)
	}
	return taskdefs.Full{TaskDefinition: td, Definition: taskdefs.Definition{"family": "metrics", "networkMode": "host", "containerDefinitions": defs}}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	used := []Use{{Cluster: "arn:aws:ecs:eu-west-1:444444444444:cluster/dev-eu", Service: "metrics"}}
	tests := []struct {
		name       string
		full       taskdefs.Full
		failing    []string
		users      Users
		uses       []Use
		known      bool
		action     Action
		containers []map[string]any // the desired containers, for Register
	}{
		{"privileged root agent: privileged removed, user chosen",
			revision(check.Container{Name: "agent", Image: "a", Privileged: ptr(true), User: ptr("0")}, check.Container{Name: "init", Image: "b", User: ptr("1000")}),
			nil, Users{Default: "1000:1000"}, used, true, Register,
			[]map[string]any{{"name": "agent", "image": "a", "essential": true, "user": "1000:1000"}, {"name": "init", "image": "b", "essential": true, "user": "1000"}}},
		{"privileged with a non-root user keeps its user",
			revision(check.Container{Name: "worker", Image: "w", Privileged: ptr(true), User: ptr("1000")}),
			nil, Users{}, used, true, Register,
			[]map[string]any{{"name": "worker", "image": "w", "essential": true, "user": "1000"}}},
		{"the map wins over the default",
			revision(check.Container{Name: "agent", Image: "a", User: ptr("root")}),
			nil, Users{Default: "1000", ByFamily: map[string]map[string]string{"metrics": {"agent": "cwagent"}}}, used, true, Register,
			[]map[string]any{{"name": "agent", "image": "a", "essential": true, "user": "cwagent"}}},
		{"no user chosen for a root container: blocked",
			revision(check.Container{Name: "agent", Image: "a", User: ptr("root")}),
			nil, Users{}, used, true, Blocked, nil},
		{"nothing runs it: deregister, even without a user",
			revision(check.Container{Name: "agent", Image: "a", User: ptr("root")}),
			nil, Users{}, nil, true, Deregister, nil},
		{"usage unknown: register, not deregister",
			revision(check.Container{Name: "agent", Image: "a", User: ptr("root")}),
			nil, Users{Default: "1000"}, nil, false, Register,
			[]map[string]any{{"name": "agent", "image": "a", "essential": true, "user": "1000"}}},
		{"a scan under --unset-user=fail named an unset-user container",
			revision(check.Container{Name: "web", Image: "w"}),
			[]string{"web"}, Users{Default: "1000"}, used, true, Register,
			[]map[string]any{{"name": "web", "image": "w", "essential": true, "user": "1000"}}},
		{"privileged false stays as it is",
			revision(check.Container{Name: "web", Image: "w", Privileged: ptr(false), User: ptr("root")}),
			nil, Users{Default: "1000"}, used, true, Register,
			[]map[string]any{{"name": "web", "image": "w", "essential": true, "privileged": false, "user": "1000"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			original := string(tt.full.Definition.JSON())
			it := Plan("444444444444", "eu-west-1", tt.full, tt.failing, tt.users, tt.uses, tt.known, "")
			if it.Action != tt.action {
				t.Fatalf("action %s, want %s", it.Action, tt.action)
			}
			if string(it.Original.JSON()) != original {
				t.Error("Plan changed the original definition")
			}
			if tt.action != Register {
				if it.Desired != nil {
					t.Error("a desired definition without a register action")
				}
				return
			}
			want := taskdefs.Definition{"family": "metrics", "networkMode": "host", "containerDefinitions": toAny(tt.containers)}
			if !it.Desired.Equal(want) {
				t.Errorf("desired =\n%s\nwant\n%s", it.Desired.JSON(), want.JSON())
			}
		})
	}
}

func toAny(ms []map[string]any) []any {
	out := make([]any, len(ms))
	for i, m := range ms {
		out[i] = m
	}
	return out
}

func TestValidateUser(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		user string
		ok   bool
	}{
		{"1000:1000", true}, {"nobody", true}, {"1000:0", true},
		{"", false}, {"0", false}, {"root", false}, {"root:1000", false}, {":1000", false}, {"00", false},
		{"ROOT", false}, {" 1000", false}, {"99999999999", false},
	} {
		if err := ValidateUser(tt.user); (err == nil) != tt.ok {
			t.Errorf("ValidateUser(%q) = %v, want ok %v", tt.user, err, tt.ok)
		}
	}
}

func TestParseARN(t *testing.T) {
	t.Parallel()
	got, err := ParseARN("arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/my-app:12")
	if err != nil || got.Account != "123456789012" || got.Region != "cn-north-1" {
		t.Errorf("ParseARN = %+v, %v", got, err)
	}
	for _, bad := range []string{"my-app:12", "arn:aws:ecs:us-east-1:123456789012:task-definition/my-app", "arn:aws:ecs:us-east-1:123456789012:service/c/s", "arn:aws:ecs:us-east-1:123456789012:task-definition/my-app:x", "arn:aws:iam::123456789012:role/r"} {
		if _, err := ParseARN(bad); err == nil {
			t.Errorf("ParseARN(%q) accepted", bad)
		}
	}
}
