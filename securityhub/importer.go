// Package securityhub keeps AWS Security Hub in step with ecsaudit's
// findings: it turns findings rows into AWS Security Finding Format (ASFF)
// and, account by account, imports what is new or changed, marks findings
// that now pass as resolved, and archives findings of revisions that are
// gone.
//
// Security Hub accepts findings under an account's default product only
// from that account (AwsAccountId must be the caller's), so each account's
// findings are imported with a client for that account.
//
// What Security Hub holds is the state the lifecycle is decided against:
// before importing an account's findings, the Importer reads the account's
// active ecsaudit findings with GetFindings. A night whose import failed
// is repaired by the next one, whatever the output holds.
package securityhub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	sh "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/smithy-go"

	"github.com/ecsaudit/ecsaudit/budget"
	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
)

// API is the part of Security Hub the Importer calls.
type API interface {
	BatchImportFindings(context.Context, *sh.BatchImportFindingsInput, ...func(*sh.Options)) (*sh.BatchImportFindingsOutput, error)
	GetFindings(context.Context, *sh.GetFindingsInput, ...func(*sh.Options)) (*sh.GetFindingsOutput, error)
	BatchUpdateFindings(context.Context, *sh.BatchUpdateFindingsInput, ...func(*sh.Options)) (*sh.BatchUpdateFindingsOutput, error)
}

var _ API = (*sh.Client)(nil)

// Destination names Security Hub in the exports dataset.
const Destination = "securityhub"

// Client-side budgets, per account and region, below the buckets AWS
// documents: "The throttle rate limit is 10 TPS per account per Region,
// with a burst of 30 TPS" for BatchImportFindings
// (https://docs.aws.amazon.com/securityhub/latest/partnerguide/guidelines-batchimportfindings.html),
// and GetFindings "RateLimit of 3 requests per second. BurstLimit of 6",
// every other operation 10 and 30
// (https://docs.aws.amazon.com/securityhub/1.0/APIReference/Welcome.html).
// The bursts are kept small so that other importers in the account keep
// theirs.
const (
	importRate, importBurst = 10, 10
	readRate, readBurst     = 3, 3
	updateRate, updateBurst = 10, 10
)

// batchSize is the most findings one BatchImportFindings or
// BatchUpdateFindings accepts.
const batchSize = 100

// attempts is how often a finding that comes back in FailedFindings is
// sent in all.
const attempts = 3

// Config is what an Importer needs.
type Config struct {
	// Region is the Region findings are imported into (the aggregation
	// Region, typically).
	Region string
	// Client returns the client that imports one account's findings; it
	// must act as that account.
	Client func(partition, account string) API
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Importer collects a run's findings and imports them, account by account,
// when the run finishes. Accounts are done one after another, so one
// set of client-side budgets bounds the calls to every account's buckets.
// Add and Finish must not be called concurrently.
type Importer struct {
	cfg     Config
	imports *budget.Budget
	reads   *budget.Budget
	updates *budget.Budget

	rows    map[string][]output.Finding // by account: the rows Security Hub gets
	scanned map[[2]string]bool          // (account, region) targets fully scanned
	skipped int                         // rows that cannot become findings (no ARN)
}

// New returns an Importer.
func New(cfg Config) *Importer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Importer{
		cfg:     cfg,
		imports: budget.New(importRate, importBurst),
		reads:   budget.New(readRate, readBurst),
		updates: budget.New(updateRate, updateBurst),
		rows:    map[string][]output.Finding{},
		scanned: map[[2]string]bool{},
	}
}

// Add takes rows the run wrote. NOT_APPLICABLE findings are not sent;
// coverage rows say which targets were fully scanned, the only ones whose
// missing findings are archived.
func (im *Importer) Add(findings []output.Finding, coverage []output.Coverage) {
	for _, f := range findings {
		if Compliance(f.Result) == "" {
			continue
		}
		if !strings.HasPrefix(f.TaskDefinitionARN, "arn:") {
			im.skipped++ // an ERROR row of a family name (--revisions latest): no resource to name
			continue
		}
		im.rows[f.AccountID] = append(im.rows[f.AccountID], f)
	}
	for _, c := range coverage {
		if c.Region != "" && c.Status == "scanned" {
			im.scanned[[2]string{c.AccountID, c.Region}] = true
		}
	}
}

