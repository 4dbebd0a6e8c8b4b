package simorg

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// arns returns the ARNs of the revisions of org in account and region
// that have status, in ECS's ascending order.
func arns(org *Org, account, region, status string) []string {
	var out []string
	for _, td := range org.TaskDefinitions(account, region) {
		if td.Status == status {
			out = append(out, td.ARN)
		}
	}
	return out
}

func TestListTaskDefinitions(t *testing.T) {
	t.Parallel()
	org := Default()
	srv := start(t, org, Options{})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1"))
	active := arns(org, "333333333333", "us-east-1", StatusActive)
	reversed := slices.Clone(active)
	slices.Reverse(reversed)
	var ledger []string
	for _, a := range active {
		if strings.Contains(a, "/ledger:") {
			ledger = append(ledger, a)
		}
	}
	tests := []struct {
		name string
		in   ecs.ListTaskDefinitionsInput
		want []string
	}{
		{"default is ACTIVE ascending", ecs.ListTaskDefinitionsInput{}, active},
		{"small pages", ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(2)}, active},
		{"descending", ecs.ListTaskDefinitionsInput{Sort: types.SortOrderDesc, MaxResults: aws.Int32(3)}, reversed},
		{"inactive", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}, arns(org, "333333333333", "us-east-1", StatusInactive)},
		{"family prefix", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("led"), MaxResults: aws.Int32(1)}, ledger},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for p := ecs.NewListTaskDefinitionsPaginator(client, &tt.in); p.HasMorePages(); {
				out, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, out.TaskDefinitionArns...)
			}
			if len(tt.want) == 0 || !slices.Equal(got, tt.want) {
				t.Errorf("ARNs = %v\nwant %v", got, tt.want)
			}
		})
	}
	_, err := client.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(101)})
	wantCode(t, err, "InvalidParameterException")
}

