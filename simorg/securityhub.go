package simorg

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// SecurityHub is the simulated AWS Security Hub's store of findings, one per
// (account, region) as in AWS. It outlives a Server when passed in
// [Options.SecurityHub], so that two nights, served by two Servers over two
// organizations, see the same findings.
type SecurityHub struct {
	mu       sync.Mutex
	findings map[Target]map[string]*hubFinding
	// failNext is how many findings BatchImportFindings still fails.
	failNext int
}

// NewSecurityHub returns an empty store.
func NewSecurityHub() *SecurityHub {
	return &SecurityHub{findings: map[Target]map[string]*hubFinding{}}
}

// FailNextFindings makes the next n findings that BatchImportFindings
// receives come back in FailedFindings with InternalException, as a
// transient failure of single findings would.
func (h *SecurityHub) FailNextFindings(n int) {
	h.mu.Lock()
	h.failNext = n
	h.mu.Unlock()
}

// HubFinding is one stored finding as a test reads it: the fields ecsaudit's
// lifecycle is about, and the whole ASFF document as Security Hub returns it.
type HubFinding struct {
	ID               string
	ProductARN       string
	GeneratorID      string
	AwsAccountID     string
	Region           string // where it was imported
	ComplianceStatus string
	SeverityLabel    string
	RecordState      string
	WorkflowStatus   string
	ResourceType     string
	ResourceID       string
	ResourceRegion   string
	ProductFields    map[string]string
	CreatedAt        string
	UpdatedAt        string
	// Imports counts the BatchImportFindings that created or updated it.
	Imports int
	// Raw is the finding as GetFindings returns it.
	Raw json.RawMessage
}

// Findings returns the findings imported into account's Security Hub in
// region, ordered by Id.
func (h *SecurityHub) Findings(account, region string) []HubFinding {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []HubFinding
	for _, f := range h.sorted(Target{account, region}) {
		out = append(out, f.view(region))
	}
	return out
}

// hubFinding is a stored finding: the document as imported plus what
// Security Hub itself keeps.
type hubFinding struct {
	doc      map[string]any
	workflow string
	imports  int
}

func (h *SecurityHub) sorted(t Target) []*hubFinding {
	m := h.findings[t]
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]*hubFinding, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out
}

// document returns the finding as GetFindings returns it: the imported
// document with the attributes Security Hub populates.
func (f *hubFinding) document(region string) map[string]any {
	d := make(map[string]any, len(f.doc)+6)
	for k, v := range f.doc {
		d[k] = v
	}
	d["Region"] = region
	d["CompanyName"] = "Personal"
	d["ProductName"] = "Default"
	d["Workflow"] = map[string]any{"Status": f.workflow}
	d["WorkflowState"] = f.workflow
	if _, ok := d["RecordState"]; !ok {
		d["RecordState"] = "ACTIVE"
	}
	return d
}

func (f *hubFinding) view(region string) HubFinding {
	d := f.document(region)
	raw, _ := json.Marshal(d)
	v := HubFinding{
		ID: str(d, "Id"), ProductARN: str(d, "ProductArn"), GeneratorID: str(d, "GeneratorId"),
		AwsAccountID: str(d, "AwsAccountId"), Region: region,
		ComplianceStatus: str(d, "Compliance", "Status"), SeverityLabel: severityLabel(d),
		RecordState: str(d, "RecordState"), WorkflowStatus: f.workflow,
		CreatedAt: str(d, "CreatedAt"), UpdatedAt: str(d, "UpdatedAt"),
		ProductFields: map[string]string{}, Imports: f.imports, Raw: raw,
	}
	if rs, ok := d["Resources"].([]any); ok && len(rs) > 0 {
		r, _ := rs[0].(map[string]any)
		v.ResourceType, v.ResourceID, v.ResourceRegion = str(r, "Type"), str(r, "Id"), str(r, "Region")
	}
	if pf, ok := d["ProductFields"].(map[string]any); ok {
		for k, x := range pf {
			if s, ok := x.(string); ok {
				v.ProductFields[k] = s
			}
		}
	}
	return v
}

// str walks nested objects by key and returns the string found, or "".
func str(d map[string]any, path ...string) string {
	var cur any = d
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	s, _ := cur.(string)
	return s
}