// Finish brings each account's Security Hub in step with the rows added:
// every account with findings or a fully scanned target. It returns one
// exports row per account; the error, when not nil, names the accounts
// whose import failed in part or whole, and the rows say why.
func (im *Importer) Finish(ctx context.Context) ([]output.Export, error) {
	accounts := map[string]string{} // account → partition
	for acct, rows := range im.rows {
		accounts[acct] = partitionOf(rows[0].TaskDefinitionARN)
	}
	for t := range im.scanned {
		if _, ok := accounts[t[0]]; !ok {
			accounts[t[0]] = ""
		}
	}
	ids := make([]string, 0, len(accounts))
	for id := range accounts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var rows []output.Export
	var failed []string
	for _, acct := range ids {
		row := im.account(ctx, accounts[acct], acct)
		if row.Status != "imported" {
			failed = append(failed, acct)
		}
		rows = append(rows, row)
	}
	if im.skipped > 0 {
		im.cfg.Logger.Warn("findings without a task definition ARN not sent to Security Hub", "rows", im.skipped)
	}
	if len(failed) > 0 {
		return rows, fmt.Errorf("security hub: import failed for %d of %d accounts (%s)", len(failed), len(ids), strings.Join(failed[:min(len(failed), 5)], ", "))
	}
	return rows, nil
}

// existing is what Security Hub holds of one ecsaudit finding.
type existing struct {
	finding     types.AwsSecurityFinding
	fingerprint string
}

// account does one account: read, compare, import, resolve.
func (im *Importer) account(ctx context.Context, partition, acct string) output.Export {
	started := im.cfg.Now()
	log := im.cfg.Logger.With("account", acct, "region", im.cfg.Region)
	if partition == "" {
		partition = "aws"
	}
	row := output.Export{Destination: Destination, AccountID: acct, Region: im.cfg.Region, Status: "imported", StartedAt: started.UTC()}
	calls := func() int64 { return im.imports.Calls() + im.reads.Calls() + im.updates.Calls() }
	throttled := func() int64 { return im.imports.Throttled() + im.reads.Throttled() + im.updates.Throttled() }
	calls0, throttled0 := calls(), throttled()
	fail := func(what string, err error) output.Export {
		row.Status = "failed"
		row.ErrorCode, row.ErrorMessage = errorCode(err), output.Text(what+": "+err.Error())
		log.Warn("security hub import failed", "error_code", row.ErrorCode, "error", row.ErrorMessage)
		return row
	}
	defer func() {
		row.APICalls, row.ThrottledCalls = calls()-calls0, throttled()-throttled0
		row.DurationMS = im.cfg.Now().Sub(started).Milliseconds()
	}()

	client := im.cfg.Client(partition, acct)
	product := ProductARN(partition, im.cfg.Region, acct)
	held, err := im.read(ctx, client, product, acct)
	if err != nil {
		return fail("get findings", err)
	}

	now := im.cfg.Now()
	var send []types.AwsSecurityFinding
	var resolve []string
	tonight := map[string]bool{}
	for _, f := range im.rows[acct] {
		id := FindingID(f.TaskDefinitionARN, f.ContainerName, f.RuleID)
		if tonight[id] {
			continue // one finding per Id, whatever the rows
		}
		tonight[id] = true
		old, had := held[id]
		var created, first string
		if had {
			created, first = aws.ToString(old.finding.CreatedAt), aws.ToString(old.finding.FirstObservedAt)
		}
		asff := toASFF(f, product, now, created, first)
		if had && old.fingerprint == asff.ProductFields[FieldFingerprint] {
			row.Unchanged++
			continue
		}
		send = append(send, asff)
		if had && old.finding.Compliance != nil && old.finding.Compliance.Status == types.ComplianceStatusFailed &&
			asff.Compliance.Status == types.ComplianceStatusPassed && workflowOpen(old.finding) {
			resolve = append(resolve, id)
		}
	}
	archive := map[string]bool{}
	for id, old := range held {
		if tonight[id] || len(old.finding.Resources) == 0 {
			continue
		}
		// Only a target scanned in full tonight proves a revision gone.
		if im.scanned[[2]string{acct, aws.ToString(old.finding.Resources[0].Region)}] {
			send = append(send, archived(old.finding, now))
			archive[id] = true
		}
	}
	slices.SortFunc(send, func(a, b types.AwsSecurityFinding) int { return cmp.Compare(*a.Id, *b.Id) })

	failedIDs, err := im.importAll(ctx, client, send)
	if err != nil {
		return fail("batch import findings", err)
	}
	for _, f := range send {
		switch _, bad := failedIDs[*f.Id]; {
		case bad:
			row.Failed++
		case archive[*f.Id]:
			row.Archived++
		default:
			row.Imported++
		}
	}
	resolve = slices.DeleteFunc(resolve, func(id string) bool { _, bad := failedIDs[id]; return bad })
	resolved, err := im.resolve(ctx, client, product, resolve)
	row.Resolved = resolved
	if err != nil {
		return fail("batch update findings", err)
	}
	if len(failedIDs) > 0 {
		row.Status = "failed"
		for id, why := range failedIDs {
			row.ErrorCode, row.ErrorMessage = why[0], output.Text(fmt.Sprintf("%d findings failed to import after %d attempts; %s: %s", len(failedIDs), attempts, id, why[1]))
			break
		}
		log.Warn("security hub rejected findings", "failed", len(failedIDs), "error_code", row.ErrorCode, "error", row.ErrorMessage)
	}
	log.Info("security hub import", "imported", row.Imported, "unchanged", row.Unchanged, "archived", row.Archived, "resolved", row.Resolved, "failed", row.Failed)
	return row
}

