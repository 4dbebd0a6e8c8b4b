package job

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/ecsaudit/ecsaudit/accounts"
	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/budget"
	"github.com/ecsaudit/ecsaudit/output"
)

// target is one (account, region) to scan, with the account's shared
// credentials cache.
type target struct {
	account accounts.Account
	region  string
	creds   aws.CredentialsProvider
}

// organization lists the accounts and places each in the OU tree. Either
// failing sinks the run: without the list there is no coverage to speak of.
func (r *run) organization(ctx context.Context) ([]accounts.Account, error) {
	calls := budget.New(0, 0) // count only
	defer func() {
		// Organizations calls belong to no target: only the runs row counts them.
		r.row.APICalls += calls.Calls()
		r.row.ThrottledCalls += calls.Throttled()
	}()
	org := organizations.NewFromConfig(r.cfg.AWS, func(o *organizations.Options) {
		o.APIOptions = append(o.APIOptions, calls.Attach)
	})
	list, err := accounts.List(ctx, org)
	if err != nil {
		return nil, err
	}
	tree, err := accounts.Tree(ctx, org)
	if err != nil {
		return nil, err
	}
	for i := range list {
		p := tree[list[i].ID]
		list[i].OUPath, list[i].OUNames = p.Path, p.Names
	}
	r.tree = tree
	r.log.Info("organization listed", "accounts", len(list))
	return list, nil
}

// discover turns accounts into targets: it assumes the role in each selected
// active account and asks that account which regions are enabled. Accounts
// and regions that will not be scanned become coverage rows here. It stops
// starting accounts when stop is cancelled.
func (r *run) discover(stop, ctx context.Context, accts []accounts.Account, targets chan<- target, results chan<- result) {
	stsClient := sts.NewFromConfig(r.cfg.AWS)
	opts := assume.Options{
		RoleName: r.cfg.RoleName, ExternalID: r.cfg.ExternalID,
		SessionName: assume.SessionName(r.cfg.RunID), Duration: r.cfg.SessionDuration,
	}
	var g errgroup.Group
	g.SetLimit(max(r.cfg.Concurrency/4, 1))
	for _, a := range accts {
		if !r.mine(a.ID) {
			continue // another shard's account: it writes its coverage
		}
		if why := r.cfg.Filter.Reason(a.ID, r.tree[a.ID]); why != "" {
			results <- accountRow(a, Skipped, "Excluded", why)
			continue
		}
		if !a.Active() {
			results <- accountRow(a, Skipped, "Account"+stateCode(a.State), "account state is "+a.State)
			continue
		}
		if stop.Err() != nil {
			results <- accountRow(a, Skipped, "Interrupted", "the run was stopped before this account started")
			continue
		}
		g.Go(func() error {
			r.discoverAccount(ctx, stsClient, opts, a, targets, results)
			return nil
		})
	}
	g.Wait()
}

func (r *run) discoverAccount(ctx context.Context, stsClient *sts.Client, opts assume.Options, a accounts.Account, targets chan<- target, results chan<- result) {
	log := r.log.With("account", a.ID)
	calls := budget.New(0, 0)
	started := time.Now()
	creds := assume.Credentials(stsClient, a.Partition, a.ID, opts)
	// An early Retrieve tells a denied role apart from a denied region.
	if _, err := creds.Retrieve(ctx); err != nil {
		status, code, msg := classify(err)
		log.Warn("cannot assume role", "error_code", code, "error", msg)
		res := accountRow(a, status, code, "assume "+assume.RoleARN(a.Partition, a.ID, opts.RoleName)+": "+msg)
		res.coverage[0].StartedAt, res.coverage[0].DurationMS = started.UTC(), time.Since(started).Milliseconds()
		res.apiCalls = 1
		results <- res
		return
	}
	regions, err := r.describeRegions(ctx, creds, calls)
	if err != nil {
		status, code, msg := classify(err)
		log.Warn("cannot list regions", "error_code", code, "error", msg)
		res := accountRow(a, status, code, "describe regions: "+msg)
		res.apiCalls = 1 + calls.Calls()
		results <- res
		return
	}
	enabled := map[string]bool{}
	for _, reg := range regions.Regions {
		name := aws.ToString(reg.RegionName)
		enabled[name] = aws.ToString(reg.OptInStatus) != "not-opted-in"
	}
	names := r.cfg.Regions
	if len(names) == 0 {
		for name := range enabled {
			names = append(names, name)
		}
		slices.Sort(names)
	}
	results <- result{apiCalls: 1 + calls.Calls()} // assume and describe regions
	for _, name := range names {
		on, known := enabled[name]
		switch {
		case !known:
			results <- targetRow(a, name, Skipped, "RegionUnknown", "the account does not list this region")
		case !on:
			results <- targetRow(a, name, Skipped, "RegionNotOptedIn", "region not opted in for this account")
		default:
			targets <- target{account: a, region: name, creds: creds}
		}
	}
}

// describeRegions asks the account which regions exist and which it has
// enabled, in the job's home region. When a service control policy denies
// that region to the account, it asks again in each --regions region: an
// organization that confines its accounts to some regions is scanned there.
func (r *run) describeRegions(ctx context.Context, creds aws.CredentialsProvider, calls *budget.Budget) (*ec2.DescribeRegionsOutput, error) {
	cfg := r.cfg.AWS.Copy()
	cfg.Credentials = creds
	client := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.APIOptions = append(o.APIOptions, calls.Attach, assume.RenewOnExpiry(creds))
	})
	in := &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)}
	out, err := client.DescribeRegions(ctx, in)
	for _, region := range r.cfg.Regions {
		if err == nil {
			break
		}
		if status, _, _ := classify(err); status != Denied {
			break
		}
		if region != cfg.Region {
			out, err = client.DescribeRegions(ctx, in, func(o *ec2.Options) { o.Region = region })
		}
	}
	return out, err
}

// notStarted is the coverage of a target the run was stopped before.
func (t target) notStarted() result {
	return targetRow(t.account, t.region, Skipped, "Interrupted", "the run was stopped before this target started")
}

func accountRow(a accounts.Account, status, code, msg string) result {
	return result{coverage: []output.Coverage{coverageRow(a, "", status, code, msg)}}
}

func targetRow(a accounts.Account, region, status, code, msg string) result {
	return result{coverage: []output.Coverage{coverageRow(a, region, status, code, msg)}}
}

func coverageRow(a accounts.Account, region, status, code, msg string) output.Coverage {
	return output.Coverage{
		AccountID: a.ID, AccountName: output.Text(a.Name), OUPath: a.OUPath, OUNames: output.Text(a.OUNames),
		Region: region, Status: status, ErrorCode: output.Text(code), ErrorMessage: output.Text(msg),
		StartedAt: time.Now().UTC(), UsageStatus: Skipped,
	}
}

// stateCode turns an account state such as PENDING_CLOSURE into PendingClosure.
func stateCode(state string) string {
	var b strings.Builder
	for word := range strings.SplitSeq(strings.ToLower(state), "_") {
		if word != "" {
			b.WriteString(strings.ToUpper(word[:1]) + word[1:])
		}
	}
	return b.String()
}
