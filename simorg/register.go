package simorg

import (
	"encoding/json"
	"strings"
	"sync"
)

// registered is the revisions RegisterTaskDefinition added to one server,
// by (account, region) index. The Org stays immutable: a server serves its
// Org's revisions merged with its own.
type registered struct {
	mu     sync.Mutex
	added  map[[2]int][]TaskDefinition
	merged map[[2]int]shard
}

// shard returns the revisions the server serves in one (account, region):
// the Org's, and those registered with this server.
func (s *Server) shard(ai, ri int) shard {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	if sh, ok := s.reg.merged[[2]int{ai, ri}]; ok {
		return sh
	}
	return s.org.cat.shard(ai, ri)
}

// Registered returns the revisions registered with this server in account
// and region, in the order they were registered.
func (s *Server) Registered(account, region string) []TaskDefinition {
	ai, ok1 := s.org.acctIdx[account]
	ri, ok2 := s.org.regionIdx[region]
	if !ok1 || !ok2 {
		return nil
	}
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	var out []TaskDefinition
	for _, td := range s.reg.added[[2]int{ai, ri}] {
		out = append(out, s.org.complete(td.clone(), ai, ri))
	}
	return out
}

// registerRequest is RegisterTaskDefinition's input: the members the
// simulator keeps in its own fields; every other member is kept verbatim.
type registerRequest struct {
	Family                  string            `json:"family"`
	NetworkMode             string            `json:"networkMode"`
	CPU                     string            `json:"cpu"`
	Memory                  string            `json:"memory"`
	RequiresCompatibilities []string          `json:"requiresCompatibilities"`
	ContainerDefinitions    []json.RawMessage `json:"containerDefinitions"`
	Tags                    []Tag             `json:"tags"`
}

type registerContainer struct {
	Name       string  `json:"name"`
	Image      string  `json:"image"`
	Privileged *bool   `json:"privileged"`
	User       *string `json:"user"`
}

// registerTaskDefinition adds the next revision of a family, as ECS does,
// and answers with it as DescribeTaskDefinition would serve it.
func (s *Server) registerTaskDefinition(c *call, ai, ri int) {
	var in registerRequest
	if err := json.Unmarshal(c.body, &in); err != nil {
		s.fail(c, &apiError{status: 400, code: "SerializationException", message: err.Error()})
		return
	}
	if !familyPattern.MatchString(in.Family) {
		s.fail(c, &apiError{status: 400, code: "ClientException", message: "Family contains invalid characters."})
		return
	}
	switch in.NetworkMode {
	case "", "bridge", "host", "awsvpc", "none":
	default:
		s.fail(c, invalidParameter("Network mode must be one of bridge, host, awsvpc, none."))
		return
	}
	if len(in.ContainerDefinitions) == 0 {
		s.fail(c, &apiError{status: 400, code: "ClientException", message: "Container list cannot be empty."})
		return
	}
	td := TaskDefinition{
		Family: in.Family, Status: StatusActive, NetworkMode: in.NetworkMode, CPU: in.CPU, Memory: in.Memory,
		RequiresCompatibilities: in.RequiresCompatibilities, Tags: in.Tags, RegisteredAt: s.now().UTC(),
		Extra: rest(c.body, "family", "networkMode", "cpu", "memory", "requiresCompatibilities", "containerDefinitions", "tags"),
	}
	for _, raw := range in.ContainerDefinitions {
		var rc registerContainer
		if err := json.Unmarshal(raw, &rc); err != nil {
			s.fail(c, &apiError{status: 400, code: "SerializationException", message: err.Error()})
			return
		}
		if rc.Name == "" || rc.Image == "" {
			s.fail(c, &apiError{status: 400, code: "ClientException", message: "Container.name and Container.image should not be null or empty."})
			return
		}
		td.Containers = append(td.Containers, Container{Name: rc.Name, Image: rc.Image, Privileged: rc.Privileged, User: rc.User,
			Extra: rest(raw, "name", "image", "privileged", "user")})
	}
	for _, t := range td.Tags {
		if t.Key == "" || strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			s.fail(c, invalidParameter("Tag keys must not be empty or begin with aws:."))
			return
		}
	}

	k := [2]int{ai, ri}
	s.reg.mu.Lock()
	base := s.org.cat.shard(ai, ri)
	if sh, ok := s.reg.merged[k]; ok {
		base = sh
	}
	td.Revision = 1
	if f, ok := findFamily(base, td.Family); ok {
		td.Revision = base.ref(base.familyStart(f+1)-1).revision + 1
	}
	all := make([]TaskDefinition, 0, base.size()+1)
	for i := range base.size() {
		all = append(all, base.get(i))
	}
	all = append(all, td.clone())
	if s.reg.added == nil {
		s.reg.added, s.reg.merged = map[[2]int][]TaskDefinition{}, map[[2]int]shard{}
	}
	s.reg.added[k] = append(s.reg.added[k], td.clone())
	s.reg.merged[k] = newListShard(all)
	s.reg.mu.Unlock()

	td = s.org.complete(td, ai, ri)
	writeJSON(c, map[string]any{"taskDefinition": wireTaskDefinition(td, s.org.partition), "tags": wireTags(td.Tags)})
}

// rest returns the members of the JSON object raw other than those named.
func rest(raw json.RawMessage, owned ...string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	for _, k := range owned {
		delete(m, k)
	}
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m)
	return b
}
