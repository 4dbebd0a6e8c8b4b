package simorg

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

func TestListAccountsPaginates(t *testing.T) {
	t.Parallel()
	org := Default()
	var want []string
	for _, a := range org.Accounts() {
		want = append(want, a.ID)
	}
	tests := []struct {
		name       string
		maxResults int32
		emptyPages int
	}{
		{"one per page", 1, 0},
		{"two per page", 2, 0},
		{"service default page", 0, 0},
		{"empty pages with a NextToken first", 2, 3},
		{"more empty pages than real ones", 20, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t, org, Options{EmptyPages: tt.emptyPages})
			client := organizations.NewFromConfig(managementConfig(t, srv, "us-east-1"))
			in := &organizations.ListAccountsInput{}
			if tt.maxResults > 0 {
				in.MaxResults = aws.Int32(tt.maxResults)
			}
			var got []string
			pages := 0
			for p := organizations.NewListAccountsPaginator(client, in); p.HasMorePages(); {
				out, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatalf("ListAccounts: %v", err)
				}
				pages++
				for _, a := range out.Accounts {
					got = append(got, *a.Id)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("accounts = %v, want %v", got, want)
			}
			st := srv.Stats()
			if st.EmptyPages != int64(tt.emptyPages) || st.Calls["ListAccounts"] != int64(pages) {
				t.Errorf("EmptyPages = %d, calls = %d; want %d empty pages over %d pages", st.EmptyPages, st.Calls["ListAccounts"], tt.emptyPages, pages)
			}
		})
	}
}

func TestListAccountsFields(t *testing.T) {
	t.Parallel()
	org := Default()
	srv := start(t, org, Options{})
	client := organizations.NewFromConfig(managementConfig(t, srv, "us-east-1"))
	out, err := client.ListAccounts(context.Background(), &organizations.ListAccountsInput{MaxResults: aws.Int32(20)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]types.Account{}
	for _, a := range out.Accounts {
		got[*a.Id] = a
	}
	for _, want := range org.Accounts() {
		a, ok := got[want.ID]
		if !ok {
			t.Fatalf("account %s missing", want.ID)
		}
		wantARN := "arn:aws:organizations::111111111111:account/o-sim1demo42/" + want.ID
		if *a.Arn != wantARN || *a.Name != want.Name || *a.Email != want.Email || string(a.State) != want.State ||
			!a.JoinedTimestamp.Equal(want.JoinedTimestamp) || string(a.JoinedMethod) != want.JoinedMethod {
			t.Errorf("account %s = %+v, want %+v with ARN %s", want.ID, a, want, wantARN)
		}
	}
	if s := got["666666666666"]; s.State != types.AccountStateSuspended || s.Status != types.AccountStatusSuspended {
		t.Errorf("suspended account has State %q, Status %q", s.State, s.Status)
	}
	if p := got["333333333333"].Paths; len(p) != 1 || p[0] != "o-sim1demo42/r-s1m0/ou-s1m0-workload/ou-s1m0-prod0001/333333333333/" {
		t.Errorf("Paths = %v", p)
	}
}

func TestListAccountsRejectsBadInput(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	client := organizations.NewFromConfig(managementConfig(t, srv, "us-east-1"))
	_, err := client.ListAccounts(context.Background(), &organizations.ListAccountsInput{MaxResults: aws.Int32(21)})
	wantCode(t, err, "InvalidInputException")
	_, err = client.ListAccounts(context.Background(), &organizations.ListAccountsInput{NextToken: aws.String("not-a-token")})
	wantCode(t, err, "InvalidInputException")
}

func TestOrganizationsIsForTheManagementAccount(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	client := organizations.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1"))
	_, err := client.ListAccounts(context.Background(), &organizations.ListAccountsInput{})
	wantCode(t, err, "AccessDeniedException")
}

// TestOUTree walks the tree the way a caller filtering by OU would and
// checks it finds every account under the OU the fixture puts it in.
func TestOUTree(t *testing.T) {
	t.Parallel()
	org := Default()
	srv := start(t, org, Options{EmptyPages: 2})
	client := organizations.NewFromConfig(managementConfig(t, srv, "us-east-1"))
	ctx := context.Background()

	roots, err := client.ListRoots(ctx, &organizations.ListRootsInput{})
	for err == nil && len(roots.Roots) == 0 && roots.NextToken != nil {
		roots, err = client.ListRoots(ctx, &organizations.ListRootsInput{NextToken: roots.NextToken})
	}
	if err != nil || len(roots.Roots) != 1 || *roots.Roots[0].Id != org.RootID() {
		t.Fatalf("ListRoots = %+v, %v", roots, err)
	}
	parentOf := map[string]string{}
	var walk func(parent string)
	walk = func(parent string) {
		for p := organizations.NewListAccountsForParentPaginator(client, &organizations.ListAccountsForParentInput{ParentId: aws.String(parent)}); p.HasMorePages(); {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range out.Accounts {
				parentOf[*a.Id] = parent
			}
		}
		for p := organizations.NewListOrganizationalUnitsForParentPaginator(client, &organizations.ListOrganizationalUnitsForParentInput{ParentId: aws.String(parent)}); p.HasMorePages(); {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, ou := range out.OrganizationalUnits {
				parentOf[*ou.Id] = parent
				walk(*ou.Id)
			}
		}
	}
	walk(org.RootID())
	for _, a := range org.Accounts() {
		if parentOf[a.ID] != a.Parent {
			t.Errorf("account %s found under %q, want %q", a.ID, parentOf[a.ID], a.Parent)
		}
	}
	for _, ou := range org.OrganizationalUnits() {
		if parentOf[ou.ID] != ou.Parent {
			t.Errorf("OU %s found under %q, want %q", ou.ID, parentOf[ou.ID], ou.Parent)
		}
	}
	if parentOf["ou-s1m0-dev00001"] != "ou-s1m0-workload" {
		t.Errorf("Dev is not nested under Workloads: %v", parentOf)
	}

	parents, err := client.ListParents(ctx, &organizations.ListParentsInput{ChildId: aws.String("444444444444")})
	if err != nil || len(parents.Parents) != 1 || *parents.Parents[0].Id != "ou-s1m0-dev00001" || parents.Parents[0].Type != types.ParentTypeOrganizationalUnit {
		t.Errorf("ListParents = %+v, %v", parents, err)
	}
	_, err = client.ListAccountsForParent(ctx, &organizations.ListAccountsForParentInput{ParentId: aws.String("ou-s1m0-nowhere0")})
	wantCode(t, err, "ParentNotFoundException")
}

func TestDescribeOrganization(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	client := organizations.NewFromConfig(managementConfig(t, srv, "us-east-1"))
	out, err := client.DescribeOrganization(context.Background(), &organizations.DescribeOrganizationInput{})
	if err != nil {
		t.Fatal(err)
	}
	o := out.Organization
	if *o.Id != "o-sim1demo42" || *o.MasterAccountId != "111111111111" || o.FeatureSet != types.OrganizationFeatureSetAll ||
		!strings.HasSuffix(*o.Arn, ":organization/o-sim1demo42") {
		t.Errorf("Organization = %+v", o)
	}
}

func TestOrganizationsThrottle(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{OrganizationsLimit: Limit{Burst: 2, Rate: 0.01}})
	client := organizations.NewFromConfig(managementConfig(t, srv, "us-east-1", noRetries))
	var err error
	for range 3 {
		_, err = client.ListRoots(context.Background(), &organizations.ListRootsInput{})
	}
	wantCode(t, err, "TooManyRequestsException")
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("the SDK does not see %v as a throttle", err)
	}
	if got := srv.Stats().Throttled["ListRoots"]; got != 1 {
		t.Errorf("Throttled[ListRoots] = %d, want 1", got)
	}
}

