package simorg

import (
	"bytes"
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// ClientConfig returns an SDK configuration that reaches the server the way
// the production binary does, through the standard base endpoint, signed
// with the management account's credentials, isolated from the machine's
// own AWS configuration files. For tests of packages that take SDK clients.
func (s *Server) ClientConfig(ctx context.Context, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(region),
		config.WithBaseEndpoint(s.URL()),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	}
	if s.caPEM != nil {
		opts = append(opts, config.WithCustomCABundle(bytes.NewReader(s.caPEM)))
	}
	return config.LoadDefaultConfig(ctx, opts...)
}
