package infra

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/iam"
	"github.com/awslabs/goformation/v7/cloudformation/kms"
	"github.com/awslabs/goformation/v7/cloudformation/organizations"
	"github.com/awslabs/goformation/v7/cloudformation/s3"
	"github.com/awslabs/goformation/v7/cloudformation/sns"
	"github.com/awslabs/goformation/v7/cloudformation/sqs"
)

// policyKind says what a policy document is attached to.
type policyKind string

const (
	identityPolicy policyKind = "identity" // a role's, user's or group's permissions
	trustPolicy    policyKind = "trust"    // who may assume a role
	resourcePolicy policyKind = "resource" // a bucket, topic or queue policy
	keyPolicy      policyKind = "key"      // a KMS key policy: resource "*" is the key
	orgPolicy      policyKind = "org"      // the Organizations delegation policy
)

// policy is one policy document of a template, as rendered.
type policy struct {
	Resource string // logical id of the resource that carries it
	Kind     policyKind
	Doc      policyDocument
}

type policyDocument struct {
	Version   string
	Statement statements
}

type statement struct {
	Sid         string
	Effect      string
	Principal   any
	Action      stringList
	NotAction   stringList
	Resource    stringList
	NotResource stringList
	Condition   map[string]map[string]any
}

// statements is a policy's Statement: one object or a list of them.
type statements []statement

func (s *statements) UnmarshalJSON(b []byte) error {
	var one statement
	if err := json.Unmarshal(b, &one); err == nil {
		*s = statements{one}
		return nil
	}
	var many []statement
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// stringList is an Action or Resource: one string or a list of them.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*l = many
	return nil
}

func decodePolicy(doc any) (policyDocument, error) {
	var p policyDocument
	b, err := json.Marshal(doc)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("policy %s: %w", b, err)
	}
	return p, nil
}

// policies returns every policy document in tmpl, in logical-id order.
func policies(t *testing.T, tmpl *cloudformation.Template) []policy {
	t.Helper()
	var out []policy
	add := func(resource string, kind policyKind, doc any) {
		if doc == nil {
			t.Errorf("%s: empty %s policy", resource, kind)
			return
		}
		p, err := decodePolicy(doc)
		if err != nil {
			t.Fatalf("%s: %v", resource, err)
		}
		out = append(out, policy{Resource: resource, Kind: kind, Doc: p})
	}
	names := make([]string, 0, len(tmpl.Resources))
	for name := range tmpl.Resources {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch r := tmpl.Resources[name].(type) {
		case *iam.Role:
			add(name, trustPolicy, r.AssumeRolePolicyDocument)
			for _, p := range r.Policies {
				add(name, identityPolicy, p.PolicyDocument)
			}
			if len(r.ManagedPolicyArns) > 0 {
				t.Errorf("%s: managed policies %q are not visible to these checks; write inline policies", name, r.ManagedPolicyArns)
			}
		case *iam.Policy:
			add(name, identityPolicy, r.PolicyDocument)
		case *iam.ManagedPolicy:
			add(name, identityPolicy, r.PolicyDocument)
		case *s3.BucketPolicy:
			add(name, resourcePolicy, r.PolicyDocument)
		case *sns.TopicPolicy:
			add(name, resourcePolicy, r.PolicyDocument)
		case *sqs.QueuePolicy:
			add(name, resourcePolicy, r.PolicyDocument)
		case *kms.Key:
			add(name, keyPolicy, r.KeyPolicy)
		case *organizations.ResourcePolicy:
			add(name, orgPolicy, r.Content)
		}
	}
	return out
}

// readOnly reports whether an IAM action only reads, by its verb.
func readOnly(action string) bool {
	_, verb, ok := strings.Cut(action, ":")
	if !ok {
		return false
	}
	for _, p := range []string{"Get", "List", "Describe", "BatchGet"} {
		if strings.HasPrefix(verb, p) {
			return true
		}
	}
	return false
}

