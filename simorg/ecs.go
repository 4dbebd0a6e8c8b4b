package simorg

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// epoch is a timestamp in awsJson's epoch-seconds form.
type epoch time.Time

// MarshalJSON writes seconds since the epoch with millisecond precision.
func (e epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return []byte(strconv.FormatInt(ms/1000, 10) + "." + strconv.FormatInt(1000+ms%1000, 10)[1:]), nil
}

type ecsRequest struct {
	FamilyPrefix   string   `json:"familyPrefix"`
	Status         string   `json:"status"`
	Sort           string   `json:"sort"`
	NextToken      string   `json:"nextToken"`
	MaxResults     *int     `json:"maxResults"`
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include"`
	Cluster        string   `json:"cluster"`
	Services       []string `json:"services"`
	Tasks          []string `json:"tasks"`
	DesiredStatus  string   `json:"desiredStatus"`
	ServiceName    string   `json:"serviceName"`
}

type ecsTaskDefinition struct {
	TaskDefinitionArn       string         `json:"taskDefinitionArn"`
	ContainerDefinitions    []ecsContainer `json:"containerDefinitions"`
	Family                  string         `json:"family"`
	NetworkMode             string         `json:"networkMode,omitempty"`
	Revision                int32          `json:"revision"`
	Volumes                 []Volume       `json:"volumes"`
	PidMode                 string         `json:"pidMode,omitempty"`
	IpcMode                 string         `json:"ipcMode,omitempty"`
	Status                  string         `json:"status"`
	PlacementConstraints    []struct{}     `json:"placementConstraints"`
	Compatibilities         []string       `json:"compatibilities"`
	RequiresCompatibilities []string       `json:"requiresCompatibilities,omitempty"`
	CPU                     string         `json:"cpu,omitempty"`
	Memory                  string         `json:"memory,omitempty"`
	RegisteredAt            epoch          `json:"registeredAt"`
	DeregisteredAt          *epoch         `json:"deregisteredAt,omitempty"`
	RegisteredBy            string         `json:"registeredBy"`
}

type ecsContainer struct {
	Name           string           `json:"name"`
	Image          string           `json:"image"`
	CPU            int32            `json:"cpu"`
	Memory         *int32           `json:"memory,omitempty"`
	PortMappings   []ecsPort        `json:"portMappings"`
	Essential      bool             `json:"essential"`
	Environment    []KeyValue       `json:"environment"`
	Secrets        []Secret         `json:"secrets,omitempty"`
	MountPoints    []MountPoint     `json:"mountPoints"`
	VolumesFrom    []VolumeFrom     `json:"volumesFrom"`
	Linux          *LinuxParameters `json:"linuxParameters,omitempty"`
	User           *string          `json:"user,omitempty"`
	Privileged     *bool            `json:"privileged,omitempty"`
	SystemControls []struct{}       `json:"systemControls"`
	LogConfig      *ecsLogConfig    `json:"logConfiguration,omitempty"`
}

type ecsPort struct {
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

type ecsLogConfig struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options"`
}

func (s *Server) ecs(c *call) {
	var in ecsRequest
	if err := json.Unmarshal(c.body, &in); err != nil {
		s.fail(c, &apiError{status: 400, code: "SerializationException", message: err.Error()})
		return
	}
	ai, ri := s.org.acctIdx[c.who.account], s.org.regionIdx[c.who.region]
	if c.op == opRegisterTaskDefinition {
		s.registerTaskDefinition(c, ai, ri)
		return
	}
	sh := s.shard(ai, ri)
	switch c.op {
	case opListTaskDefinitions:
		s.listTaskDefinitions(c, in, sh)
	case opListTaskDefinitionFamilies:
		s.listFamilies(c, in, sh)
	case opDescribeTaskDefinition:
		s.describeTaskDefinition(c, in, sh, ai, ri)
	case opListClusters:
		s.listClusters(c, in)
	case opListServices:
		s.listServices(c, in)
	case opDescribeServices:
		s.describeServices(c, in)
	case opListTasks:
		s.listTasks(c, in)
	case opDescribeTasks:
		s.describeTasks(c, in)
	}
}

func invalidParameter(msg string) *apiError {
	return &apiError{status: 400, code: "InvalidParameterException", message: msg}
}

