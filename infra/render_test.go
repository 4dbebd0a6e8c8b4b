package infra

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// goformationMu serialises goformation's YAML parsing: it re-registers its
// tag handlers in a package-level map on every call, which races when tests
// run in parallel.
var goformationMu sync.Mutex

// fixtureParameters are the values the tests deploy each template with, for
// the parameters that have no default. A template whose parameter is in
// neither place fails to render, so a new required parameter gets a value
// here and a line in docs/deploy.md.
var fixtureParameters = map[string]map[string]any{
	"scan-role.yaml": {
		"JobAccountId":   "111122223333",
		"OrganizationId": "o-exampleorg1",
	},
	"scan-role-stackset.yaml": {
		"JobAccountId":                "111122223333",
		"OrganizationId":              "o-exampleorg1",
		"ScanRoleTemplateURL":         "https://example-bucket.s3.amazonaws.com/scan-role.yaml",
		"TargetOrganizationalUnitIds": "ou-ab12-11111111,ou-ab12-22222222",
	},
	"remediate-role.yaml": {
		"OperatorAccountId": "111122223333",
		"OperatorRoleName":  "platform-admin",
		"OrganizationId":    "o-exampleorg1",
	},
	"remediate-role-stackset.yaml": {
		"OperatorAccountId":           "111122223333",
		"OperatorRoleName":            "platform-admin",
		"OrganizationId":              "o-exampleorg1",
		"RemediationRoleTemplateURL":  "https://example-bucket.s3.amazonaws.com/remediate-role.yaml",
		"TargetOrganizationalUnitIds": "ou-ab12-11111111",
	},
	"org-delegation.yaml": {
		"JobAccountId": "111122223333",
	},
	"job.yaml": {
		"OrganizationId":   "o-exampleorg1",
		"ImageTag":         "v1.2.3",
		"SubnetIds":        "subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb",
		"SecurityGroupIds": "sg-0cccccccccccccccc",
	},
	"quicksight.yaml": {
		"QuickSightPrincipalArn": "arn:aws:quicksight:us-east-1:111122223333:group/default/ecsaudit-readers",
	},
	"batch.yaml": {
		"ImageTag":         "v1.2.3",
		"SubnetIds":        "subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb",
		"SecurityGroupIds": "sg-0cccccccccccccccc",
	},
}

// templateNames lists the embedded templates.
func templateNames(t *testing.T) []string {
	t.Helper()
	entries, err := Templates.ReadDir("cloudformation")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		t.Fatal("no templates embedded")
	}
	return names
}

func templateBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := Templates.ReadFile("cloudformation/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parse is goformation's own parse of a template, intrinsics resolved its
// default way: it fails on unknown properties and wrong types.
func parse(data []byte) (*cloudformation.Template, error) {
	goformationMu.Lock()
	defer goformationMu.Unlock()
	return goformation.ParseYAML(data)
}

// render returns the template as CloudFormation would see it when deployed
// with the fixture parameters plus overrides, in a form a test can read:
//
//   - Ref of a parameter is its value (a list parameter's value is a list);
//   - Ref of a resource or a pseudo parameter is "${Name}", Fn::GetAtt is
//     "${Resource.Attribute}", and Fn::Sub keeps those placeholders while
//     substituting parameter values and unescaping "${!x}" to "${x}";
//   - Fn::ImportValue of an export name is "${ImportValue:name}", the name
//     rendered first (so "${ImportValue:ecsaudit-KeyArn}"); templates write
//     it long-form, "Fn::ImportValue: !Sub …", because goformation's YAML
//     reader turns a short-form tag over a mapping into a list;
//   - conditions are evaluated: Fn::If picks its branch, AWS::NoValue is
//     nil, and a resource whose Condition is false is dropped.
func render(t *testing.T, name string, overrides map[string]any) *cloudformation.Template {
	t.Helper()
	tmpl, err := renderErr(templateBytes(t, name), withFixture(name, overrides))
	if err != nil {
		t.Fatalf("render %s: %v", name, err)
	}
	return tmpl
}

func withFixture(name string, overrides map[string]any) map[string]any {
	params := maps.Clone(fixtureParameters[name])
	if params == nil {
		params = map[string]any{}
	}
	maps.Copy(params, overrides)
	return params
}

func renderErr(data []byte, params map[string]any) (*cloudformation.Template, error) {
	goformationMu.Lock()
	defer goformationMu.Unlock()

	// Long-form intrinsics, nothing resolved yet.
	raw, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	declared, _ := doc["Parameters"].(map[string]any)
	for _, p := range slices.Sorted(maps.Keys(params)) {
		if _, ok := declared[p]; !ok {
			return nil, fmt.Errorf("value for undeclared parameter %s", p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(declared)) {
		def, _ := declared[p].(map[string]any)
		if _, ok := def["Default"]; !ok {
			if _, ok := params[p]; !ok {
				return nil, fmt.Errorf("parameter %s has no default and no fixture value", p)
			}
		}
	}

	// goformation's condition evaluation replaces a whole resource by the
	// value of its Condition; hide the attribute from it and apply it below.
	resources, _ := doc["Resources"].(map[string]any)
	for _, r := range resources {
		if r, ok := r.(map[string]any); ok {
			if c, ok := r["Condition"]; ok {
				r["ecsauditCondition"] = c
				delete(r, "Condition")
			}
		}
	}
	raw, err = json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	raw, err = intrinsics.ProcessJSON(raw, &intrinsics.ProcessorOptions{
		ParameterOverrides: params,
		EvaluateConditions: true,
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":             renderRef,
			"Fn::GetAtt":      renderGetAtt,
			"Fn::Sub":         renderSub,
			"Fn::ImportValue": renderImportValue,
		},
	})
	if err != nil {
		return nil, err
	}
	doc = nil
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	conditions, _ := doc["Conditions"].(map[string]any)
	resources, _ = doc["Resources"].(map[string]any)
	for name, r := range resources {
		r := r.(map[string]any)
		c, ok := r["ecsauditCondition"]
		if !ok {
			continue
		}
		delete(r, "ecsauditCondition")
		value, ok := conditions[fmt.Sprint(c)].(bool)
		if !ok {
			return nil, fmt.Errorf("resource %s: condition %v did not evaluate to a boolean", name, c)
		}
		if !value {
			delete(resources, name)
		}
	}
	// Evaluated conditions are booleans, which goformation's Template does
	// not accept; the tests read them through render's output instead.
	delete(doc, "Conditions")
	raw, err = json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	tmpl := &cloudformation.Template{}
	if err := json.Unmarshal(raw, tmpl); err != nil {
		return nil, err
	}
	return tmpl, nil
}

// parameter returns the declaration of the named template parameter; its
// Default holds the override when one was given.
func parameter(template any, name string) (map[string]any, bool) {
	doc, _ := template.(map[string]any)
	params, _ := doc["Parameters"].(map[string]any)
	p, ok := params[name].(map[string]any)
	return p, ok
}

func renderRef(_ string, input any, template any) any {
	name, ok := input.(string)
	if !ok {
		return nil
	}
	if name == "AWS::NoValue" {
		return nil
	}
	p, ok := parameter(template, name)
	if !ok {
		return "${" + name + "}"
	}
	v, ok := p["Default"]
	if !ok {
		return "${" + name + "}"
	}
	typ, _ := p["Type"].(string)
	if s, ok := v.(string); ok && (strings.HasPrefix(typ, "List<") || typ == "CommaDelimitedList") {
		return strings.Split(s, ",")
	}
	return v
}

func renderGetAtt(_ string, input any, _ any) any {
	switch v := input.(type) {
	case string:
		return "${" + v + "}"
	case []any:
		if len(v) == 2 {
			return fmt.Sprintf("${%v.%v}", v[0], v[1])
		}
	}
	return nil
}

func renderImportValue(_ string, input any, _ any) any {
	if name, ok := input.(string); ok {
		return "${ImportValue:" + name + "}"
	}
	return nil
}

var subVariable = regexp.MustCompile(`\$\{([^}]*)\}`)

func renderSub(_ string, input any, template any) any {
	var text string
	var vars map[string]any
	switch v := input.(type) {
	case string:
		text = v
	case []any:
		if len(v) != 2 {
			return nil
		}
		text, _ = v[0].(string)
		vars, _ = v[1].(map[string]any)
	default:
		return nil
	}
	return subVariable.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if literal, ok := strings.CutPrefix(name, "!"); ok {
			return "${" + literal + "}"
		}
		if v, ok := vars[name]; ok {
			if s, ok := v.(string); ok {
				return s
			}
			return m
		}
		if p, ok := parameter(template, name); ok {
			if v, ok := p["Default"]; ok {
				return fmt.Sprint(v)
			}
		}
		return m
	})
}

