package simorg

import (
	"bytes"
	"sort"
)

// catalog gives the task definitions of each (account, region) pair, by
// account and region index.
type catalog interface {
	shard(account, region int) shard
}

// ref is what listing needs to know about one revision, cheaper to get than
// the whole task definition.
type ref struct {
	family   int
	revision int32
	status   string
}

// shard is the task definitions of one (account, region) pair in canonical
// order: by family name, then revision, both ascending. Revisions of family
// f occupy indices familyStart(f) to familyStart(f+1)-1.
type shard interface {
	size() int
	families() int
	family(f int) string
	familyStart(f int) int
	ref(i int) ref
	get(i int) TaskDefinition
}

// findFamily returns the index of the family called name.
func findFamily(sh shard, name string) (int, bool) {
	n := sh.families()
	f := sort.Search(n, func(f int) bool { return sh.family(f) >= name })
	return f, f < n && sh.family(f) == name
}

// findRevision returns the canonical index of revision rev of family f.
func findRevision(sh shard, f int, rev int32) (int, bool) {
	lo, hi := sh.familyStart(f), sh.familyStart(f+1)
	i := lo + sort.Search(hi-lo, func(k int) bool { return sh.ref(lo+k).revision >= rev })
	return i, i < hi && sh.ref(i).revision == rev
}

// latestActive returns the canonical index of family f's highest ACTIVE
// revision.
func latestActive(sh shard, f int) (int, bool) {
	for i := sh.familyStart(f+1) - 1; i >= sh.familyStart(f); i-- {
		if sh.ref(i).status == StatusActive {
			return i, true
		}
	}
	return 0, false
}

// listCatalog holds a fixture's task definitions.
type listCatalog map[[2]int]*listShard

func (c listCatalog) shard(account, region int) shard {
	if s, ok := c[[2]int{account, region}]; ok {
		return s
	}
	return emptyShard
}

var emptyShard = &listShard{starts: []int{0}}

// listShard is a sorted slice of task definitions.
type listShard struct {
	names  []string // family names, sorted
	starts []int    // len(names)+1 entries
	tds    []TaskDefinition
	fams   []int // family index of each td
}

// newListShard sorts tds (which must have unique family:revision pairs).
func newListShard(tds []TaskDefinition) *listShard {
	sort.Slice(tds, func(i, j int) bool {
		if tds[i].Family != tds[j].Family {
			return tds[i].Family < tds[j].Family
		}
		return tds[i].Revision < tds[j].Revision
	})
	s := &listShard{tds: tds, fams: make([]int, len(tds))}
	for i, td := range tds {
		if i == 0 || td.Family != tds[i-1].Family {
			s.names = append(s.names, td.Family)
			s.starts = append(s.starts, i)
		}
		s.fams[i] = len(s.names) - 1
	}
	s.starts = append(s.starts, len(tds))
	return s
}

func (s *listShard) size() int             { return len(s.tds) }
func (s *listShard) families() int         { return len(s.names) }
func (s *listShard) family(f int) string   { return s.names[f] }
func (s *listShard) familyStart(f int) int { return s.starts[f] }

func (s *listShard) ref(i int) ref {
	return ref{family: s.fams[i], revision: s.tds[i].Revision, status: s.tds[i].Status}
}

// get returns a copy that shares no slices or pointers with the shard.
func (s *listShard) get(i int) TaskDefinition { return s.tds[i].clone() }

// clone returns a deep copy of td.
func (td TaskDefinition) clone() TaskDefinition {
	td.RequiresCompatibilities = append([]string(nil), td.RequiresCompatibilities...)
	td.Tags = append([]Tag(nil), td.Tags...)
	td.Extra = bytes.Clone(td.Extra)
	td.Containers = append([]Container(nil), td.Containers...)
	for k := range td.Containers {
		c := &td.Containers[k]
		if c.Privileged != nil {
			c.Privileged = ptr(*c.Privileged)
		}
		if c.User != nil {
			c.User = ptr(*c.User)
		}
		if c.Essential != nil {
			c.Essential = ptr(*c.Essential)
		}
		c.PortMappings = append([]PortMapping(nil), c.PortMappings...)
		c.Environment = append([]KeyValue(nil), c.Environment...)
		c.Secrets = append([]Secret(nil), c.Secrets...)
		c.Extra = bytes.Clone(c.Extra)
	}
	return td
}

func ptr[T any](v T) *T { return &v }
