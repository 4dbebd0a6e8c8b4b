package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecsaudit/ecsaudit/simorg"
)

// baselineRun is one run of the naive scan.
type baselineRun struct {
	Wall      time.Duration // measured, for the accounts scanned
	Accounts  int           // accounts scanned (a sample when fewer than listed)
	Calls     int64         // requests the simulator received
	Findings  int64         // containers seen, plus revisions that could not be described
	Estimated time.Duration // Wall scaled to the whole organization by calls
	Sampled   bool
}

// baseline scans like the control's CLI test plan, with plain SDK clients
// (default retryer, default HTTP client) and one call at a time: list the
// accounts, then for each account assume the role and list its enabled
// regions, and for each region list every ACTIVE task definition ARN, then
// describe each ARN in turn. It scans only the first sample ACTIVE
// accounts (0: all) and extrapolates its wall time to the whole plan by
// the ratio of calls, which holds because every call is one round trip
// made alone.
func baseline(ctx context.Context, org *simorg.Org, sopts simorg.Options, p plan, sample int) (baselineRun, error) {
	srv, err := simorg.Start(org, sopts)
	if err != nil {
		return baselineRun{}, err
	}
	defer srv.Close()
	cfg := aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(simorg.AccessKeyID, simorg.SecretAccessKey, ""),
	}
	if ca := srv.CABundle(); ca != nil {
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(ca)
		cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		})
	}
	var b baselineRun
	start := time.Now()

	var ids []string
	pages := organizations.NewListAccountsPaginator(organizations.NewFromConfig(cfg), &organizations.ListAccountsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return b, fmt.Errorf("baseline: list accounts: %w", err)
		}
		for _, a := range page.Accounts {
			if a.State == orgtypes.AccountStateActive {
				ids = append(ids, aws.ToString(a.Id))
			}
		}
	}
	stsClient := sts.NewFromConfig(cfg)
	for _, id := range ids {
		if sample > 0 && b.Accounts == sample {
			b.Sampled = true
			break
		}
		b.Accounts++
		acfg := cfg.Copy()
		acfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, org.RoleARN(id)))
		regions, err := ec2.NewFromConfig(acfg).DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
		if err != nil {
			continue // a role that cannot be assumed: the plan skips it too
		}
		for _, r := range regions.Regions {
			rcfg := acfg.Copy()
			rcfg.Region = aws.ToString(r.RegionName)
			n, err := baselineRegion(ctx, ecs.NewFromConfig(rcfg))
			if err != nil {
				return b, fmt.Errorf("baseline: %s %s: %w", id, rcfg.Region, err)
			}
			b.Findings += n
		}
	}
	b.Wall = time.Since(start)
	b.Calls = srv.Stats().Requests
	b.Estimated = b.Wall
	if b.Sampled {
		full := p.naiveCalls(srv.Stats())
		b.Estimated = time.Duration(float64(b.Wall) * float64(full) / float64(b.Calls))
	}
	return b, nil
}

// baselineRegion lists then describes one region's ACTIVE revisions and
// returns the finding rows they make under both rules: one per container,
// two per container on host networking, two ERROR rows per revision it
// could not read.
func baselineRegion(ctx context.Context, client *ecs.Client) (int64, error) {
	var arns []string
	pages := ecs.NewListTaskDefinitionsPaginator(client, &ecs.ListTaskDefinitionsInput{Status: ecstypes.TaskDefinitionStatusActive})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list task definitions: %w", err)
		}
		arns = append(arns, page.TaskDefinitionArns...)
	}
	var rows int64
	for _, arn := range arns {
		out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)})
		if err != nil || out.TaskDefinition == nil || len(out.TaskDefinition.ContainerDefinitions) == 0 {
			rows += 2 // an ERROR row per rule, as the plan reports a revision it could not read
			continue
		}
		n := int64(len(out.TaskDefinition.ContainerDefinitions))
		if out.TaskDefinition.NetworkMode == ecstypes.NetworkModeHost {
			n *= 2
		}
		rows += n
	}
	return rows, nil
}

// naiveCalls is how many requests the baseline makes for the whole plan:
// the organization listing it made (st's ListAccounts calls), one
// AssumeRole and one DescribeRegions per assumable account, and the list
// pages and describes of every target.
func (p plan) naiveCalls(st simorg.Stats) int64 {
	return st.Calls["ListAccounts"] + 2*int64(p.assumable) + p.listCalls() + p.describeCalls()
}
