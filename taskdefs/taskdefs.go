// Package taskdefs lists and describes one region's ECS task definitions
// and hands them on as plain check.TaskDefinition values; the SDK's types
// stay inside. Environment variables and secrets are never copied out,
// except into a [Definition]: the complete register input of a revision,
// which remediation reads and registers (DescribeFull, Register).
package taskdefs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

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

// Ref is one listed revision: its ARN, or in Latest mode its family name
// (described as the family's latest ACTIVE revision), and the status it was
// listed under.
type Ref struct {
	ID     string
	Status string
}

// IsARN reports whether the ref names one immutable revision.
func (r Ref) IsARN() bool { return strings.HasPrefix(r.ID, "arn:") }

// List returns the revisions to describe under mode.
func List(ctx context.Context, api Lister, mode Mode) ([]Ref, error) {
	switch mode {
	case Latest:
		var out []Ref
		p := ecs.NewListTaskDefinitionFamiliesPaginator(api, &ecs.ListTaskDefinitionFamiliesInput{
			Status: ecstypes.TaskDefinitionFamilyStatusActive,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list task definition families: %w", err)
			}
			for _, f := range page.Families {
				out = append(out, Ref{ID: f, Status: string(ecstypes.TaskDefinitionStatusActive)})
			}
		}
		return out, nil
	case All:
		active, err := listARNs(ctx, api, ecstypes.TaskDefinitionStatusActive)
		if err != nil {
			return nil, err
		}
		inactive, err := listARNs(ctx, api, ecstypes.TaskDefinitionStatusInactive)
		if err != nil {
			return nil, err
		}
		// A revision deregistered between the two listings is in both:
		// keep it once, as INACTIVE, its status now.
		gone := make(map[string]bool, len(inactive))
		for _, r := range inactive {
			gone[r.ID] = true
		}
		active = slices.DeleteFunc(active, func(r Ref) bool { return gone[r.ID] })
		return append(active, inactive...), nil
	default:
		return listARNs(ctx, api, ecstypes.TaskDefinitionStatusActive)
	}
}

func listARNs(ctx context.Context, api Lister, status ecstypes.TaskDefinitionStatus) ([]Ref, error) {
	var out []Ref
	p := ecs.NewListTaskDefinitionsPaginator(api, &ecs.ListTaskDefinitionsInput{
		Status:     status,
		MaxResults: aws.Int32(100),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s task definitions: %w", status, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			out = append(out, Ref{ID: arn, Status: string(status)})
		}
	}
	return out, nil
}

// goneMessage is how ECS says a revision does not exist, as a
// ClientException from DescribeTaskDefinition.
const goneMessage = "Unable to describe task definition"

// Gone reports whether err is ECS's answer for a revision that no longer
// exists (deleted between the listing and the describe): a ClientException
// saying it is unable to describe the task definition. ClientException
// carries other meanings too, and those are failures, not answers.
func Gone(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ClientException" &&
		strings.HasPrefix(ae.ErrorMessage(), goneMessage)
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

// convert copies the fields the rules read. Environment and secrets are
// deliberately left behind.
func convert(td *ecstypes.TaskDefinition) check.TaskDefinition {
	out := check.TaskDefinition{
		ARN:         aws.ToString(td.TaskDefinitionArn),
		Family:      aws.ToString(td.Family),
		Revision:    td.Revision,
		Status:      string(td.Status),
		NetworkMode: string(td.NetworkMode),
		PIDMode:     string(td.PidMode),
		IPCMode:     string(td.IpcMode),
		Containers:  make([]check.Container, 0, len(td.ContainerDefinitions)),
	}
	if td.RegisteredAt != nil {
		out.RegisteredAt = *td.RegisteredAt
	}
	for _, v := range td.Volumes {
		out.Volumes = append(out.Volumes, check.Volume{Name: aws.ToString(v.Name), HostPath: hostPath(v)})
	}
	for _, c := range td.ContainerDefinitions {
		cc := check.Container{
			Name:       aws.ToString(c.Name),
			Image:      aws.ToString(c.Image),
			Privileged: c.Privileged,
			User:       c.User,
		}
		if lp := c.LinuxParameters; lp != nil {
			if lp.Capabilities != nil {
				cc.CapabilitiesAdded = lp.Capabilities.Add
			}
			for _, d := range lp.Devices {
				cc.Devices = append(cc.Devices, aws.ToString(d.HostPath))
			}
		}
		for _, m := range c.MountPoints {
			cc.Mounts = append(cc.Mounts, check.Mount{SourceVolume: aws.ToString(m.SourceVolume), ContainerPath: aws.ToString(m.ContainerPath)})
		}
		for _, f := range c.VolumesFrom {
			cc.VolumesFrom = append(cc.VolumesFrom, aws.ToString(f.SourceContainer))
		}
		out.Containers = append(out.Containers, cc)
	}
	return out
}

// hostPath is the host path volume v binds, or nil: a host volume's
// sourcePath, or the device of a Docker volume of the "local" driver (the
// default) mounted with the bind or rbind option, which the local driver
// mounts as a bind of that host path.
func hostPath(v ecstypes.Volume) *string {
	if v.Host != nil {
		return v.Host.SourcePath
	}
	d := v.DockerVolumeConfiguration
	if d == nil || (aws.ToString(d.Driver) != "local" && d.Driver != nil) {
		return nil
	}
	device, ok := d.DriverOpts["device"]
	if !ok || !strings.Contains(d.DriverOpts["o"], "bind") { // bind or rbind, as mount(8) reads o
		return nil
	}
	return &device
}