func severityLabel(d map[string]any) string {
	if s := str(d, "FindingProviderFields", "Severity", "Label"); s != "" {
		return s
	}
	return str(d, "Severity", "Label")
}

// The Security Hub operations' HTTP bindings (restJson1).
var hubRoutes = map[string]op{
	"POST /findings/import":       opBatchImportFindings,
	"POST /findings":              opGetFindings,
	"PATCH /findings/batchupdate": opBatchUpdateFindings,
}

// hubLimit returns the bucket AWS documents for a Security Hub operation,
// per account and region: GetFindings 3 requests/s with a burst of 6,
// BatchImportFindings and BatchUpdateFindings 10/s with a burst of 30
// (https://docs.aws.amazon.com/securityhub/1.0/APIReference/Welcome.html;
// https://docs.aws.amazon.com/securityhub/latest/partnerguide/guidelines-batchimportfindings.html).
func hubLimit(o op) Limit {
	if o == opGetFindings {
		return Limit{Burst: 6, Rate: 3}
	}
	return Limit{Burst: 30, Rate: 10}
}

func hubInvalid(msg string) *apiError {
	return &apiError{status: 400, code: "InvalidInputException", message: msg}
}

func (s *Server) securityHub(c *call) {
	var in map[string]any
	if err := json.Unmarshal(c.body, &in); err != nil {
		s.fail(c, hubInvalid("Could not parse request body: "+err.Error()))
		return
	}
	switch c.op {
	case opBatchImportFindings:
		s.batchImportFindings(c, in)
	case opGetFindings:
		s.getFindings(c, in)
	case opBatchUpdateFindings:
		s.batchUpdateFindings(c, in)
	}
}

// defaultProductARN is the product ARN an account's own findings use.
func (s *Server) defaultProductARN(account, region string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", s.org.partition, region, account, account)
}

// requiredASFF are the attributes every imported finding must have.
var requiredASFF = []string{"AwsAccountId", "CreatedAt", "Description", "GeneratorId", "Id", "ProductArn", "Resources", "SchemaVersion", "Title", "UpdatedAt"}

// batchImportFindings creates or updates findings. As in AWS, the caller
// may import only its own account's findings under its default product:
// any other AwsAccountId or ProductArn fails the whole call with
// AccessDeniedException. Findings that break the format fail one by one.
func (s *Server) batchImportFindings(c *call, in map[string]any) {
	list, ok := in["Findings"].([]any)
	if !ok || len(list) == 0 || len(list) > 100 {
		s.fail(c, hubInvalid("Findings must contain between 1 and 100 findings."))
		return
	}
	product := s.defaultProductARN(c.who.account, c.who.region)
	denied := func(resource string) *apiError {
		return &apiError{status: 403, code: "AccessDeniedException", message: fmt.Sprintf(
			"User: %s is not authorized to perform: securityhub:BatchImportFindings on resource: %s", c.who.arn(s.org.partition), resource)}
	}
	for _, x := range list {
		d, _ := x.(map[string]any)
		if p := str(d, "ProductArn"); p != "" && p != product {
			s.fail(c, denied(p))
			return
		}
		if a := str(d, "AwsAccountId"); a != "" && a != c.who.account {
			s.fail(c, denied(product))
			return
		}
	}
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	t := Target{c.who.account, c.who.region}
	if h.findings[t] == nil {
		h.findings[t] = map[string]*hubFinding{}
	}
	var failed []map[string]string
	for _, x := range list {
		d, _ := x.(map[string]any)
		id := str(d, "Id")
		if h.failNext > 0 {
			h.failNext--
			failed = append(failed, map[string]string{"Id": id, "ErrorCode": "InternalException", "ErrorMessage": "Internal service error."})
			continue
		}
		if msg := invalidASFF(d); msg != "" {
			failed = append(failed, map[string]string{"Id": id, "ErrorCode": "InvalidInput", "ErrorMessage": "Finding does not adhere to Amazon Finding Format. " + msg})
			continue
		}
		old := h.findings[t][id]
		f := &hubFinding{doc: d, workflow: "NEW"}
		if old != nil {
			f.imports, f.workflow = old.imports, old.workflow
			// Workflow belongs to the customer: an import cannot set it,
			// but Security Hub resets it in two cases.
			wasArchived := str(old.doc, "RecordState") == "ARCHIVED"
			nowActive := str(d, "RecordState") != "ARCHIVED"
			passedToWorse := str(old.doc, "Compliance", "Status") == "PASSED" &&
				slices.Contains([]string{"FAILED", "WARNING", "NOT_AVAILABLE"}, str(d, "Compliance", "Status"))
			if (f.workflow == "NOTIFIED" || f.workflow == "RESOLVED") && ((wasArchived && nowActive) || passedToWorse) {
				f.workflow = "NEW"
			}
			delete(d, "Workflow")
		} else if w := str(d, "Workflow", "Status"); w != "" {
			f.workflow = w
		}
		f.imports++
		h.findings[t][id] = f
	}
	writeJSON(c, map[string]any{"FailedCount": len(failed), "SuccessCount": len(list) - len(failed), "FailedFindings": orEmpty(failed)})
}

