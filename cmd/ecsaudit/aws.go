package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssecurityhub "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/ecsaudit/ecsaudit/assume"
	"github.com/ecsaudit/ecsaudit/output"
	"github.com/ecsaudit/ecsaudit/securityhub"
	"github.com/ecsaudit/ecsaudit/simorg"
)

// defaultCallTimeout is --call-timeout's default: how long one HTTP attempt
// may take before it is abandoned and retried.
const defaultCallTimeout = 30 * time.Second

// loadOptions are the SDK settings every client shares: the standard
// retryer with more attempts and no retry quota (aws-sdk-go-v2 issues 1665
// and 3413: the quota turns a throttling storm into hard failures), and a
// connection pool sized for the fan-out.
func (f *scanFlags) loadOptions() []func(*config.LoadOptions) error {
	httpClient := awshttp.NewBuildableClient().
		WithTimeout(f.CallTimeout).
		WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = f.Concurrency*8 + 64
			t.MaxIdleConnsPerHost = f.Concurrency*8 + 64
		})
	return []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = f.MaxAttempts
				o.RateLimiter = ratelimit.None
			})
		}),
	}
}

// awsConfig returns the configuration the scan uses: the SDK's standard
// chain (credentials, region, AWS_ENDPOINT_URL), or, with --simulate, an
// embedded simulated organization reached through the same standard
// endpoint setting.
func (f *scanFlags) awsConfig(ctx context.Context, log *slog.Logger) (aws.Config, func(), error) {
	opts := f.loadOptions()
	stop := func() {}
	if f.Simulate {
		srv, err := simorg.Start(simorg.Default(), simorg.Options{})
		if err != nil {
			return aws.Config{}, stop, fmt.Errorf("start simulated organization: %w", err)
		}
		stop = func() { srv.Close() }
		log.Info("simulated organization started", "endpoint", srv.URL())
		opts = append(opts,
			config.WithRegion("us-east-1"),
			config.WithBaseEndpoint(srv.URL()),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(simorg.AccessKeyID, simorg.SecretAccessKey, "")),
		)
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		stop()
		return aws.Config{}, func() {}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		stop()
		return aws.Config{}, func() {}, usageError{errors.New("no AWS region: set AWS_REGION to the region the job runs in")}
	}
	return cfg, stop, nil
}

// sink returns where the datasets go, and the same place as a source of
// earlier runs. S3 always uses the SDK's standard chain, also with
// --simulate: the simulated organization does not serve S3.
func (f *scanFlags) sink(ctx context.Context) (output.Sink, output.Source, error) {
	if !strings.HasPrefix(f.Output, "s3://") {
		return output.Dir(f.Output), output.Dir(f.Output), nil
	}
	return f.s3(ctx, f.Output, true)
}

// sinkAt returns a sink at dest, a directory or s3://bucket/prefix; the
// output's encryption and owner settings apply only when own is set (the
// Security Lake bucket has its own).
func (f *scanFlags) sinkAt(ctx context.Context, dest string, own bool) (output.Sink, error) {
	if !strings.HasPrefix(dest, "s3://") {
		return output.Dir(dest), nil
	}
	sink, _, err := f.s3(ctx, dest, own)
	return sink, err
}

func (f *scanFlags) s3(ctx context.Context, dest string, own bool) (output.Sink, output.Source, error) {
	bucket, prefix, err := output.ParseS3URL(dest)
	if err != nil {
		return nil, nil, usageError{err}
	}
	cfg, err := config.LoadDefaultConfig(ctx, f.loadOptions()...)
	if err != nil {
		return nil, nil, fmt.Errorf("load AWS configuration for S3: %w", err)
	}
	if cfg.Region == "" {
		return nil, nil, usageError{errors.New("s3 output needs a region: set AWS_REGION")}
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = f.S3PathStyle })
	var opts output.S3Options
	if own {
		opts = output.S3Options{SSEKMSKeyID: f.SSEKMSKeyID, ExpectedBucketOwner: f.ExpectedBucketOwner}
	}
	sink := output.NewS3(client, bucket, prefix, opts)
	return sink, output.NewS3Source(client, bucket, prefix, opts.ExpectedBucketOwner), nil
}

// securityHub returns the importer of --securityhub. Security Hub takes an
// account's findings under its default product only from that account, so
// each account's are imported with the scan role assumed in it (which
// then needs the Security Hub permissions of docs/deploy.md).
func (f *scanFlags) securityHub(cfg aws.Config, runID string, log *slog.Logger) *securityhub.Importer {
	region := f.SecurityHubRegion
	if region == "" {
		region = cfg.Region
	}
	stsClient := sts.NewFromConfig(cfg)
	opts := assume.Options{RoleName: f.RoleName, ExternalID: f.ExternalID, SessionName: assume.SessionName(runID)}
	return securityhub.New(securityhub.Config{
		Region: region,
		Client: func(partition, account string) securityhub.API {
			c := cfg.Copy()
			c.Region = region
			creds := assume.Credentials(stsClient, partition, account, opts)
			c.Credentials = creds
			return awssecurityhub.NewFromConfig(c, func(o *awssecurityhub.Options) {
				o.APIOptions = append(o.APIOptions, assume.RenewOnExpiry(creds))
			})
		},
		Logger: log,
	})
}
