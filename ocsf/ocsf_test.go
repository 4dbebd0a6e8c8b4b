package ocsf

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/ecsaudit/ecsaudit/output"
)

const schemaDir = "testdata/ocsf-schema-1.1.0"

// attr is one attribute as the schema files define it; a layer may set
// only some fields.
type attr struct {
	Type        string                     `json:"type"`
	IsArray     bool                       `json:"is_array"`
	Requirement string                     `json:"requirement"`
	Enum        map[string]json.RawMessage `json:"enum"`
}

type schemaFile struct {
	Extends    string                     `json:"extends"`
	UID        int                        `json:"uid"`
	Attributes map[string]json.RawMessage `json:"attributes"`
}

// schema resolves classes and objects of the OCSF files in testdata.
type schema struct {
	t        *testing.T
	dict     map[string]attr
	profiles []string
}

func loadSchema(t *testing.T, profiles ...string) *schema {
	var d struct{ Attributes map[string]attr }
	readJSON(t, filepath.Join(schemaDir, "dictionary.json"), &d)
	return &schema{t: t, dict: d.Attributes, profiles: profiles}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// merge adds one file's attributes (and what it includes) onto attrs:
// later layers override the requirement, enums add up.
func (s *schema) merge(attrs map[string]attr, path string) string {
	var f schemaFile
	readJSON(s.t, path, &f)
	for name, raw := range f.Attributes {
		if name == "$include" {
			var incs []string
			json.Unmarshal(raw, &incs)
			for _, inc := range incs {
				// Includes always apply; a profile only when the event
				// declares it in metadata.profiles.
				if p, ok := strings.CutPrefix(inc, "profiles/"); ok && !slices.Contains(s.profiles, strings.TrimSuffix(p, ".json")) {
					continue
				}
				s.merge(attrs, filepath.Join(schemaDir, inc))
			}
			continue
		}
		var a attr
		json.Unmarshal(raw, &a)
		cur, ok := attrs[name]
		if !ok {
			cur = s.dict[name]
			cur.Enum = maps(cur.Enum)
		}
		if a.Requirement != "" {
			cur.Requirement = a.Requirement
		}
		for k, v := range a.Enum {
			cur.Enum[k] = v
		}
		attrs[name] = cur
	}
	return f.Extends
}

func maps(m map[string]json.RawMessage) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// resolve returns the attributes of a class or object file and of every
// file it extends, base first.
func (s *schema) resolve(path string, lookup func(name string) string) map[string]attr {
	var chain []string
	for p := path; p != ""; {
		chain = append(chain, p)
		var f schemaFile
		readJSON(s.t, p, &f)
		p = lookup(f.Extends)
	}
	attrs := map[string]attr{}
	for _, p := range slices.Backward(chain) {
		s.merge(attrs, p)
	}
	return attrs
}

// class resolves the Compliance Finding class. As the OCSF server does,
// it derives the enums of category_uid (the category's uid, from
// categories.json) and class_uid (category uid × 1000 + the class's uid).
func (s *schema) class() map[string]attr {
	var cats struct {
		Attributes map[string]struct{ UID int }
	}
	readJSON(s.t, filepath.Join(schemaDir, "categories.json"), &cats)
	var cf schemaFile
	readJSON(s.t, filepath.Join(schemaDir, "events/findings/compliance_finding.json"), &cf)
	var fin struct{ Category string }
	readJSON(s.t, filepath.Join(schemaDir, "events/findings/finding.json"), &fin)
	cat := cats.Attributes[fin.Category].UID
	attrs := s.classAttrs()
	attrs["category_uid"].Enum[fmt.Sprint(cat)] = json.RawMessage(`{}`)
	attrs["class_uid"].Enum[fmt.Sprint(cat*1000+cf.UID)] = json.RawMessage(`{}`)
	return attrs
}

func (s *schema) classAttrs() map[string]attr {
	return s.resolve(filepath.Join(schemaDir, "events/findings/compliance_finding.json"), func(name string) string {
		switch name {
		case "finding":
			return filepath.Join(schemaDir, "events/findings/finding.json")
		case "base_event":
			return filepath.Join(schemaDir, "events/base_event.json")
		}
		return ""
	})
}

func (s *schema) object(name string) map[string]attr {
	path := filepath.Join(schemaDir, "objects", name+".json")
	if _, err := os.Stat(path); err != nil {
		s.t.Fatalf("object %s is not in testdata", name)
	}
	return s.resolve(path, func(name string) string {
		if name == "" || name == "object" {
			return ""
		}
		return filepath.Join(schemaDir, "objects", name+".json")
	})
}

var scalarTypes = map[string]string{
	"string_t": "string", "integer_t": "int", "long_t": "int", "timestamp_t": "int",
	"boolean_t": "bool", "float_t": "number", "json_t": "any",
}

// validate returns every way v breaks attrs: a required attribute missing,
// an attribute the class does not define, a wrong type, a value outside
// an enum.
func (s *schema) validate(at string, v map[string]any, attrs map[string]attr) []string {
	var errs []string
	for name, a := range attrs {
		if a.Requirement == "required" && empty(v[name]) {
			errs = append(errs, fmt.Sprintf("%s%s: required attribute missing", at, name))
		}
	}
	for name, val := range v {
		a, ok := attrs[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s%s: not an attribute of this class or object", at, name))
			continue
		}
		vals := []any{val}
		if a.IsArray {
			list, ok := val.([]any)
			if !ok && val != nil {
				errs = append(errs, fmt.Sprintf("%s%s: want an array", at, name))
			}
			vals = list
		}
		for _, x := range vals {
			errs = append(errs, s.check(at+name, x, a)...)
		}
	}
	return errs
}

func (s *schema) check(at string, x any, a attr) []string {
	want, scalar := scalarTypes[a.Type]
	if !scalar {
		m, ok := x.(map[string]any)
		if !ok {
			return []string{at + ": want an object " + a.Type}
		}
		return s.validate(at+".", m, s.object(a.Type))
	}
	ok := false
	switch want {
	case "string":
		_, ok = x.(string)
	case "int":
		f, isNum := x.(float64)
		ok = isNum && f == float64(int64(f))
	case "bool":
		_, ok = x.(bool)
	default:
		ok = true
	}
	if !ok {
		return []string{fmt.Sprintf("%s: %v is not of type %s", at, x, a.Type)}
	}
	if len(a.Enum) > 0 {
		if _, in := a.Enum[fmt.Sprint(x)]; !in {
			return []string{fmt.Sprintf("%s: %v is not one of the enum's values", at, x)}
		}
	}
	return nil
}

func empty(x any) bool {
	switch v := x.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	}
	return false
}

