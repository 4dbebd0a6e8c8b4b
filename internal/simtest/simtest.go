// Package simtest starts the simulated organization for a test and hands
// back an SDK configuration that reaches it as production code does.
package simtest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecsaudit/ecsaudit/simorg"
)

// Start serves org until t ends and returns the server with a configuration
// in region signed with the management account's credentials.
func Start(t testing.TB, org *simorg.Org, opts simorg.Options, region string) (*simorg.Server, aws.Config) {
	t.Helper()
	srv, err := simorg.Start(org, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cfg, err := srv.ClientConfig(t.Context(), region)
	if err != nil {
		t.Fatal(err)
	}
	return srv, cfg
}
