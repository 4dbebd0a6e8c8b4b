package simorg

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// orgsAccount is an Organizations Account on the wire.
type orgsAccount struct {
	ID              string   `json:"Id"`
	Arn             string   `json:"Arn"`
	Email           string   `json:"Email"`
	Name            string   `json:"Name"`
	Status          string   `json:"Status"`
	State           string   `json:"State"`
	JoinedMethod    string   `json:"JoinedMethod"`
	JoinedTimestamp epoch    `json:"JoinedTimestamp"`
	Paths           []string `json:"Paths"`
}

type orgsOU struct {
	ID   string `json:"Id"`
	Arn  string `json:"Arn"`
	Name string `json:"Name"`
	Path string `json:"Path"`
}

type orgsParent struct {
	ID   string `json:"Id"`
	Type string `json:"Type"`
}

type orgsPolicyType struct {
	Type   string `json:"Type"`
	Status string `json:"Status"`
}

// listRequest is the input of every Organizations List operation.
type listRequest struct {
	NextToken  string `json:"NextToken"`
	MaxResults *int   `json:"MaxResults"`
	ParentID   string `json:"ParentId"`
	ChildID    string `json:"ChildId"`
	ChildType  string `json:"ChildType"`
	AccountID  string `json:"AccountId"`
}

var scpEnabled = []orgsPolicyType{{Type: "SERVICE_CONTROL_POLICY", Status: "ENABLED"}}

func (s *Server) organizations(c *call) {
	var in listRequest
	if err := json.Unmarshal(c.body, &in); err != nil {
		s.fail(c, &apiError{status: 400, code: "SerializationException", message: err.Error()})
		return
	}
	o := s.org
	switch c.op {
	case opDescribeOrganization:
		writeJSON(c, map[string]any{"Organization": map[string]any{
			"Id": o.id, "Arn": fmt.Sprintf("arn:%s:organizations::%s:organization/%s", o.partition, o.management, o.id),
			"FeatureSet": "ALL", "MasterAccountArn": o.accountARN(o.management), "MasterAccountId": o.management,
			"MasterAccountEmail": o.accounts[o.acctIdx[o.management]].Email, "AvailablePolicyTypes": scpEnabled,
		}})
	case opDescribeAccount:
		i, ok := o.acctIdx[in.AccountID]
		if !ok {
			s.fail(c, &apiError{status: 400, code: "AccountNotFoundException", message: "You specified an account that doesn't exist."})
			return
		}
		writeJSON(c, map[string]any{"Account": s.orgsAccount(i)})
	case opListRoots:
		s.page(c, in, "Roots", 1, func(int) any {
			return map[string]any{"Id": o.rootID, "Name": "Root", "PolicyTypes": scpEnabled,
				"Arn": fmt.Sprintf("arn:%s:organizations::%s:root/%s/%s", o.partition, o.management, o.id, o.rootID)}
		})
	case opListAccounts:
		s.page(c, in, "Accounts", len(o.accounts), func(i int) any { return s.orgsAccount(i) })
	case opListAccountsForParent:
		if !s.knownParent(c, in.ParentID) {
			return
		}
		idx := o.accountsIn(in.ParentID)
		s.page(c, in, "Accounts", len(idx), func(i int) any { return s.orgsAccount(idx[i]) })
	case opListOrganizationalUnitsForParent:
		if !s.knownParent(c, in.ParentID) {
			return
		}
		idx := o.ousIn(in.ParentID)
		s.page(c, in, "OrganizationalUnits", len(idx), func(i int) any { return s.orgsOU(idx[i]) })
	case opListChildren:
		if !s.knownParent(c, in.ParentID) {
			return
		}
		var ids []string
		switch in.ChildType {
		case "ACCOUNT":
			for _, i := range o.accountsIn(in.ParentID) {
				ids = append(ids, o.accounts[i].ID)
			}
		case "ORGANIZATIONAL_UNIT":
			for _, i := range o.ousIn(in.ParentID) {
				ids = append(ids, o.ous[i].ID)
			}
		default:
			s.fail(c, &apiError{status: 400, code: "InvalidInputException", reason: "INVALID_ENUM", message: "You specified an invalid value."})
			return
		}
		s.page(c, in, "Children", len(ids), func(i int) any { return map[string]string{"Id": ids[i], "Type": in.ChildType} })
	case opListParents:
		parent, ok := "", false
		if i, isAcct := o.acctIdx[in.ChildID]; isAcct {
			parent, ok = o.accounts[i].Parent, true
		} else if i, isOU := o.ouIdx[in.ChildID]; isOU {
			parent, ok = o.ous[i].Parent, true
		}
		if !ok {
			s.fail(c, &apiError{status: 400, code: "ChildNotFoundException", message: "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified."})
			return
		}
		typ := "ORGANIZATIONAL_UNIT"
		if parent == o.rootID {
			typ = "ROOT"
		}
		s.page(c, in, "Parents", 1, func(int) any { return orgsParent{ID: parent, Type: typ} })
	}
}