func asMap(t *testing.T, e Event) map[string]any {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func rows() []output.Finding {
	base := output.Finding{
		AccountID: "333333333333", AccountName: "prod", Region: "us-east-1",
		TaskDefinitionARN: "arn:aws:ecs:us-east-1:333333333333:task-definition/web:3", Family: "web", Revision: 3,
		RuleID: "ECSAUDIT.HOSTNET.1", RuleVersion: "1", ScannedAt: time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC),
	}
	fail, pass, errRow, na := base, base, base, base
	fail.ContainerName, fail.Result, fail.Severity, fail.Reason = "app", "FAIL", "CRITICAL", "privileged"
	pass.ContainerName, pass.Result, pass.Severity, pass.Reason, pass.Carried = "log", "PASS", "INFORMATIONAL", "runs as 1000", true
	errRow.Result, errRow.Severity, errRow.Reason = "ERROR", "MEDIUM", "describe failed"
	na.ContainerName, na.Result = "x", "NOT_APPLICABLE"
	other := fail
	other.AccountID, other.Region, other.TaskDefinitionARN = "444444444444", "eu-west-1", "arn:aws:ecs:eu-west-1:444444444444:task-definition/api:1"
	return []output.Finding{fail, pass, errRow, na, other}
}

// TestEventsMatchTheSchema validates generated events against the OCSF
// 1.1.0 Compliance Finding class, and shows the validation can fail.
func TestEventsMatchTheSchema(t *testing.T) {
	t.Parallel()
	s := loadSchema(t, "cloud")
	class := s.class()
	var n int
	for _, f := range rows() {
		e, ok := FromFinding(f, "test")
		if !ok {
			if f.Result != "NOT_APPLICABLE" {
				t.Errorf("no event for %s", f.Result)
			}
			continue
		}
		n++
		if errs := s.validate("", asMap(t, e), class); len(errs) > 0 {
			t.Errorf("%s event breaks the schema:\n%s", f.Result, strings.Join(errs, "\n"))
		}
		if e.ClassUID != ClassUID || e.CategoryUID != CategoryUID || e.TypeUID != int64(e.ClassUID)*100+int64(e.ActivityID) {
			t.Errorf("class %d category %d type %d", e.ClassUID, e.CategoryUID, e.TypeUID)
		}
	}
	if n != 4 {
		t.Fatalf("%d events", n)
	}

	// The validator fires: a required attribute missing, an unknown one, a
	// value outside an enum.
	e, _ := FromFinding(rows()[0], "test")
	for name, spoil := range map[string]func(m map[string]any){
		"finding_info.uid": func(m map[string]any) { delete(m["finding_info"].(map[string]any), "uid") },
		"bogus":            func(m map[string]any) { m["bogus"] = "x" },
		"compliance.status_id": func(m map[string]any) {
			m["compliance"].(map[string]any)["status_id"] = float64(7)
		},
		"class_uid": func(m map[string]any) { delete(m, "class_uid") },
	} {
		m := asMap(t, e)
		spoil(m)
		errs := s.validate("", m, class)
		if !slices.ContainsFunc(errs, func(err string) bool { return strings.HasPrefix(err, name+":") }) {
			t.Errorf("spoiling %s went unnoticed: %v", name, errs)
		}
	}
}

