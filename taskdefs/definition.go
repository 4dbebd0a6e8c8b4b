package taskdefs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsaudit/ecsaudit/check"
)

// Definition is one revision as the input of RegisterTaskDefinition: the
// JSON object `aws ecs register-task-definition --cli-input-json` takes,
// keyed by the API's member names, every member of the revision carried
// over except the read-only ones, its tags included except the reserved
// aws: ones. Values are strings, booleans, numbers, []any and
// map[string]any. Unlike everything else in this package, it holds the
// containers' environment values: it exists to register a faithful copy.
type Definition map[string]any

// Full is one revision read for remediation: the rule's view of it and the
// Definition that registers an identical copy.
type Full struct {
	TaskDefinition check.TaskDefinition
	Definition     Definition
}

// readOnly are the members DescribeTaskDefinition reports that
// RegisterTaskDefinition does not take: ECS sets them.
var readOnly = []string{"taskDefinitionArn", "revision", "status", "requiresAttributes",
	"compatibilities", "registeredAt", "registeredBy", "deregisteredAt", "deleteRequestedAt"}

// registerMembers are the members RegisterTaskDefinition takes.
var registerMembers = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[ecs.RegisterTaskDefinitionInput]()
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() {
			m[lowerFirst(f.Name)] = true
		}
	}
	return m
}()

// DescribeFull reads one revision with its tags.
func DescribeFull(ctx context.Context, api Describer, ref string) (Full, error) {
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: &ref, Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		return Full{}, fmt.Errorf("describe task definition: %w", err)
	}
	if out.TaskDefinition == nil {
		return Full{}, errors.New("describe task definition: response has no task definition")
	}
	d, err := definition(out.TaskDefinition, out.Tags)
	if err != nil {
		return Full{}, fmt.Errorf("task definition %s: %w", aws.ToString(out.TaskDefinition.TaskDefinitionArn), err)
	}
	return Full{TaskDefinition: convert(out.TaskDefinition), Definition: d}, nil
}

// definition turns a described revision and its tags into the register
// input. A member the register input has no place for, other than the
// read-only ones, is an error: it would be lost without a word.
func definition(td *ecstypes.TaskDefinition, tags []ecstypes.Tag) (Definition, error) {
	v, _ := walk(reflect.ValueOf(td))
	d := Definition(v.(map[string]any))
	for _, k := range readOnly {
		delete(d, k)
	}
	var lost []string
	for k := range d {
		if !registerMembers[k] {
			lost = append(lost, k)
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		return nil, fmt.Errorf("members %s have no place in RegisterTaskDefinition's input", strings.Join(lost, ", "))
	}
	var kept []any
	for _, t := range tags {
		if !strings.HasPrefix(strings.ToLower(aws.ToString(t.Key)), "aws:") {
			m, _ := walk(reflect.ValueOf(t))
			kept = append(kept, m)
		}
	}
	if len(kept) > 0 {
		d["tags"] = kept
	}
	return d, nil
}

var timeType = reflect.TypeFor[time.Time]()

// walk turns an SDK value into JSON values under the API's member names:
// a struct field's name with its first letter lower-cased (map keys stay
// as they are), leaving out nil pointers, slices and maps, unexported
// fields, times (only read-only members are times) and non-pointer
// members at their zero value: empty enums and numbers such as a
// container's cpu 0, which the SDK's own serializer leaves out too and ECS
// reads as its default.
func walk(v reflect.Value) (any, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		return walk(v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			return nil, false
		}
		m := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			fv := v.Field(i)
			if !f.IsExported() || (fv.Kind() != reflect.Pointer && fv.Kind() != reflect.Slice && fv.Kind() != reflect.Map && fv.Kind() != reflect.Struct && fv.IsZero()) {
				continue
			}
			if x, ok := walk(fv); ok {
				m[lowerFirst(f.Name)] = x
			}
		}
		return m, true
	case reflect.Slice:
		if v.IsNil() {
			return nil, false
		}
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			x, _ := walk(v.Index(i))
			out = append(out, x)
		}
		return out, true
	case reflect.Map:
		if v.IsNil() {
			return nil, false
		}
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			x, _ := walk(it.Value())
			m[it.Key().String()] = x
		}
		return m, true
	case reflect.String:
		return v.String(), true
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Float32, reflect.Float64:
		return v.Float(), true
	}
	return nil, false
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// JSON returns d indented, keys in a stable (sorted) order, ending in a
// newline: the file register-task-definition --cli-input-json reads.
func (d Definition) JSON() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any(d)); err != nil {
		panic(err) // JSON values always encode
	}
	return b.Bytes()
}

// Equal reports whether two definitions register the same revision.
func (d Definition) Equal(o Definition) bool { return bytes.Equal(d.JSON(), o.JSON()) }

// Clone returns a deep copy of d.
func (d Definition) Clone() Definition {
	var out Definition
	if err := json.Unmarshal(d.JSON(), &out); err != nil {
		panic(err)
	}
	return normalize(out).(map[string]any)
}

// normalize turns the float64 numbers json.Unmarshal makes back into the
// int64 the walk makes where they are whole, so that Equal compares values.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return map[string]any(x)
	case Definition:
		return normalize(map[string]any(x))
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
	}
	return v
}

// Registrar is the part of ECS that Register calls.
type Registrar interface {
	RegisterTaskDefinition(context.Context, *ecs.RegisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
}

var _ Registrar = (*ecs.Client)(nil)

// Input returns d as the SDK's RegisterTaskDefinition input. A member the
// input has no field for is an error, never dropped.
func (d Definition) Input() (*ecs.RegisterTaskDefinitionInput, error) {
	dec := json.NewDecoder(bytes.NewReader(d.JSON()))
	dec.DisallowUnknownFields()
	var in ecs.RegisterTaskDefinitionInput
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("register input: %w", err)
	}
	return &in, nil
}

// Register registers d as the family's next revision and returns its ARN.
func Register(ctx context.Context, api Registrar, d Definition) (string, error) {
	in, err := d.Input()
	if err != nil {
		return "", err
	}
	out, err := api.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", fmt.Errorf("register task definition %s: %w", aws.ToString(in.Family), err)
	}
	if out.TaskDefinition == nil {
		return "", errors.New("register task definition: response has no task definition")
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
}

// Newer returns the ACTIVE revisions of family listed after the revision
// with ARN after, oldest first.
func Newer(ctx context.Context, api ecs.ListTaskDefinitionsAPIClient, family, after string) ([]string, error) {
	var out []string
	p := ecs.NewListTaskDefinitionsPaginator(api, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: &family, Status: ecstypes.TaskDefinitionStatusActive, MaxResults: aws.Int32(100),
	})
	prefix := after[:strings.LastIndexByte(after, ':')+1]
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list task definitions of %s: %w", family, err)
		}
		for _, a := range page.TaskDefinitionArns {
			if !strings.HasPrefix(a, prefix) { // another family with the same prefix
				continue
			}
			if revisionOf(a) > revisionOf(after) {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

// revisionOf returns the revision number at the end of an ARN, or 0.
func revisionOf(arn string) int {
	n := 0
	for _, r := range arn[strings.LastIndexByte(arn, ':')+1:] {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}
