package simorg

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cluster is an ECS cluster of one account and region: its services and
// its standalone tasks (started by RunTask, not by a service).
type Cluster struct {
	Name     string    `json:"name"`
	Services []Service `json:"services,omitempty"`
	Tasks    []Task    `json:"tasks,omitempty"`
}

// Service is an ECS service. Each of its deployments runs RunningCount
// tasks, which ListTasks and DescribeTasks serve with the group
// "service:<name>".
type Service struct {
	Name string `json:"name"`
	// LaunchType is EC2, FARGATE or EXTERNAL; empty means EC2.
	LaunchType  string       `json:"launchType,omitempty"`
	Deployments []Deployment `json:"deployments"`
}

// Deployment is one of a service's deployments.
type Deployment struct {
	// Status is PRIMARY (one per service) or ACTIVE (an older deployment
	// still draining).
	Status string `json:"status"`
	// TaskDefinition is family:revision, a revision of the same account and
	// region, of any status.
	TaskDefinition string `json:"taskDefinition"`
	DesiredCount   int32  `json:"desiredCount"`
	RunningCount   int32  `json:"runningCount"`
}

// Task is a standalone task, Count times over.
type Task struct {
	// TaskDefinition is family:revision, as for a Deployment.
	TaskDefinition string `json:"taskDefinition"`
	// LaunchType is EC2, FARGATE or EXTERNAL; empty means EC2.
	LaunchType string `json:"launchType,omitempty"`
	StartedBy  string `json:"startedBy,omitempty"`
	// Count is the number of such tasks running; zero means 1.
	Count int `json:"count,omitempty"`
	// Environment is passed as a container override, as RunTask callers
	// often pass configuration and sometimes secrets: DescribeTasks
	// returns it, and it must never reach ecsaudit's output.
	Environment []KeyValue `json:"environment,omitempty"`
}

// The deployment statuses ECS reports for a running service.
const (
	DeploymentPrimary = "PRIMARY"
	DeploymentActive  = "ACTIVE"
)

// usageCatalog gives the clusters of each (account, region) pair, by index.
type usageCatalog interface {
	clusters(account, region int) []Cluster
}

// listUsage holds a fixture's clusters.
type listUsage map[[2]int][]Cluster

func (u listUsage) clusters(account, region int) []Cluster { return u[[2]int{account, region}] }

// Clusters returns the clusters of account and region, with their services
// and standalone tasks. For a generated Org it computes them on each call.
func (o *Org) Clusters(account, region string) []Cluster {
	ai, ok1 := o.acctIdx[account]
	ri, ok2 := o.regionIdx[region]
	if !ok1 || !ok2 || o.use == nil {
		return nil
	}
	return o.use.clusters(ai, ri)
}

// runningTask is one task as the server serves it.
type runningTask struct {
	id, taskDefinition, launchType, containerInstance string
	startedBy, group                                  string
	startedAt                                         time.Time
	env                                               []KeyValue
}

// tasks expands a cluster's services and standalone tasks into the tasks
// ListTasks and DescribeTasks serve, in a fixed order.
func (o *Org) tasks(ai, ri int, cl Cluster) []runningTask {
	region, acct := o.regions[ri].Name, o.accounts[ai].ID
	var out []runningTask
	add := func(t runningTask) {
		k := uint64(len(out))
		h := mix(uint64(ai), uint64(ri), hashString(cl.Name), k)
		t.id = fmt.Sprintf("%016x%016x", h, mix(h, 1))
		if t.launchType == "" {
			t.launchType = "EC2"
		}
		if t.launchType != "FARGATE" {
			t.containerInstance = fmt.Sprintf("arn:%s:ecs:%s:%s:container-instance/%s/%016x%016x",
				o.partition, region, acct, cl.Name, mix(h, 2)%3, uint64(ai))
		}
		t.startedAt = time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC).Add(time.Duration(h%(30*24*3600)) * time.Second)
		out = append(out, t)
	}
	for _, s := range cl.Services {
		for di, d := range s.Deployments {
			for range d.RunningCount {
				add(runningTask{
					taskDefinition: o.refARN(region, acct, d.TaskDefinition), launchType: s.LaunchType,
					startedBy: fmt.Sprintf("ecs-svc/%019d", mix(hashString(s.Name), uint64(di))%1e19),
					group:     "service:" + s.Name,
				})
			}
		}
	}
	for _, t := range cl.Tasks {
		family, _, _ := strings.Cut(t.TaskDefinition, ":")
		for range max(t.Count, 1) {
			add(runningTask{
				taskDefinition: o.refARN(region, acct, t.TaskDefinition), launchType: t.LaunchType,
				startedBy: t.StartedBy, group: "family:" + family, env: t.Environment,
			})
		}
	}
	return out
}

// refARN turns family:revision into the revision's ARN.
func (o *Org) refARN(region, account, ref string) string {
	family, rev, _ := strings.Cut(ref, ":")
	n, _ := strconv.ParseInt(rev, 10, 32)
	return o.taskDefinitionARN(region, account, family, int32(n))
}

