package accounts_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/organizations"

	"github.com/ecsaudit/ecsaudit/accounts"
	"github.com/ecsaudit/ecsaudit/internal/simtest"
	"github.com/ecsaudit/ecsaudit/simorg"
)

var _ accounts.TreeAPI = (*organizations.Client)(nil)

// TestListAndTree lists the simulated organization through the real SDK
// client, with Organizations answering its first pages empty but with a
// NextToken: no account may be lost, every state is kept, and every
// account is placed in the OU tree.
func TestListAndTree(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	org := simorg.Default()
	srv, cfg := simtest.Start(t, org, simorg.Options{EmptyPages: 3}, "us-east-1")
	api := organizations.NewFromConfig(cfg)

	list, err := accounts.List(ctx, api)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(org.Accounts()) {
		t.Fatalf("listed %d accounts, the organization has %d", len(list), len(org.Accounts()))
	}
	if srv.Stats().EmptyPages != 3 {
		t.Fatalf("the simulator served %d empty pages, want 3", srv.Stats().EmptyPages)
	}
	byID := map[string]accounts.Account{}
	for _, a := range list {
		byID[a.ID] = a
	}
	if a := byID["666666666666"]; a.State != "SUSPENDED" || a.Active() {
		t.Errorf("suspended account: %+v", a)
	}
	if a := byID["333333333333"]; a.Name != "prod-payments" || a.Partition != "aws" || !a.Active() {
		t.Errorf("prod account: %+v", a)
	}

	tree, err := accounts.Tree(ctx, api)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]accounts.Placement{
		"111111111111": {Path: "r-s1m0", Names: "Root"},
		"222222222222": {Path: "r-s1m0/ou-s1m0-security", Names: "Root/Security"},
		"333333333333": {Path: "r-s1m0/ou-s1m0-workload/ou-s1m0-prod0001", Names: "Root/Workloads/Prod"},
		"444444444444": {Path: "r-s1m0/ou-s1m0-workload/ou-s1m0-dev00001", Names: "Root/Workloads/Dev"},
		"666666666666": {Path: "r-s1m0/ou-s1m0-sandbox1", Names: "Root/Sandbox"},
	}
	for id, w := range want {
		if got := tree[id]; got.Path != w.Path || got.Names != w.Names {
			t.Errorf("%s placed at %q (%q), want %q (%q)", id, got.Path, got.Names, w.Path, w.Names)
		}
	}
	if len(tree) != len(org.Accounts()) {
		t.Errorf("tree places %d accounts, want %d", len(tree), len(org.Accounts()))
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	prod := accounts.Placement{IDs: []string{"r-ab12", "ou-ab12-workload", "ou-ab12-prod0001"}}
	tests := []struct {
		name string
		f    accounts.Filter
		id   string
		p    accounts.Placement
		out  bool
	}{
		{"no filter", accounts.Filter{}, "111111111111", prod, false},
		{"listed account", accounts.Filter{Accounts: []string{"111111111111"}}, "111111111111", prod, false},
		{"unlisted account", accounts.Filter{Accounts: []string{"222222222222"}}, "111111111111", prod, true},
		{"excluded account", accounts.Filter{ExcludeAccounts: []string{"111111111111"}}, "111111111111", prod, true},
		{"below an included OU", accounts.Filter{OUs: []string{"ou-ab12-workload"}}, "111111111111", prod, false},
		{"included root", accounts.Filter{OUs: []string{"r-ab12"}}, "111111111111", prod, false},
		{"outside the included OU", accounts.Filter{OUs: []string{"ou-ab12-sandbox1"}}, "111111111111", prod, true},
		{"below an excluded OU", accounts.Filter{ExcludeOUs: []string{"ou-ab12-workload"}}, "111111111111", prod, true},
		{"exclusion beats inclusion", accounts.Filter{OUs: []string{"ou-ab12-workload"}, ExcludeOUs: []string{"ou-ab12-prod0001"}}, "111111111111", prod, true},
		{"unplaced account with an OU filter", accounts.Filter{OUs: []string{"ou-ab12-workload"}}, "111111111111", accounts.Placement{}, true},
	}
	for _, tt := range tests {
		if got := tt.f.Reason(tt.id, tt.p) != ""; got != tt.out {
			t.Errorf("%s: left out = %v, want %v", tt.name, got, tt.out)
		}
	}
}

func TestFilterValidate(t *testing.T) {
	t.Parallel()
	good := accounts.Filter{Accounts: []string{"123456789012"}, OUs: []string{"ou-ab12-cd34ef56", "r-ab12"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []accounts.Filter{
		{Accounts: []string{"12345678901"}},
		{ExcludeAccounts: []string{"1234567890123"}},
		{OUs: []string{"ou-AB12-cd34ef56"}},
		{ExcludeOUs: []string{"o-ab12cd34"}},
		{OUs: []string{"r-ab"}},
	} {
		if bad.Validate() == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}