func (s *Server) knownParent(c *call, id string) bool {
	if _, ok := s.org.ouIdx[id]; ok || id == s.org.rootID {
		return true
	}
	s.fail(c, &apiError{status: 400, code: "ParentNotFoundException", message: "We can't find a root or OU with the ParentId that you specified."})
	return false
}

// page writes one page of n items under key, honouring NextToken,
// MaxResults (1 to 20) and the empty-pages fault.
func (s *Server) page(c *call, in listRequest, key string, n int, item func(int) any) {
	limit := 20
	if in.MaxResults != nil {
		switch m := *in.MaxResults; {
		case m < 1:
			s.fail(c, &apiError{status: 400, code: "InvalidInputException", reason: "MIN_VALUE_EXCEEDED", message: "You provided a value that is less than the minimum allowed value."})
			return
		case m > 20:
			s.fail(c, &apiError{status: 400, code: "InvalidInputException", reason: "MAX_VALUE_EXCEEDED", message: "You provided a value that exceeds the maximum allowed value."})
			return
		default:
			limit = m
		}
	}
	start := 0
	if in.NextToken != "" {
		var ok bool
		if start, ok = decodeToken(in.NextToken); !ok || start > n {
			s.fail(c, &apiError{status: 400, code: "InvalidInputException", reason: "INVALID_NEXT_TOKEN", message: "You specified an invalid value for nextToken."})
			return
		}
	}
	items := []any{}
	if s.emptyPages.Add(-1) >= 0 {
		s.stats.emptyPage.Add(1)
		writeJSON(c, map[string]any{key: items, "NextToken": encodeToken(start, c.seq)})
		return
	}
	end := min(start+limit, n)
	for i := start; i < end; i++ {
		items = append(items, item(i))
	}
	out := map[string]any{key: items}
	if end < n {
		out["NextToken"] = encodeToken(end, c.seq)
	}
	writeJSON(c, out)
}

func (s *Server) orgsAccount(i int) orgsAccount {
	a := s.org.accounts[i]
	status := a.State
	switch a.State {
	case StatePendingActivation:
		status = StateActive
	case StateClosed:
		status = StateSuspended
	}
	return orgsAccount{
		ID: a.ID, Arn: s.org.accountARN(a.ID), Email: a.Email, Name: a.Name,
		Status: status, State: a.State, JoinedMethod: a.JoinedMethod,
		JoinedTimestamp: epoch(a.JoinedTimestamp), Paths: []string{s.org.path(a.Parent) + a.ID + "/"},
	}
}

func (s *Server) orgsOU(i int) orgsOU {
	ou := s.org.ous[i]
	return orgsOU{
		ID: ou.ID, Name: ou.Name, Path: s.org.path(ou.ID),
		Arn: fmt.Sprintf("arn:%s:organizations::%s:ou/%s/%s", s.org.partition, s.org.management, s.org.id, ou.ID),
	}
}

func (o *Org) accountsIn(parent string) []int {
	var idx []int
	for i, a := range o.accounts {
		if a.Parent == parent {
			idx = append(idx, i)
		}
	}
	return idx
}

func (o *Org) ousIn(parent string) []int {
	var idx []int
	for i, ou := range o.ous {
		if ou.Parent == parent {
			idx = append(idx, i)
		}
	}
	return idx
}

// encodeToken makes an opaque pagination token for offset. The request
// number makes every token distinct, as the SDK's paginators stop on a
// repeated token.
func encodeToken(offset int, n uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("simorg:" + strconv.Itoa(offset) + ":" + strconv.FormatUint(n, 36)))
}

func decodeToken(tok string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != "simorg" {
		return 0, false
	}
	off, err := strconv.Atoi(parts[1])
	return off, err == nil && off >= 0
}
