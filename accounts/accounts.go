// Package accounts lists an AWS organization's member accounts with the OU
// path of each, and selects the ones a run covers.
package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

// Account is one member account of the organization.
type Account struct {
	ID        string
	Name      string
	ARN       string
	State     string // ACTIVE, SUSPENDED, PENDING_CLOSURE
	Partition string // from the account's ARN: aws, aws-cn, aws-us-gov
	OUPath    string // ids from the root down to the account's parent: r-ab12/ou-ab12-11111111
	OUNames   string // the same path by name: Root/Workloads/Prod
}

// Active reports whether the account can be scanned.
func (a Account) Active() bool { return a.State == string(orgtypes.AccountStateActive) }

// List returns every account of the organization, following NextToken until
// it is absent (even after an empty page). It keeps every state; callers
// decide what to do with accounts that are not Active.
func List(ctx context.Context, api organizations.ListAccountsAPIClient) ([]Account, error) {
	var out []Account
	p := organizations.NewListAccountsPaginator(api, &organizations.ListAccountsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		for _, a := range page.Accounts {
			acct := Account{
				ID:    aws.ToString(a.Id),
				Name:  aws.ToString(a.Name),
				ARN:   aws.ToString(a.Arn),
				State: string(a.State),
			}
			acct.Partition = partition(acct.ARN)
			out = append(out, acct)
		}
	}
	return out, nil
}

// partition returns the partition field of an ARN, defaulting to aws.
func partition(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// TreeAPI is the part of Organizations that Tree walks: roots, the OUs
// below a parent, and the accounts directly in a parent.
type TreeAPI interface {
	organizations.ListRootsAPIClient
	organizations.ListOrganizationalUnitsForParentAPIClient
	organizations.ListAccountsForParentAPIClient
}

// Placement is where one account sits in the OU tree.
type Placement struct {
	Path  string // ids joined by "/"
	Names string // names joined by "/"
	IDs   []string
}

// Tree walks the organization from its roots and returns every account's
// placement, keyed by account id.
func Tree(ctx context.Context, api TreeAPI) (map[string]Placement, error) {
	out := map[string]Placement{}
	rp := organizations.NewListRootsPaginator(api, &organizations.ListRootsInput{})
	for rp.HasMorePages() {
		page, err := rp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list roots: %w", err)
		}
		for _, r := range page.Roots {
			root := aws.ToString(r.Id)
			if err := walk(ctx, api, Placement{Path: root, Names: aws.ToString(r.Name), IDs: []string{root}}, out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func walk(ctx context.Context, api TreeAPI, here Placement, out map[string]Placement) error {
	parent := here.IDs[len(here.IDs)-1]
	ap := organizations.NewListAccountsForParentPaginator(api, &organizations.ListAccountsForParentInput{ParentId: &parent})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list accounts in %s: %w", parent, err)
		}
		for _, a := range page.Accounts {
			out[aws.ToString(a.Id)] = here
		}
	}
	op := organizations.NewListOrganizationalUnitsForParentPaginator(api, &organizations.ListOrganizationalUnitsForParentInput{ParentId: &parent})
	for op.HasMorePages() {
		page, err := op.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list OUs in %s: %w", parent, err)
		}
		for _, ou := range page.OrganizationalUnits {
			id := aws.ToString(ou.Id)
			if slices.Contains(here.IDs, id) {
				return fmt.Errorf("list OUs in %s: cycle through %s", parent, id)
			}
			child := Placement{
				Path:  here.Path + "/" + id,
				Names: here.Names + "/" + aws.ToString(ou.Name),
				IDs:   append(slices.Clip(here.IDs), id),
			}
			if err := walk(ctx, api, child, out); err != nil {
				return err
			}
		}
	}
	return nil
}
