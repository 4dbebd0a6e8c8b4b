// Package taskdefs lists and describes one region's ECS task definitions
// and hands them on as plain check.TaskDefinition values; the SDK's types
// stay inside. Environment variables and secrets are never copied out.
package taskdefs

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsaudit/ecsaudit/check"
)

// Mode selects which revisions a scan covers.
type Mode string

// The revision scopes.
const (
	// Active is every ACTIVE revision, as the control's CLI test plan scans.
	Active Mode = "active"
	// Latest is the latest ACTIVE revision of each family: AWS Config's scope.
	Latest Mode = "latest"
	// All is every ACTIVE and INACTIVE revision.
	All Mode = "all"
)

// ParseMode reads a --revisions value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Active, Latest, All:
		return m, nil
	}
	return "", fmt.Errorf("revisions %q: want active, latest or all", s)
}

// Lister is the part of ECS that List calls.
type Lister interface {
	ecs.ListTaskDefinitionsAPIClient
	ecs.ListTaskDefinitionFamiliesAPIClient
}

// Describer is the part of ECS that Describe calls.
type Describer interface {
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
}

var (
	_ Lister    = (*ecs.Client)(nil)
	_ Describer = (*ecs.Client)(nil)
)

// List returns the references to describe under mode: task definition ARNs
// for Active and All, family names (described as their latest ACTIVE
// revision) for Latest.
func List(ctx context.Context, api Lister, mode Mode) ([]string, error) {
	switch mode {
	case Latest:
		var out []string
		p := ecs.NewListTaskDefinitionFamiliesPaginator(api, &ecs.ListTaskDefinitionFamiliesInput{
			Status: ecstypes.TaskDefinitionFamilyStatusActive,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list task definition families: %w", err)
			}
			out = append(out, page.Families...)
		}
		return out, nil
	case All:
		active, err := listARNs(ctx, api, ecstypes.TaskDefinitionStatusActive)
		if err != nil {
			return nil, err
		}
		inactive, err := listARNs(ctx, api, ecstypes.TaskDefinitionStatusInactive)
		return append(active, inactive...), err
	default:
		return listARNs(ctx, api, ecstypes.TaskDefinitionStatusActive)
	}
}

func listARNs(ctx context.Context, api Lister, status ecstypes.TaskDefinitionStatus) ([]string, error) {
	var out []string
	p := ecs.NewListTaskDefinitionsPaginator(api, &ecs.ListTaskDefinitionsInput{
		Status:     status,
		MaxResults: aws.Int32(100),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s task definitions: %w", status, err)
		}
		out = append(out, page.TaskDefinitionArns...)
	}
	return out, nil
}

// Describe reads one task definition by ARN or family name.
func Describe(ctx context.Context, api Describer, ref string) (check.TaskDefinition, error) {
	out, err := api.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &ref})
	if err != nil {
		return check.TaskDefinition{}, fmt.Errorf("describe task definition: %w", err)
	}
	if out.TaskDefinition == nil {
		return check.TaskDefinition{}, errors.New("describe task definition: response has no task definition")
	}
	return convert(out.TaskDefinition), nil
}

// convert copies the fields the rule reads. Environment and secrets are
// deliberately left behind.
func convert(td *ecstypes.TaskDefinition) check.TaskDefinition {
	out := check.TaskDefinition{
		ARN:         aws.ToString(td.TaskDefinitionArn),
		Family:      aws.ToString(td.Family),
		Revision:    td.Revision,
		Status:      string(td.Status),
		NetworkMode: string(td.NetworkMode),
		Containers:  make([]check.Container, 0, len(td.ContainerDefinitions)),
	}
	if td.RegisteredAt != nil {
		out.RegisteredAt = *td.RegisteredAt
	}
	for _, c := range td.ContainerDefinitions {
		out.Containers = append(out.Containers, check.Container{
			Name:       aws.ToString(c.Name),
			Image:      aws.ToString(c.Image),
			Privileged: c.Privileged,
			User:       c.User,
		})
	}
	return out
}