// invalidASFF returns why d is not a finding Security Hub accepts, or "".
func invalidASFF(d map[string]any) string {
	for _, k := range requiredASFF {
		if v, ok := d[k]; !ok || v == "" || v == nil {
			return fmt.Sprintf("data should have required property '%s'", k)
		}
	}
	if severityLabel(d) == "" {
		return "data should have required property 'FindingProviderFields', data should match some schema in anyOf"
	}
	if _, ok := d["Types"]; !ok {
		if _, ok := d["FindingProviderFields"].(map[string]any)["Types"]; !ok {
			return "data should have required property 'Types'"
		}
	}
	if len(str(d, "Id")) > 512 {
		return "data.Id should NOT be longer than 512 characters"
	}
	if len(str(d, "Title")) > 256 {
		return "data.Title should NOT be longer than 256 characters"
	}
	if len(str(d, "Description")) > 1024 {
		return "data.Description should NOT be longer than 1024 characters"
	}
	for _, k := range []string{"CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"} {
		if v := str(d, k); v != "" {
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				return fmt.Sprintf("data.%s should match format \"date-time\"", k)
			}
		}
	}
	if st := str(d, "Compliance", "Status"); st != "" && !slices.Contains([]string{"PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"}, st) {
		return "data.Compliance.Status should be equal to one of the allowed values"
	}
	if st := str(d, "RecordState"); st != "" && st != "ACTIVE" && st != "ARCHIVED" {
		return "data.RecordState should be equal to one of the allowed values"
	}
	rs, ok := d["Resources"].([]any)
	if !ok || len(rs) == 0 || len(rs) > 32 {
		return "data.Resources should NOT have fewer than 1 items"
	}
	for _, x := range rs {
		r, _ := x.(map[string]any)
		if str(r, "Id") == "" || str(r, "Type") == "" {
			return "data.Resources[0] should have required property 'Id' and 'Type'"
		}
	}
	if pf, ok := d["ProductFields"].(map[string]any); ok && len(pf) > 50 {
		return "data.ProductFields should NOT have more than 50 properties"
	}
	return ""
}

// hubFilters are the GetFindings filters the simulator understands, with
// where each looks in a finding. Any other filter fails the call rather
// than being ignored.
var hubFilters = map[string][]string{
	"Id":               {"Id"},
	"ProductArn":       {"ProductArn"},
	"AwsAccountId":     {"AwsAccountId"},
	"GeneratorId":      {"GeneratorId"},
	"RecordState":      {"RecordState"},
	"ComplianceStatus": {"Compliance", "Status"},
	"WorkflowStatus":   {"Workflow", "Status"},
}