// TestRender pins the renderer's conventions that the other tests rely on.
func TestRender(t *testing.T) {
	const doc = `
Parameters:
  Name: {Type: String, Default: dflt}
  Nets: {Type: "List<AWS::EC2::Subnet::Id>"}
  Flag: {Type: String, Default: ""}
Conditions:
  HasFlag: !Not [!Equals [!Ref Flag, ""]]
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${Name}-${AWS::Region}-${Queue.Arn}-${!literal}"
      DisplayName: !If [HasFlag, !Ref Flag, !Ref AWS::NoValue]
      KmsMasterKeyId:
        Fn::ImportValue: !Sub ${Name}-KeyArn
  Queue:
    Type: AWS::SQS::Queue
    Condition: HasFlag
  Policy:
    Type: AWS::SNS::TopicPolicy
    Properties:
      Topics: [!Ref Topic, !GetAtt Queue.Arn]
      PolicyDocument: {Nets: !Ref Nets, Name: !Ref Name}
`
	for _, tc := range []struct {
		flag      string
		wantQueue bool
		wantName  *string
	}{
		{flag: "", wantQueue: false, wantName: nil},
		{flag: "on", wantQueue: true, wantName: cloudformation.String("on")},
	} {
		tmpl, err := renderErr([]byte(doc), map[string]any{"Nets": "subnet-1,subnet-2", "Flag": tc.flag})
		if err != nil {
			t.Fatal(err)
		}
		topic, err := tmpl.GetSNSTopicWithName("Topic")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := *topic.TopicName, "dflt-${AWS::Region}-${Queue.Arn}-${literal}"; got != want {
			t.Errorf("Fn::Sub rendered %q, want %q", got, want)
		}
		if got, want := deref(topic.KmsMasterKeyId), "${ImportValue:dflt-KeyArn}"; got != want {
			t.Errorf("Fn::ImportValue rendered %q, want %q", got, want)
		}
		if (topic.DisplayName == nil) != (tc.wantName == nil) || (tc.wantName != nil && *topic.DisplayName != *tc.wantName) {
			t.Errorf("Flag=%q: Fn::If rendered DisplayName %v, want %v", tc.flag, topic.DisplayName, tc.wantName)
		}
		if _, err := tmpl.GetSQSQueueWithName("Queue"); (err == nil) != tc.wantQueue {
			t.Errorf("Flag=%q: conditional resource present = %v, want %v", tc.flag, err == nil, tc.wantQueue)
		}
		policy, err := tmpl.GetSNSTopicPolicyWithName("Policy")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"${Topic}", "${Queue.Arn}"}; !slices.Equal(policy.Topics, want) {
			t.Errorf("Ref/GetAtt of resources rendered %q, want %q", policy.Topics, want)
		}
		gotDoc, _ := json.Marshal(policy.PolicyDocument)
		if want := `{"Name":"dflt","Nets":["subnet-1","subnet-2"]}`; string(gotDoc) != want {
			t.Errorf("Ref of parameters rendered %s, want %s", gotDoc, want)
		}
	}
	if _, err := renderErr([]byte(doc), nil); err == nil || !strings.Contains(err.Error(), "Nets") {
		t.Errorf("render without a required parameter: err = %v, want one naming Nets", err)
	}
	if _, err := renderErr([]byte(doc), map[string]any{"Nets": "s", "Nope": "x"}); err == nil {
		t.Error("render with an undeclared parameter succeeded")
	}
}