// pageBounds reads maxResults (1 to 100, default 100) and nextToken.
func pageBounds(in ecsRequest, n int) (start, limit int, e *apiError) {
	limit = 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return 0, 0, invalidParameter("maxResults must be between 1 and 100.")
		}
		limit = *in.MaxResults
	}
	if in.NextToken != "" {
		var ok bool
		if start, ok = decodeToken(in.NextToken); !ok || start > n {
			return 0, 0, invalidParameter("Invalid nextToken.")
		}
	}
	return start, limit, nil
}

// listTaskDefinitions walks the canonical order (or its reverse for DESC)
// from the token's position, skipping other statuses and families.
func (s *Server) listTaskDefinitions(c *call, in ecsRequest, sh shard) {
	status := in.Status
	switch status {
	case "":
		status = StatusActive
	case StatusActive, StatusInactive, StatusDeleteInProgress:
	default:
		s.fail(c, invalidParameter("status must be one of ACTIVE, INACTIVE, DELETE_IN_PROGRESS."))
		return
	}
	desc := false
	switch in.Sort {
	case "", "ASC":
	case "DESC":
		desc = true
	default:
		s.fail(c, invalidParameter("sort must be one of ASC, DESC."))
		return
	}
	n := sh.size()
	pos, limit, e := pageBounds(in, n)
	if e != nil {
		s.fail(c, e)
		return
	}
	arns := []string{}
	for ; pos < n && len(arns) < limit; pos++ {
		i := pos
		if desc {
			i = n - 1 - pos
		}
		r := sh.ref(i)
		if r.status != status || !strings.HasPrefix(sh.family(r.family), in.FamilyPrefix) {
			continue
		}
		arns = append(arns, s.org.taskDefinitionARN(c.who.region, c.who.account, sh.family(r.family), r.revision))
	}
	out := map[string]any{"taskDefinitionArns": arns}
	if pos < n {
		out["nextToken"] = encodeToken(pos, c.seq)
	}
	writeJSON(c, out)
}

// listFamilies lists family names: ACTIVE ones have an ACTIVE revision,
// INACTIVE ones none, ALL (the default) every family.
func (s *Server) listFamilies(c *call, in ecsRequest, sh shard) {
	switch in.Status {
	case "", "ALL", StatusActive, StatusInactive:
	default:
		s.fail(c, invalidParameter("status must be one of ACTIVE, INACTIVE, ALL."))
		return
	}
	n := sh.families()
	f, limit, e := pageBounds(in, n)
	if e != nil {
		s.fail(c, e)
		return
	}
	names := []string{}
	for ; f < n && len(names) < limit; f++ {
		name := sh.family(f)
		if !strings.HasPrefix(name, in.FamilyPrefix) {
			continue
		}
		if in.Status == StatusActive || in.Status == StatusInactive {
			if _, active := latestActive(sh, f); active != (in.Status == StatusActive) {
				continue
			}
		}
		names = append(names, name)
	}
	out := map[string]any{"families": names}
	if f < n {
		out["nextToken"] = encodeToken(f, c.seq)
	}
	writeJSON(c, out)
}

func (s *Server) describeTaskDefinition(c *call, in ecsRequest, sh shard, ai, ri int) {
	notFound := &apiError{status: 400, code: "ClientException", message: "Unable to describe task definition."}
	ref := in.TaskDefinition
	if ref == "" {
		s.fail(c, invalidParameter("taskDefinition can not be blank."))
		return
	}
	if rest, ok := strings.CutPrefix(ref, "arn:"); ok {
		// arn:partition:ecs:region:account:task-definition/family:revision
		parts := strings.SplitN(rest, ":", 5)
		if len(parts) != 5 || parts[0] != s.org.partition || parts[1] != "ecs" ||
			parts[2] != c.who.region || parts[3] != c.who.account || !strings.HasPrefix(parts[4], "task-definition/") {
			s.fail(c, notFound)
			return
		}
		ref = strings.TrimPrefix(parts[4], "task-definition/")
	}
	family, revText, hasRev := strings.Cut(ref, ":")
	f, ok := findFamily(sh, family)
	if !ok {
		s.fail(c, notFound)
		return
	}
	var i int
	if hasRev {
		rev, err := strconv.ParseInt(revText, 10, 32)
		if err != nil {
			s.fail(c, notFound)
			return
		}
		i, ok = findRevision(sh, f, int32(rev))
	} else {
		i, ok = latestActive(sh, f)
	}
	if !ok {
		s.fail(c, notFound)
		return
	}
	td := sh.get(i)
	if td.Vanishes {
		s.fail(c, notFound)
		return
	}
	if e := td.DescribeError; e != nil {
		s.fail(c, &apiError{status: 400, code: e.Code, message: e.Message})
		return
	}
	td = s.org.complete(td, ai, ri)
	out := map[string]any{"taskDefinition": wireTaskDefinition(td, s.org.partition)}
	for _, inc := range in.Include {
		if inc == "TAGS" {
			out["tags"] = wireTags(td.Tags)
		}
	}
	writeJSON(c, out)
}

