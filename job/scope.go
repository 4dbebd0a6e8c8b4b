package job

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ecsaudit/ecsaudit/accounts"
	"github.com/ecsaudit/ecsaudit/budget"
)

// ErrScope is the cause of a run stopped because its filters name accounts,
// OUs or regions that are not in the organization or the partition: an
// operator's mistake, not an empty success. Nothing is written.
var ErrScope = errors.New("the filters name nothing to scan")

// checkScope checks every --accounts and --ou value against the listed
// organization, and every --regions value against the partition's regions
// as the management account's EC2 lists them. Unknown ids in the exclude
// lists only earn a warning.
func (r *run) checkScope(ctx context.Context, accts []accounts.Account) error {
	f := r.cfg.Filter
	listed := map[string]bool{}
	below := map[string]bool{} // OU and root ids on some account's path
	for _, a := range accts {
		listed[a.ID] = true
		for _, id := range r.tree[a.ID].IDs {
			below[id] = true
		}
	}
	var problems []string
	if bad := unknown(f.Accounts, listed); len(bad) > 0 {
		problems = append(problems, "--accounts "+strings.Join(bad, ",")+" is no account of the organization")
	}
	if bad := unknown(f.OUs, below); len(bad) > 0 {
		problems = append(problems, "--ou "+strings.Join(bad, ",")+" holds no account of the organization")
	}
	if len(r.cfg.Regions) > 0 {
		known, err := r.partitionRegions(ctx)
		switch {
		case err != nil:
			r.log.Warn("cannot list the partition's regions to check --regions", "error", err.Error())
		default:
			if bad := unknown(r.cfg.Regions, known); len(bad) > 0 {
				problems = append(problems, "--regions "+strings.Join(bad, ",")+" is no region of the partition")
			}
		}
	}
	if len(problems) == 0 && len(f.Accounts)+len(f.OUs)+len(f.ExcludeAccounts)+len(f.ExcludeOUs) > 0 &&
		!slices.ContainsFunc(accts, func(a accounts.Account) bool { return f.Reason(a.ID, r.tree[a.ID]) == "" }) {
		problems = append(problems, "the account filters together select no account")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrScope, strings.Join(problems, "; "))
	}
	if bad := unknown(f.ExcludeAccounts, listed); len(bad) > 0 {
		r.log.Warn("--exclude-accounts names accounts the organization does not list", "ids", strings.Join(bad, ","))
	}
	if bad := unknown(f.ExcludeOUs, below); len(bad) > 0 {
		r.log.Warn("--exclude-ou names OUs that hold no account", "ids", strings.Join(bad, ","))
	}
	return nil
}

// partitionRegions lists every region of the partition, opted in or not,
// with the job's own credentials in its home region.
func (r *run) partitionRegions(ctx context.Context) (map[string]bool, error) {
	calls := budget.New(0, 0)
	defer func() {
		r.row.APICalls += calls.Calls()
		r.row.ThrottledCalls += calls.Throttled()
	}()
	client := ec2.NewFromConfig(r.cfg.AWS, func(o *ec2.Options) { o.APIOptions = append(o.APIOptions, calls.Attach) })
	out, err := client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("describe regions: %w", err)
	}
	known := map[string]bool{}
	for _, reg := range out.Regions {
		known[aws.ToString(reg.RegionName)] = true
	}
	return known, nil
}

// unknown returns the values not in known, in their order.
func unknown(values []string, known map[string]bool) []string {
	var out []string
	for _, v := range values {
		if !known[v] {
			out = append(out, v)
		}
	}
	return out
}