func TestListTaskDefinitionFamilies(t *testing.T) {
	t.Parallel()
	srv := start(t, Default(), Options{})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "555555555555", "us-east-1"))
	srv2 := start(t, Default(), Options{})
	dev := ecs.NewFromConfig(assumedConfig(t, srv2, "444444444444", "us-east-1"))
	tests := []struct {
		name   string
		client *ecs.Client
		in     ecs.ListTaskDefinitionFamiliesInput
		want   []string
	}{
		{"all by default", client, ecs.ListTaskDefinitionFamiliesInput{MaxResults: aws.Int32(1)}, []string{"experiment", "jupyter", "metrics-agent", "net-tools"}},
		{"active", dev, ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusActive}, []string{"batch", "cache", "web"}},
		{"prefix", dev, ecs.ListTaskDefinitionFamiliesInput{FamilyPrefix: aws.String("ca")}, []string{"cache"}},
		{"inactive has none here", dev, ecs.ListTaskDefinitionFamiliesInput{Status: types.TaskDefinitionFamilyStatusInactive}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for p := ecs.NewListTaskDefinitionFamiliesPaginator(tt.client, &tt.in); p.HasMorePages(); {
				out, err := p.NextPage(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, out.Families...)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("families = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDescribeTaskDefinition(t *testing.T) {
	t.Parallel()
	org := Default()
	srv := start(t, org, Options{})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "333333333333", "us-east-1"))
	arn := func(ref string) string { return "arn:aws:ecs:us-east-1:333333333333:task-definition/" + ref }
	tests := []struct {
		name    string
		ref     string
		wantARN string
		want    string // error code
	}{
		{name: "family alone is the latest ACTIVE revision", ref: "payments-worker", wantARN: arn("payments-worker:2")},
		{name: "family and revision, INACTIVE", ref: "payments-worker:3", wantARN: arn("payments-worker:3")},
		{name: "full ARN", ref: arn("ledger:4"), wantARN: arn("ledger:4")},
		{name: "vanished revision", ref: "node-exporter:2", want: "ClientException"},
		{name: "absent revision", ref: "ledger:9", want: "ClientException"},
		{name: "absent family", ref: "nope", want: "ClientException"},
		{name: "another account's ARN", ref: "arn:aws:ecs:us-east-1:444444444444:task-definition/web:1", want: "ClientException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tt.ref)})
			if tt.want != "" {
				wantCode(t, err, tt.want)
				if err.Error() == "" || !strings.Contains(err.Error(), "Unable to describe task definition.") {
					t.Errorf("message = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := *out.TaskDefinition.TaskDefinitionArn; got != tt.wantARN {
				t.Errorf("ARN = %s, want %s", got, tt.wantARN)
			}
		})
	}
}

// TestDescribeTaskDefinitionFields checks the fields the rule reads arrive
// as the SDK would get them from ECS, absent ones absent.
func TestDescribeTaskDefinitionFields(t *testing.T) {
	t.Parallel()
	org := Default()
	srv := start(t, org, Options{})
	client := ecs.NewFromConfig(assumedConfig(t, srv, "444444444444", "us-east-1"))
	describe := func(ref string) *types.TaskDefinition {
		t.Helper()
		out, err := client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
		if err != nil {
			t.Fatal(err)
		}
		return out.TaskDefinition
	}

	bare := describe("web:1") // no networkMode in the fixture
	if bare.NetworkMode != "" || *bare.ContainerDefinitions[0].Privileged != true || *bare.ContainerDefinitions[0].User != "root" {
		t.Errorf("web:1 = networkMode %q, %+v", bare.NetworkMode, bare.ContainerDefinitions[0])
	}
	host := describe("web:3")
	want, _ := org.TaskDefinition("444444444444", "us-east-1", "web", 3)
	if host.NetworkMode != types.NetworkModeHost || host.Revision != 3 || *host.Family != "web" || host.Status != types.TaskDefinitionStatusActive ||
		!host.RegisteredAt.Equal(want.RegisteredAt) {
		t.Errorf("web:3 = %+v", host)
	}
	web, debug := host.ContainerDefinitions[0], host.ContainerDefinitions[1]
	if web.User != nil || web.Privileged != nil || *web.Name != "web" || *web.Essential != true {
		t.Errorf("web container: user %v privileged %v", web.User, web.Privileged)
	}
	if len(web.Environment) != 1 || *web.Environment[0].Value != PlantedSecret {
		t.Errorf("environment = %+v, want the planted secret", web.Environment)
	}
	if *debug.Privileged != true || *debug.Essential != false || *debug.Image != "public.ecr.aws/docker/library/busybox:1.36" {
		t.Errorf("debug container = %+v", debug)
	}
	if empty := describe("batch:3").ContainerDefinitions[0].User; empty == nil || *empty != "" {
		t.Errorf("batch:3 user = %v, want present and empty", empty)
	}
}

func TestECSRegionAccess(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name             string
		opts             Options
		account, region  string
		want             string
		wantMessageMatch string
	}{
		{name: "enabled region", account: "444444444444", region: "eu-west-1"},
		{name: "not opted in", account: "444444444444", region: "af-south-1", want: "UnrecognizedClientException", wantMessageMatch: "security token included in the request is invalid"},
		{name: "denied by SCP in the fixture", account: "333333333333", region: "eu-west-1", want: "AccessDeniedException", wantMessageMatch: "explicit deny in a service control policy"},
		{name: "denied by SCP in the options", opts: Options{DenyRegions: map[string][]string{"444444444444": {"eu-west-1"}}}, account: "444444444444", region: "eu-west-1", want: "AccessDeniedException"},
		{name: "denied everywhere by the options", opts: Options{DenyRegions: map[string][]string{"*": {"ap-southeast-2"}}}, account: "555555555555", region: "ap-southeast-2", want: "AccessDeniedException"},
		{name: "unknown region", account: "444444444444", region: "xx-nowhere-1", want: "UnrecognizedClientException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t, Default(), tt.opts)
			client := ecs.NewFromConfig(assumedConfig(t, srv, tt.account, tt.region, noRetries))
			_, err := client.ListTaskDefinitions(context.Background(), &ecs.ListTaskDefinitionsInput{})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.want)
			if !strings.Contains(err.Error(), tt.wantMessageMatch) {
				t.Errorf("message %q does not contain %q", err, tt.wantMessageMatch)
			}
		})
	}
}