// grantViolations lists the ways the template's Allow statements grant more
// than they name: wildcard or Not* actions, Not* resources, a write action
// on resource "*" (outside key policies, where "*" is the key), or a
// resource policy open to everyone.
func grantViolations(t *testing.T, tmpl *cloudformation.Template) []string {
	t.Helper()
	var out []string
	for _, p := range policies(t, tmpl) {
		for i, s := range p.Doc.Statement {
			where := fmt.Sprintf("%s %s policy statement %d (%s)", p.Resource, p.Kind, i, s.Sid)
			if s.Effect != "Allow" {
				continue
			}
			if len(s.NotAction) > 0 {
				out = append(out, where+": NotAction")
			}
			if len(s.NotResource) > 0 {
				out = append(out, where+": NotResource")
			}
			for _, a := range s.Action {
				if strings.Contains(a, "*") {
					out = append(out, where+": wildcard action "+a)
				}
			}
			if slices.Contains(s.Resource, "*") && p.Kind != keyPolicy {
				for _, a := range s.Action {
					if !readOnly(a) {
						out = append(out, where+`: write action `+a+` on resource "*"`)
					}
				}
			}
			if p.Kind != identityPolicy && openToEveryone(s.Principal) {
				out = append(out, where+": allows principal *")
			}
		}
	}
	return out
}

func openToEveryone(principal any) bool {
	switch p := principal.(type) {
	case string:
		return p == "*"
	case map[string]any:
		aws := p["AWS"]
		if s, ok := aws.(string); ok {
			return s == "*"
		}
		if l, ok := aws.([]any); ok {
			return slices.Contains(l, any("*"))
		}
	}
	return false
}

// TestNoWildcardGrants checks every policy of every template: no Allow
// statement uses a wildcard action, and none allows a write on resource "*".
func TestNoWildcardGrants(t *testing.T) {
	t.Parallel()
	for _, name := range templateNames(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, v := range grantViolations(t, render(t, name, nil)) {
				t.Error(v)
			}
		})
	}
}

// TestGrantViolationsCatchesBadTemplate shows TestNoWildcardGrants has
// teeth: on the deliberately bad template it reports exactly the two bad
// statements.
func TestGrantViolationsCatchesBadTemplate(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/guard-bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := renderErr(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := grantViolations(t, tmpl)
	want := []string{
		"GreedyRole identity policy statement 0 (): wildcard action s3:*",
		`GreedyRole identity policy statement 1 (): write action s3:PutObject on resource "*"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// grant is what an Allow statement grants one action: its resources,
// sorted, and the statement's conditions.
type grant struct {
	Resources []string
	Condition map[string]map[string]any
}

// allowed maps each action the documents allow to its grant; an action
// allowed by two statements fails the test (the map could not say which).
func allowed(t *testing.T, docs ...policyDocument) map[string]grant {
	t.Helper()
	out := map[string]grant{}
	for _, d := range docs {
		for _, s := range d.Statement {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range s.Action {
				if _, dup := out[a]; dup {
					t.Errorf("action %s allowed by more than one statement", a)
				}
				out[a] = grant{Resources: slices.Sorted(slices.Values(s.Resource)), Condition: s.Condition}
			}
		}
	}
	return out
}

// rolePolicies returns a role's trust policy and its inline policies.
func rolePolicies(t *testing.T, tmpl *cloudformation.Template, role string) (trust policyDocument, identity []policyDocument) {
	t.Helper()
	found := false
	for _, p := range policies(t, tmpl) {
		if p.Resource != role {
			continue
		}
		found = true
		switch p.Kind {
		case trustPolicy:
			trust = p.Doc
		case identityPolicy:
			identity = append(identity, p.Doc)
		}
	}
	if !found {
		t.Fatalf("no role %s", role)
	}
	return trust, identity
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// conditionWithoutNulls drops keys that AWS::NoValue removed.
func conditionWithoutNulls(c map[string]map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for op, kv := range c {
		for k, v := range kv {
			if v == nil {
				continue
			}
			if out[op] == nil {
				out[op] = map[string]any{}
			}
			out[op][k] = v
		}
	}
	return out
}

func mustJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// jsonEqual compares two values by their JSON encodings, which sorts map
// keys and forgets the Go types.
func jsonEqual(a, b any) bool {
	return mustJSON(a) == mustJSON(b)
}
