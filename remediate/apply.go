package remediate

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsaudit/ecsaudit/taskdefs"
)

// Writer is the part of ECS that Apply calls, with the remediation role:
// the listing and describing that make it idempotent, and registering.
type Writer interface {
	taskdefs.Registrar
	taskdefs.Describer
	ecs.ListTaskDefinitionsAPIClient
}

var _ Writer = (*ecs.Client)(nil)

// Apply registers the item's new revision, unless an ACTIVE revision of
// the family newer than the original already equals it; either way it
// sets NewARN and Applied. It never touches a service.
func Apply(ctx context.Context, api Writer, it *Item) error {
	if it.Action != Register {
		return nil
	}
	newer, err := taskdefs.Newer(ctx, api, it.Family, it.ARN)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	for _, arn := range newer {
		full, err := taskdefs.DescribeFull(ctx, api, arn)
		if err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		if full.Definition.Equal(it.Desired) {
			it.NewARN, it.Applied = arn, "already registered"
			return nil
		}
	}
	arn, err := taskdefs.Register(ctx, api, it.Desired)
	if err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	it.NewARN, it.Applied = arn, "registered"
	return nil
}
