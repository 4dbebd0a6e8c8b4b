package taskdefs

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// lister is a function-field fake of the two listing calls, for what the
// simulator cannot stage: a revision deregistered between two listings.
type lister struct {
	list func(*ecs.ListTaskDefinitionsInput) []string
}

func (l lister) ListTaskDefinitions(_ context.Context, in *ecs.ListTaskDefinitionsInput, _ ...func(*ecs.Options)) (*ecs.ListTaskDefinitionsOutput, error) {
	return &ecs.ListTaskDefinitionsOutput{TaskDefinitionArns: l.list(in)}, nil
}

func (lister) ListTaskDefinitionFamilies(context.Context, *ecs.ListTaskDefinitionFamiliesInput, ...func(*ecs.Options)) (*ecs.ListTaskDefinitionFamiliesOutput, error) {
	return &ecs.ListTaskDefinitionFamiliesOutput{}, nil
}

// TestListAllKeepsEachRevisionOnce: a revision deregistered between the
// ACTIVE and the INACTIVE listing is in both; it is described once, as
// INACTIVE.
func TestListAllKeepsEachRevisionOnce(t *testing.T) {
	t.Parallel()
	api := lister{list: func(in *ecs.ListTaskDefinitionsInput) []string {
		if in.Status == ecstypes.TaskDefinitionStatusActive {
			return []string{"arn:a:1", "arn:a:2"}
		}
		return []string{"arn:a:2", "arn:b:1"}
	}}
	refs, err := List(context.Background(), api, All)
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{{"arn:a:1", "ACTIVE"}, {"arn:a:2", "INACTIVE"}, {"arn:b:1", "INACTIVE"}}
	if len(refs) != len(want) {
		t.Fatalf("refs %v, want %v", refs, want)
	}
	for i := range want {
		if refs[i] != want[i] {
			t.Fatalf("refs %v, want %v", refs, want)
		}
	}
}
