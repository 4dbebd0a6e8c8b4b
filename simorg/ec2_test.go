package simorg

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// optInOrg has an opt-in region that one account has enabled and another
// has not.
func optInOrg(t *testing.T) *Org {
	t.Helper()
	var f Fixture
	if err := json.Unmarshal(DefaultFixture(), &f); err != nil {
		t.Fatal(err)
	}
	f.Regions = append(f.Regions, Region{Name: "me-south-1", OptInStatus: OptedIn})
	f.Accounts[4].NotOptedInRegions = []string{"me-south-1"} // 555555555555
	org, err := New(f)
	if err != nil {
		t.Fatal(err)
	}
	return org
}

func TestDescribeRegions(t *testing.T) {
	t.Parallel()
	srv := start(t, optInOrg(t), Options{})
	tests := []struct {
		name    string
		account string
		in      ec2.DescribeRegionsInput
		want    map[string]string // region → opt-in status
	}{
		{"enabled only", "333333333333", ec2.DescribeRegionsInput{},
			map[string]string{"us-east-1": OptInNotRequired, "eu-west-1": OptInNotRequired, "ap-southeast-2": OptInNotRequired, "me-south-1": OptedIn}},
		{"all regions", "333333333333", ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)},
			map[string]string{"us-east-1": OptInNotRequired, "eu-west-1": OptInNotRequired, "ap-southeast-2": OptInNotRequired, "me-south-1": OptedIn, "af-south-1": NotOptedIn}},
		{"account that has not opted in", "555555555555", ec2.DescribeRegionsInput{AllRegions: aws.Bool(true), Filters: []types.Filter{{Name: aws.String("opt-in-status"), Values: []string{NotOptedIn}}}},
			map[string]string{"me-south-1": NotOptedIn, "af-south-1": NotOptedIn}},
		{"by name", "333333333333", ec2.DescribeRegionsInput{RegionNames: []string{"eu-west-1", "af-south-1"}},
			map[string]string{"eu-west-1": OptInNotRequired, "af-south-1": NotOptedIn}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client := ec2.NewFromConfig(assumedConfig(t, srv, tt.account, "us-east-1"))
			out, err := client.DescribeRegions(context.Background(), &tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range out.Regions {
				got[*r.RegionName] = *r.OptInStatus
				if *r.Endpoint != "ec2."+*r.RegionName+".amazonaws.com" {
					t.Errorf("endpoint of %s = %s", *r.RegionName, *r.Endpoint)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("regions = %v, want %v", got, tt.want)
			}
			for r, s := range tt.want {
				if got[r] != s {
					t.Errorf("region %s = %q, want %q", r, got[r], s)
				}
			}
		})
	}
}

func TestDescribeRegionsAccess(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	tests := []struct{ account, region, want string }{
		{"444444444444", "af-south-1", "AuthFailure"},
		{"333333333333", "eu-west-1", "UnauthorizedOperation"},
	}
	for _, tt := range tests {
		client := ec2.NewFromConfig(assumedConfig(t, srv, tt.account, tt.region, noRetries))
		_, err := client.DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{})
		wantCode(t, err, tt.want)
	}
	if got := srv.Stats().Errors; got["AuthFailure"] != 1 || got["UnauthorizedOperation"] != 1 {
		t.Errorf("Errors = %v", got)
	}
}

func TestEnabledRegions(t *testing.T) {
	t.Parallel()
	org := optInOrg(t)
	if got := org.EnabledRegions("555555555555"); !slices.Equal(got, []string{"us-east-1", "eu-west-1", "ap-southeast-2"}) {
		t.Errorf("EnabledRegions(555555555555) = %v", got)
	}
	if got := org.EnabledRegions("333333333333"); !slices.Contains(got, "me-south-1") || slices.Contains(got, "af-south-1") {
		t.Errorf("EnabledRegions(333333333333) = %v", got)
	}
}