func TestListChildrenAndDescribeAccount(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	client := organizations.NewFromConfig(managementConfig(t, srv, "us-east-1"))
	ctx := context.Background()
	tests := []struct {
		parent    string
		childType types.ChildType
		want      []string
	}{
		{"r-s1m0", types.ChildTypeOrganizationalUnit, []string{"ou-s1m0-security", "ou-s1m0-workload", "ou-s1m0-sandbox1"}},
		{"r-s1m0", types.ChildTypeAccount, []string{"111111111111"}},
		{"ou-s1m0-workload", types.ChildTypeOrganizationalUnit, []string{"ou-s1m0-prod0001", "ou-s1m0-dev00001"}},
		{"ou-s1m0-sandbox1", types.ChildTypeAccount, []string{"555555555555", "666666666666"}},
	}
	for _, tt := range tests {
		out, err := client.ListChildren(ctx, &organizations.ListChildrenInput{ParentId: aws.String(tt.parent), ChildType: tt.childType})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range out.Children {
			got = append(got, *c.Id)
			if c.Type != tt.childType {
				t.Errorf("child %s has type %s", *c.Id, c.Type)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("children of %s (%s) = %v, want %v", tt.parent, tt.childType, got, tt.want)
		}
	}
	acct, err := client.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("444444444444")})
	if err != nil || *acct.Account.Name != "dev-apps" {
		t.Errorf("DescribeAccount = %+v, %v", acct, err)
	}
	_, err = client.DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String("999999999999")})
	wantCode(t, err, "AccountNotFoundException")
}
