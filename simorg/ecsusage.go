package simorg

import (
	"strings"
	"time"
)

// servedSince is when every simulated service was created.
var servedSince = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

// The wire shapes of ECS's cluster, service and task reads: the fields the
// real API sends that a reader of usage might look at.
type (
	ecsService struct {
		ServiceArn     string          `json:"serviceArn"`
		ServiceName    string          `json:"serviceName"`
		ClusterArn     string          `json:"clusterArn"`
		Status         string          `json:"status"`
		DesiredCount   int32           `json:"desiredCount"`
		RunningCount   int32           `json:"runningCount"`
		PendingCount   int32           `json:"pendingCount"`
		LaunchType     string          `json:"launchType"`
		TaskDefinition string          `json:"taskDefinition"`
		Deployments    []ecsDeployment `json:"deployments"`
		CreatedAt      epoch           `json:"createdAt"`
	}
	ecsDeployment struct {
		ID             string `json:"id"`
		Status         string `json:"status"`
		TaskDefinition string `json:"taskDefinition"`
		DesiredCount   int32  `json:"desiredCount"`
		RunningCount   int32  `json:"runningCount"`
		PendingCount   int32  `json:"pendingCount"`
		LaunchType     string `json:"launchType"`
		RolloutState   string `json:"rolloutState"`
		CreatedAt      epoch  `json:"createdAt"`
		UpdatedAt      epoch  `json:"updatedAt"`
	}
	ecsTask struct {
		TaskArn              string           `json:"taskArn"`
		ClusterArn           string           `json:"clusterArn"`
		TaskDefinitionArn    string           `json:"taskDefinitionArn"`
		ContainerInstanceArn string           `json:"containerInstanceArn,omitempty"`
		LaunchType           string           `json:"launchType"`
		StartedAt            epoch            `json:"startedAt"`
		StartedBy            string           `json:"startedBy,omitempty"`
		Group                string           `json:"group"`
		LastStatus           string           `json:"lastStatus"`
		DesiredStatus        string           `json:"desiredStatus"`
		Overrides            ecsTaskOverrides `json:"overrides"`
	}
	ecsTaskOverrides struct {
		ContainerOverrides []ecsContainerOverride `json:"containerOverrides"`
	}
	ecsContainerOverride struct {
		Name        string     `json:"name"`
		Environment []KeyValue `json:"environment,omitempty"`
	}
	ecsFailure struct {
		Arn    string `json:"arn"`
		Reason string `json:"reason"`
	}
)

// cluster finds the request's cluster by name or ARN ("default" when
// none is given).
func (s *Server) cluster(c *call, name string) (Cluster, int, *apiError) {
	if name == "" {
		name = "default"
	}
	if rest, ok := strings.CutPrefix(name, "arn:"); ok {
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) != 5 || parts[2] != c.who.region || parts[3] != c.who.account || !strings.HasPrefix(parts[4], "cluster/") {
			return Cluster{}, 0, &apiError{status: 400, code: "ClusterNotFoundException", message: "Cluster not found."}
		}
		name = strings.TrimPrefix(parts[4], "cluster/")
	}
	for i, cl := range s.org.Clusters(c.who.account, c.who.region) {
		if cl.Name == name {
			return cl, i, nil
		}
	}
	return Cluster{}, 0, &apiError{status: 400, code: "ClusterNotFoundException", message: "Cluster not found."}
}

// pageOf reads maxResults (1 to 100, default def) and nextToken.
func pageOf(in ecsRequest, n, def int) (start, limit int, e *apiError) {
	if in.MaxResults == nil {
		in.MaxResults = &def
	}
	return pageBounds(in, n)
}

// listPage writes one page of n items, as ECS's List operations do: the
// ARNs under key (item i's is arn(i)) and a nextToken while more remain.
func (s *Server) listPage(c *call, in ecsRequest, n, def int, key string, arn func(i int) string) {
	start, limit, e := pageOf(in, n, def)
	if e != nil {
		s.fail(c, e)
		return
	}
	end := min(start+limit, n)
	arns := []string{}
	for i := start; i < end; i++ {
		arns = append(arns, arn(i))
	}
	out := map[string]any{key: arns}
	if end < n {
		out["nextToken"] = encodeToken(end, c.seq)
	}
	writeJSON(c, out)
}

func (s *Server) listClusters(c *call, in ecsRequest) {
	cls := s.org.Clusters(c.who.account, c.who.region)
	s.listPage(c, in, len(cls), 100, "clusterArns", func(i int) string {
		return s.org.clusterARN(c.who.region, c.who.account, cls[i].Name)
	})
}

func (s *Server) serviceARN(c *call, cluster, name string) string {
	return strings.Replace(s.org.clusterARN(c.who.region, c.who.account, cluster), ":cluster/", ":service/", 1) + "/" + name
}

func (s *Server) listServices(c *call, in ecsRequest) {
	cl, _, e := s.cluster(c, in.Cluster)
	if e != nil {
		s.fail(c, e)
		return
	}
	s.listPage(c, in, len(cl.Services), 10, "serviceArns", func(i int) string {
		return s.serviceARN(c, cl.Name, cl.Services[i].Name)
	})
}