func (o *Org) clusterARN(region, account, name string) string {
	return fmt.Sprintf("arn:%s:ecs:%s:%s:cluster/%s", o.partition, region, account, name)
}

// validateClusters checks one region's clusters of a fixture account;
// every task definition they name must be among the region's revisions.
func (v *validator) clusters(p string, cls []Cluster, tds []TaskDefinition) {
	revs := map[string]bool{}
	for _, td := range tds {
		revs[fmt.Sprintf("%s:%d", td.Family, td.Revision)] = true
	}
	launch := func(path, lt string) {
		switch lt {
		case "", "EC2", "FARGATE", "EXTERNAL":
		default:
			v.bad(path, "%q is not EC2, FARGATE or EXTERNAL", lt)
		}
	}
	ref := func(path, r string) {
		if !revs[r] {
			v.bad(path, "%q is not a revision of this account and region", r)
		}
	}
	names := map[string]bool{}
	for i, cl := range cls {
		cp := fmt.Sprintf("%s[%d]", p, i)
		if !familyPattern.MatchString(cl.Name) {
			v.bad(cp+".name", "%q is not a valid cluster name", cl.Name)
		} else if names[cl.Name] {
			v.bad(cp+".name", "%q appears twice", cl.Name)
		}
		names[cl.Name] = true
		services := map[string]bool{}
		for k, s := range cl.Services {
			sp := fmt.Sprintf("%s.services[%d]", cp, k)
			if !familyPattern.MatchString(s.Name) || services[s.Name] {
				v.bad(sp+".name", "%q is not a valid, unique service name", s.Name)
			}
			services[s.Name] = true
			launch(sp+".launchType", s.LaunchType)
			primary := 0
			for d, dep := range s.Deployments {
				dp := fmt.Sprintf("%s.deployments[%d]", sp, d)
				switch dep.Status {
				case DeploymentPrimary:
					primary++
				case DeploymentActive:
				default:
					v.bad(dp+".status", "%q is not PRIMARY or ACTIVE", dep.Status)
				}
				ref(dp+".taskDefinition", dep.TaskDefinition)
				if dep.DesiredCount < 0 || dep.RunningCount < 0 {
					v.bad(dp, "counts must not be negative")
				}
			}
			if primary != 1 {
				v.bad(sp+".deployments", "want exactly one PRIMARY deployment, have %d", primary)
			}
		}
		for k, t := range cl.Tasks {
			tp := fmt.Sprintf("%s.tasks[%d]", cp, k)
			ref(tp+".taskDefinition", t.TaskDefinition)
			launch(tp+".launchType", t.LaunchType)
			if t.Count < 0 {
				v.bad(tp+".count", "%d is negative", t.Count)
			}
		}
	}
}

// clusters computes a generated target's clusters: a "services" cluster
// with a service for ServiceShare of the families, on the family's latest
// ACTIVE revision (some with an older revision still draining), and a
// "batch" cluster with standalone tasks for StandaloneShare of the
// families, on any revision, deregistered ones included.
func (g *genCatalog) clusters(account, region int) []Cluster {
	if region >= g.enabled || (g.serviceShare == 0 && g.standaloneShare == 0) {
		return nil
	}
	sh := genShard{g: g, account: account, region: region}
	svc, batch := Cluster{Name: "services"}, Cluster{Name: "batch"}
	for f := range sh.families() {
		h := mix(g.seed, uint64(account), uint64(region), uint64(f), 20)
		name := sh.family(f)
		if unit(h) < g.serviceShare {
			if i, ok := latestActive(sh, f); ok {
				rev := sh.ref(i).revision
				desired := int32(1 + mix(h, 1)%3)
				s := Service{Name: name, Deployments: []Deployment{{
					Status: DeploymentPrimary, TaskDefinition: fmt.Sprintf("%s:%d", name, rev), DesiredCount: desired, RunningCount: desired,
				}}}
				if mix(h, 2)%2 == 0 {
					s.LaunchType = "FARGATE"
				}
				if rev > 1 && unit(mix(h, 3)) < 0.2 {
					s.Deployments = append(s.Deployments, Deployment{
						Status: DeploymentActive, TaskDefinition: fmt.Sprintf("%s:%d", name, rev-1), RunningCount: 1,
					})
				}
				svc.Services = append(svc.Services, s)
			}
		}
		hb := mix(g.seed, uint64(account), uint64(region), uint64(f), 21)
		if unit(hb) < g.standaloneShare {
			n := sh.familyStart(f+1) - sh.familyStart(f)
			rev := sh.ref(sh.familyStart(f) + int(mix(hb, 1)%uint64(n))).revision
			batch.Tasks = append(batch.Tasks, Task{
				TaskDefinition: fmt.Sprintf("%s:%d", name, rev), StartedBy: "events-rule/" + name,
				Count: 1 + int(mix(hb, 2)%2),
			})
		}
	}
	var out []Cluster
	if len(svc.Services) > 0 {
		out = append(out, svc)
	}
	if len(batch.Tasks) > 0 {
		out = append(out, batch)
	}
	return out
}
