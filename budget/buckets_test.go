package budget_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go/middleware"

	"github.com/ecsaudit/ecsaudit/budget"
)

// TestBucketsRouteByOperation: each attempt is counted in its operation's
// bucket, and an operation without one is never sent.
func TestBucketsRouteByOperation(t *testing.T) {
	t.Parallel()
	var sent atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	b := budget.Buckets{"ListClusters": budget.New(0, 0), "ListTasks": budget.New(0, 0)}
	client := ecs.New(ecs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		APIOptions:  []func(*middleware.Stack) error{b.Attach},
	})
	ctx := context.Background()
	for range 2 {
		if _, err := client.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.ListTasks(ctx, &ecs.ListTasksInput{}); err != nil {
		t.Fatal(err)
	}
	_, err := client.DescribeServices(ctx, &ecs.DescribeServicesInput{Services: []string{"s"}})
	if err == nil || !strings.Contains(err.Error(), `no bucket for operation "DescribeServices"`) {
		t.Errorf("DescribeServices without a bucket: err = %v", err)
	}
	if b["ListClusters"].Calls() != 2 || b["ListTasks"].Calls() != 1 || b.Calls() != 3 || sent.Load() != 3 {
		t.Errorf("ListClusters %d, ListTasks %d, total %d, sent %d; want 2, 1, 3, 3",
			b["ListClusters"].Calls(), b["ListTasks"].Calls(), b.Calls(), sent.Load())
	}
}