func (s *Server) describeServices(c *call, in ecsRequest) {
	cl, _, e := s.cluster(c, in.Cluster)
	if e != nil {
		s.fail(c, e)
		return
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		s.fail(c, invalidParameter("services must name 1 to 10 services."))
		return
	}
	region, acct := c.who.region, c.who.account
	services, failures := []ecsService{}, []ecsFailure{}
	for _, want := range in.Services {
		name := want[strings.LastIndexByte(want, '/')+1:]
		found := false
		for _, sv := range cl.Services {
			if sv.Name != name || (strings.HasPrefix(want, "arn:") && want != s.serviceARN(c, cl.Name, sv.Name)) {
				continue
			}
			found = true
			lt := sv.LaunchType
			if lt == "" {
				lt = "EC2"
			}
			w := ecsService{
				ServiceArn: s.serviceARN(c, cl.Name, sv.Name), ServiceName: sv.Name,
				ClusterArn: s.org.clusterARN(region, acct, cl.Name), Status: "ACTIVE", LaunchType: lt,
				CreatedAt: epoch(servedSince), Deployments: []ecsDeployment{},
			}
			for di, d := range sv.Deployments {
				td := s.org.refARN(region, acct, d.TaskDefinition)
				if d.Status == DeploymentPrimary {
					w.TaskDefinition, w.DesiredCount = td, d.DesiredCount
				}
				w.RunningCount += d.RunningCount
				w.Deployments = append(w.Deployments, ecsDeployment{
					ID: "ecs-svc/" + strings.Repeat("1", 10) + string(rune('0'+di%10)), Status: d.Status, TaskDefinition: td,
					DesiredCount: d.DesiredCount, RunningCount: d.RunningCount, LaunchType: lt, RolloutState: "COMPLETED",
					CreatedAt: epoch(servedSince), UpdatedAt: epoch(servedSince),
				})
			}
			services = append(services, w)
		}
		if !found {
			failures = append(failures, ecsFailure{Arn: want, Reason: "MISSING"})
		}
	}
	writeJSON(c, map[string]any{"services": services, "failures": failures})
}

func (s *Server) listTasks(c *call, in ecsRequest) {
	cl, _, e := s.cluster(c, in.Cluster)
	if e != nil {
		s.fail(c, e)
		return
	}
	switch in.DesiredStatus {
	case "", "RUNNING", "PENDING", "STOPPED":
	default:
		s.fail(c, invalidParameter("desiredStatus must be one of RUNNING, PENDING, STOPPED."))
		return
	}
	var tasks []runningTask
	if in.DesiredStatus == "" || in.DesiredStatus == "RUNNING" {
		for _, t := range s.org.tasks(s.org.acctIdx[c.who.account], s.org.regionIdx[c.who.region], cl) {
			if in.ServiceName == "" || t.group == "service:"+in.ServiceName {
				tasks = append(tasks, t)
			}
		}
	}
	s.listPage(c, in, len(tasks), 100, "taskArns", func(i int) string {
		return s.taskARN(c, cl.Name, tasks[i].id)
	})
}

func (s *Server) taskARN(c *call, cluster, id string) string {
	return strings.Replace(s.org.clusterARN(c.who.region, c.who.account, cluster), ":cluster/", ":task/", 1) + "/" + id
}

func (s *Server) describeTasks(c *call, in ecsRequest) {
	cl, _, e := s.cluster(c, in.Cluster)
	if e != nil {
		s.fail(c, e)
		return
	}
	if len(in.Tasks) == 0 || len(in.Tasks) > 100 {
		s.fail(c, invalidParameter("tasks must name 1 to 100 tasks."))
		return
	}
	byID := map[string]runningTask{}
	for _, t := range s.org.tasks(s.org.acctIdx[c.who.account], s.org.regionIdx[c.who.region], cl) {
		byID[t.id] = t
	}
	tasks, failures := []ecsTask{}, []ecsFailure{}
	for _, want := range in.Tasks {
		t, ok := byID[want[strings.LastIndexByte(want, '/')+1:]]
		if !ok {
			failures = append(failures, ecsFailure{Arn: want, Reason: "MISSING"})
			continue
		}
		w := ecsTask{
			TaskArn: s.taskARN(c, cl.Name, t.id), ClusterArn: s.org.clusterARN(c.who.region, c.who.account, cl.Name),
			TaskDefinitionArn: t.taskDefinition, ContainerInstanceArn: t.containerInstance, LaunchType: t.launchType,
			StartedAt: epoch(t.startedAt), StartedBy: t.startedBy, Group: t.group,
			LastStatus: "RUNNING", DesiredStatus: "RUNNING",
			Overrides: ecsTaskOverrides{ContainerOverrides: []ecsContainerOverride{}},
		}
		if len(t.env) > 0 {
			w.Overrides.ContainerOverrides = append(w.Overrides.ContainerOverrides, ecsContainerOverride{Name: "app", Environment: t.env})
		}
		tasks = append(tasks, w)
	}
	writeJSON(c, map[string]any{"tasks": tasks, "failures": failures})
}