var partition = regexp.MustCompile(`^region=[a-z0-9-]+/accountId=\d{12}/eventDay=\d{8}/[^/]+\.parquet$`)

// TestWriterLayout: one file per (region, account) under Security Lake's
// partitions, whose rows read back as valid events with OCSF column names.
func TestWriterLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := NewWriter(output.Dir(dir), "run-1", time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC), "test")
	w.Add(rows(), nil)
	exports, err := w.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	keys, err := output.Dir(dir).List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{
		"region=eu-west-1/accountId=444444444444/eventDay=20261130/run-1.parquet",
		"region=us-east-1/accountId=333333333333/eventDay=20261130/run-1.parquet",
	}
	if !slices.Equal(keys, want) || len(exports) != 2 || exports[1].Imported != 3 {
		t.Fatalf("files %v, exports %+v", keys, exports)
	}
	s := loadSchema(t, "cloud")
	class := s.class()
	for _, k := range keys {
		if !partition.MatchString(k) {
			t.Errorf("%s is not in Security Lake's layout", k)
		}
		f, err := os.Open(filepath.Join(dir, k))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		events := make([]Event, pf.NumRows())
		r := parquet.NewGenericReader[Event](pf)
		if n, _ := r.Read(events); n != len(events) {
			t.Fatalf("%s: read %d of %d rows", k, n, len(events))
		}
		r.Close()
		f.Close()
		for _, e := range events {
			m := asMap(t, e)
			if errs := s.validate("", m, class); len(errs) > 0 {
				t.Errorf("%s: %s", k, strings.Join(errs, "; "))
			}
			// Column names are the OCSF names the JSON validated.
			for _, col := range pf.Schema().Fields() {
				if _, ok := m[col.Name()]; !ok {
					t.Errorf("column %s is not an attribute of the event", col.Name())
				}
			}
		}
	}
}
