package simorg

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// BenchmarkDescribeTaskDefinition measures a round trip through the real
// SDK client, signature verification included.
func BenchmarkDescribeTaskDefinition(b *testing.B) {
	org := Generate(Spec{Seed: 1, Accounts: 2, Regions: 1, RevisionsPerRegion: 50})
	srv := start(b, org, Options{})
	client := ecs.NewFromConfig(assumedConfig(b, srv, org.Accounts()[1].ID, "us-east-1"))
	arn := org.TaskDefinitions(org.Accounts()[1].ID, "us-east-1")[7].ARN
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := client.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