// getFindings lists the caller's findings in the region that match every
// filter, ordered by Id, at most MaxResults (1-100) a page.
func (s *Server) getFindings(c *call, in map[string]any) {
	type cond struct {
		path       []string
		comparison string
		value      string
	}
	var conds [][]cond // AND of ORs, as Security Hub combines values of one field with OR
	filters, _ := in["Filters"].(map[string]any)
	for name, x := range filters {
		path, ok := hubFilters[name]
		if !ok {
			s.fail(c, hubInvalid("simorg does not implement the GetFindings filter "+name))
			return
		}
		list, _ := x.([]any)
		var or []cond
		for _, y := range list {
			m, _ := y.(map[string]any)
			cmp := str(m, "Comparison")
			switch cmp {
			case "EQUALS", "PREFIX", "NOT_EQUALS":
			default:
				s.fail(c, hubInvalid("simorg does not implement the comparison "+cmp))
				return
			}
			or = append(or, cond{path, cmp, str(m, "Value")})
		}
		conds = append(conds, or)
	}
	limit := 100
	if v, ok := in["MaxResults"].(float64); ok {
		if v < 1 || v > 100 {
			s.fail(c, hubInvalid("MaxResults must be between 1 and 100."))
			return
		}
		limit = int(v)
	}
	start := 0
	if tok := str(in, "NextToken"); tok != "" {
		var ok bool
		if start, ok = decodeToken(tok); !ok {
			s.fail(c, hubInvalid("Invalid NextToken."))
			return
		}
	}
	match := func(d map[string]any) bool {
		for _, or := range conds {
			hit := false
			for _, cd := range or {
				v := str(d, cd.path...)
				switch cd.comparison {
				case "EQUALS":
					hit = hit || v == cd.value
				case "PREFIX":
					hit = hit || strings.HasPrefix(v, cd.value)
				case "NOT_EQUALS":
					hit = hit || v != cd.value
				}
			}
			if !hit {
				return false
			}
		}
		return true
	}
	h := s.hub
	h.mu.Lock()
	var all []map[string]any
	for _, f := range h.sorted(Target{c.who.account, c.who.region}) {
		if d := f.document(c.who.region); match(d) {
			all = append(all, d)
		}
	}
	h.mu.Unlock()
	if start > len(all) {
		s.fail(c, hubInvalid("Invalid NextToken."))
		return
	}
	end := min(start+limit, len(all))
	out := map[string]any{"Findings": orEmpty(all[start:end])}
	if end < len(all) {
		out["NextToken"] = encodeToken(end, c.seq)
	}
	writeJSON(c, out)
}

// batchUpdateFindings sets the workflow status of up to 100 of the
// caller's findings; the customer's side of the lifecycle.
func (s *Server) batchUpdateFindings(c *call, in map[string]any) {
	ids, _ := in["FindingIdentifiers"].([]any)
	if len(ids) == 0 || len(ids) > 100 {
		s.fail(c, hubInvalid("FindingIdentifiers must contain between 1 and 100 items."))
		return
	}
	status := str(in, "Workflow", "Status")
	if status != "" && !slices.Contains([]string{"NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"}, status) {
		s.fail(c, hubInvalid("Workflow.Status should be equal to one of the allowed values"))
		return
	}
	if note, ok := in["Note"].(map[string]any); ok && (str(note, "Text") == "" || str(note, "UpdatedBy") == "") {
		s.fail(c, hubInvalid("Note requires Text and UpdatedBy."))
		return
	}
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	processed, unprocessed := []any{}, []any{}
	for _, x := range ids {
		fi, _ := x.(map[string]any)
		f := h.findings[Target{c.who.account, c.who.region}][str(fi, "Id")]
		if f == nil || str(f.doc, "ProductArn") != str(fi, "ProductArn") {
			unprocessed = append(unprocessed, map[string]any{"FindingIdentifier": fi, "ErrorCode": "FindingNotFound", "ErrorMessage": "Finding Not Found"})
			continue
		}
		if status != "" {
			f.workflow = status
		}
		if note, ok := in["Note"].(map[string]any); ok {
			f.doc["Note"] = map[string]any{"Text": str(note, "Text"), "UpdatedBy": str(note, "UpdatedBy"), "UpdatedAt": time.Now().UTC().Format(time.RFC3339Nano)}
		}
		processed = append(processed, fi)
	}
	writeJSON(c, map[string]any{"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeREST writes a restJson1 error: the code in X-Amzn-Errortype and the
// body, as Security Hub does.
func writeRESTError(c *call, e *apiError) {
	b, _ := json.Marshal(map[string]string{"Code": e.code, "Message": e.message})
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Requestid", c.id)
	h.Set("X-Amzn-Errortype", e.code)
	writeBody(c.w, e.status, b)
}

// routeREST finds the Security Hub operation of a restJson1 request.
func routeREST(r *http.Request) op {
	return hubRoutes[r.Method+" "+r.URL.Path]
}