func wireTags(tags []Tag) []Tag {
	if tags == nil {
		return []Tag{}
	}
	return tags
}

// wireTaskDefinition returns td as DescribeTaskDefinition serves it: the
// simulator's members, with the fixture's extra members over them.
func wireTaskDefinition(td TaskDefinition, partition string) json.RawMessage {
	w := wireMembers(td, partition)
	if len(td.Extra) == 0 && !slices.ContainsFunc(td.Containers, func(c Container) bool { return len(c.Extra) > 0 }) {
		b, err := json.Marshal(w)
		if err != nil {
			panic(err)
		}
		return b
	}
	containers := make([]json.RawMessage, len(w.ContainerDefinitions))
	for i, wc := range w.ContainerDefinitions {
		containers[i] = withExtra(wc, td.Containers[i].Extra, nil)
	}
	return withExtra(w, td.Extra, map[string]any{"containerDefinitions": containers})
}

// withExtra marshals v, then sets the members of set and of extra (a JSON
// object, or empty) over its own.
func withExtra(v any, extra json.RawMessage, set map[string]any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the wire types always marshal
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	for k, x := range set {
		m[k], _ = json.Marshal(x)
	}
	if len(extra) > 0 {
		var e map[string]json.RawMessage
		if err := json.Unmarshal(extra, &e); err == nil {
			for k, x := range e {
				m[k] = x
			}
		}
	}
	b, _ = json.Marshal(m)
	return b
}

func wireMembers(td TaskDefinition, partition string) ecsTaskDefinition {
	w := ecsTaskDefinition{
		TaskDefinitionArn: td.ARN, Family: td.Family, Revision: td.Revision, Status: td.Status,
		NetworkMode: td.NetworkMode, RequiresCompatibilities: td.RequiresCompatibilities,
		CPU: td.CPU, Memory: td.Memory, RegisteredAt: epoch(td.RegisteredAt),
		Volumes: td.Volumes, PidMode: td.PidMode, IpcMode: td.IpcMode,
		PlacementConstraints: []struct{}{}, Compatibilities: []string{"EC2"},
		RegisteredBy: "arn:" + partition + ":iam::" + td.Account + ":role/deployer",
	}
	if w.Volumes == nil {
		w.Volumes = []Volume{}
	}
	if td.NetworkMode == "awsvpc" {
		w.Compatibilities = []string{"EC2", "FARGATE"}
	}
	if td.Status != StatusActive {
		d := epoch(td.RegisteredAt.Add(72 * time.Hour))
		w.DeregisteredAt = &d
	}
	for _, c := range td.Containers {
		wc := ecsContainer{
			Name: c.Name, Image: c.Image, CPU: c.CPU, Essential: c.Essential == nil || *c.Essential,
			PortMappings: []ecsPort{}, Environment: c.Environment, Secrets: c.Secrets,
			MountPoints: c.MountPoints, VolumesFrom: c.VolumesFrom, Linux: c.LinuxParameters, SystemControls: []struct{}{},
			User: c.User, Privileged: c.Privileged,
			LogConfig: &ecsLogConfig{LogDriver: "awslogs", Options: map[string]string{
				"awslogs-group": "/ecs/" + td.Family, "awslogs-region": td.Region, "awslogs-stream-prefix": c.Name}},
		}
		if wc.Environment == nil {
			wc.Environment = []KeyValue{}
		}
		if wc.MountPoints == nil {
			wc.MountPoints = []MountPoint{}
		}
		if wc.VolumesFrom == nil {
			wc.VolumesFrom = []VolumeFrom{}
		}
		if c.Memory != 0 {
			wc.Memory = &c.Memory
		}
		for _, p := range c.PortMappings {
			proto := p.Protocol
			if proto == "" {
				proto = "tcp"
			}
			host := p.HostPort
			if td.NetworkMode == "host" || td.NetworkMode == "awsvpc" {
				host = p.ContainerPort
			}
			wc.PortMappings = append(wc.PortMappings, ecsPort{ContainerPort: p.ContainerPort, HostPort: host, Protocol: proto})
		}
		w.ContainerDefinitions = append(w.ContainerDefinitions, wc)
	}
	return w
}