// read returns the account's active ecsaudit findings under its default
// product, by Id.
func (im *Importer) read(ctx context.Context, client API, product, acct string) (map[string]existing, error) {
	in := &sh.GetFindingsInput{
		MaxResults: aws.Int32(100),
		Filters: &types.AwsSecurityFindingFilters{
			ProductArn:   []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String(product)}},
			AwsAccountId: []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String(acct)}},
			Id:           []types.StringFilter{{Comparison: types.StringFilterComparisonPrefix, Value: aws.String(IDPrefix)}},
			RecordState:  []types.StringFilter{{Comparison: types.StringFilterComparisonEquals, Value: aws.String(string(types.RecordStateActive))}},
		},
	}
	held := map[string]existing{}
	p := sh.NewGetFindingsPaginator(client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx, im.with(im.reads))
		if err != nil {
			return nil, err
		}
		for _, f := range page.Findings {
			held[aws.ToString(f.Id)] = existing{finding: f, fingerprint: f.ProductFields[FieldFingerprint]}
		}
	}
	return held, nil
}

// importAll sends findings in batches of 100, sending those Security Hub
// reports in FailedFindings again, up to attempts times in all. It returns
// the findings that still failed, by Id, with their error code and
// message; the error is a call that failed after the SDK's retries.
func (im *Importer) importAll(ctx context.Context, client API, findings []types.AwsSecurityFinding) (map[string][2]string, error) {
	failed := map[string][2]string{}
	todo := findings
	for attempt := 1; attempt <= attempts && len(todo) > 0; attempt++ {
		clear(failed)
		var again []types.AwsSecurityFinding
		for batch := range slices.Chunk(todo, batchSize) {
			out, err := client.BatchImportFindings(ctx, &sh.BatchImportFindingsInput{Findings: batch}, im.with(im.imports))
			if err != nil {
				return nil, err
			}
			bad := map[string][2]string{}
			for _, ff := range out.FailedFindings {
				bad[aws.ToString(ff.Id)] = [2]string{aws.ToString(ff.ErrorCode), aws.ToString(ff.ErrorMessage)}
			}
			for _, f := range batch {
				if why, ok := bad[*f.Id]; ok {
					failed[*f.Id] = why
					again = append(again, f)
				}
			}
		}
		todo = again
	}
	return failed, nil
}

// resolve sets the workflow status of findings that went from FAILED to
// PASSED to RESOLVED: an import cannot change the workflow, which belongs
// to the customer's side of the API.
func (im *Importer) resolve(ctx context.Context, client API, product string, ids []string) (int64, error) {
	var n int64
	for batch := range slices.Chunk(ids, batchSize) {
		in := &sh.BatchUpdateFindingsInput{
			Workflow: &types.WorkflowUpdate{Status: types.WorkflowStatusResolved},
			Note:     &types.NoteUpdate{Text: aws.String("ecsaudit: the container now passes " + check.RuleID + "."), UpdatedBy: aws.String("ecsaudit")},
		}
		for _, id := range batch {
			in.FindingIdentifiers = append(in.FindingIdentifiers, types.AwsSecurityFindingIdentifier{Id: aws.String(id), ProductArn: aws.String(product)})
		}
		out, err := client.BatchUpdateFindings(ctx, in, im.with(im.updates))
		if err != nil {
			return n, err
		}
		n += int64(len(out.ProcessedFindings))
		if len(out.UnprocessedFindings) > 0 {
			u := out.UnprocessedFindings[0]
			return n, fmt.Errorf("%d findings not resolved; %s: %s", len(out.UnprocessedFindings), aws.ToString(u.ErrorCode), aws.ToString(u.ErrorMessage))
		}
	}
	return n, nil
}

// with attaches a budget to one call.
func (im *Importer) with(b *budget.Budget) func(*sh.Options) {
	return func(o *sh.Options) { o.APIOptions = append(o.APIOptions, b.Attach) }
}

// workflowOpen reports whether the customer has not closed the finding
// already (resolved or suppressed).
func workflowOpen(f types.AwsSecurityFinding) bool {
	return f.Workflow == nil || f.Workflow.Status == types.WorkflowStatusNew || f.Workflow.Status == types.WorkflowStatusNotified
}

func partitionOf(taskDefinitionARN string) string {
	if a, err := arn.Parse(taskDefinitionARN); err == nil {
		return a.Partition
	}
	return ""
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "Interrupted"
	}
	return "RequestFailed"
}
