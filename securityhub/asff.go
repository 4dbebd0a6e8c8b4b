package securityhub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
)

// IDPrefix starts the Id of every finding ecsaudit imports: it tells them
// apart from other findings under the account's default product.
const IDPrefix = "ecsaudit/"

// The ProductFields keys ecsaudit sets.
const (
	FieldContainer   = "ecsaudit/ContainerName"
	FieldRevision    = "ecsaudit/Revision"
	FieldResult      = "ecsaudit/Result"
	FieldRuleVersion = "ecsaudit/RuleVersion"
	FieldFingerprint = "ecsaudit/Fingerprint"
)

// findingType is the ASFF type of every finding, in the Software and
// Configuration Checks namespace.
const findingType = "Software and Configuration Checks/AWS Security Best Practices"

// ProductARN returns the default product ARN of account in region: the
// product an account's own findings are imported under.
func ProductARN(partition, region, account string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s:%s:product/%s/default", partition, region, account, account)
}

// FindingID returns the stable Id of the finding for one container of one
// revision under one rule. An Id over ASFF's 512 characters is hashed.
func FindingID(taskDefinitionARN, container, ruleID string) string {
	id := IDPrefix + ruleID + "/" + taskDefinitionARN + "/" + container
	if len(id) > 512 {
		sum := sha256.Sum256([]byte(id))
		id = IDPrefix + ruleID + "/sha256/" + hex.EncodeToString(sum[:])
	}
	return id
}

// Compliance returns the ASFF compliance status of a result: FAILED for
// FAIL, PASSED for PASS, WARNING for ERROR (the check could not run), and
// "" for NOT_APPLICABLE, which is not sent.
func Compliance(result string) types.ComplianceStatus {
	switch check.Result(result) {
	case check.Fail:
		return types.ComplianceStatusFailed
	case check.Pass:
		return types.ComplianceStatusPassed
	case check.Error:
		return types.ComplianceStatusWarning
	}
	return ""
}

// toASFF turns one findings row into an ASFF finding under product,
// imported at now. created and first are the existing finding's
// CreatedAt and FirstObservedAt, kept on updates; empty for a new one.
// Container environment and secrets are not in the row, and so never here.
func toASFF(f output.Finding, product string, now time.Time, created, first string) types.AwsSecurityFinding {
	partition := "aws"
	if a, err := arn.Parse(f.TaskDefinitionARN); err == nil {
		partition = a.Partition
	}
	stamp := now.UTC().Format(time.RFC3339Nano)
	if created == "" {
		created = f.ScannedAt.UTC().Format(time.RFC3339Nano)
	}
	if first == "" {
		first = created
	}
	label := types.SeverityLabel(f.Severity)
	if label == "" {
		label = types.SeverityLabelInformational
	}
	def := &types.AwsEcsTaskDefinitionDetails{
		Family: aws.String(f.Family), NetworkMode: aws.String(f.NetworkMode), Status: aws.String(f.Status),
	}
	if f.ContainerName != "" {
		c := types.AwsEcsTaskDefinitionContainerDefinitionsDetails{
			Name: aws.String(f.ContainerName), Image: aws.String(f.Image), Privileged: f.Privileged, User: f.User,
		}
		def.ContainerDefinitions = []types.AwsEcsTaskDefinitionContainerDefinitionsDetails{c}
	}
	fields := map[string]string{
		FieldContainer:   f.ContainerName,
		FieldRevision:    strconv.Itoa(int(f.Revision)),
		FieldResult:      f.Result,
		FieldRuleVersion: f.RuleVersion,
	}
	if f.ContainerName == "" {
		delete(fields, FieldContainer)
	}
	out := types.AwsSecurityFinding{
		SchemaVersion: aws.String("2018-10-08"),
		Id:            aws.String(FindingID(f.TaskDefinitionARN, f.ContainerName, f.RuleID)),
		ProductArn:    aws.String(product),
		GeneratorId:   aws.String(f.RuleID),
		AwsAccountId:  aws.String(f.AccountID),
		Types:         []string{findingType},
		CreatedAt:     aws.String(created), UpdatedAt: aws.String(stamp),
		FirstObservedAt: aws.String(first), LastObservedAt: aws.String(stamp),
		Severity: &types.Severity{Label: label},
		FindingProviderFields: &types.FindingProviderFields{
			Severity: &types.FindingProviderSeverity{Label: label, Original: aws.String(f.Severity)},
			Types:    []string{findingType},
		},
		Title:       aws.String(check.Title(f.RuleID)),
		Description: aws.String(clip(f.Reason, 1024)),
		Remediation: &types.Remediation{Recommendation: &types.Recommendation{Text: aws.String(clip(remediation(f), 512))}},
		Compliance:  &types.Compliance{Status: Compliance(f.Result)},
		RecordState: types.RecordStateActive,
		Resources: []types.Resource{{
			Type: aws.String("AwsEcsTaskDefinition"), Id: aws.String(f.TaskDefinitionARN),
			Partition: types.Partition(partition), Region: aws.String(f.Region),
			Details: &types.ResourceDetails{AwsEcsTaskDefinition: def},
		}},
		ProductFields: fields,
	}
	fields[FieldFingerprint] = fingerprint(out)
	return out
}

// fingerprint hashes what a finding says, leaving out the timestamps that
// change on every import: equal fingerprints mean nothing to update.
func fingerprint(f types.AwsSecurityFinding) string {
	f.CreatedAt, f.UpdatedAt, f.FirstObservedAt, f.LastObservedAt = nil, nil, nil, nil
	fields := make(map[string]string, len(f.ProductFields))
	for k, v := range f.ProductFields {
		if k != FieldFingerprint {
			fields[k] = v
		}
	}
	f.ProductFields = fields
	b, _ := json.Marshal(f) // map keys marshal sorted: stable
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// archived returns an existing finding, as GetFindings returned it, made
// ready to import again as ARCHIVED: without the attributes Security Hub
// populates or that only customers may change.
func archived(f types.AwsSecurityFinding, now time.Time) types.AwsSecurityFinding {
	f.RecordState = types.RecordStateArchived
	f.UpdatedAt = aws.String(now.UTC().Format(time.RFC3339Nano))
	f.Region, f.CompanyName, f.ProductName = nil, nil, nil
	f.Workflow, f.WorkflowState, f.Note, f.UserDefinedFields, f.VerificationState = nil, "", nil, nil, ""
	f.ProcessedAt, f.FindingProviderFields = nil, nil
	f.Severity = &types.Severity{Label: f.Severity.Label}
	return f
}

func remediation(f output.Finding) string {
	switch check.Result(f.Result) {
	case check.Pass:
		return "No action needed: the container complies."
	case check.Error:
		return fmt.Sprintf("The task definition %s could not be evaluated; check the scan role's ecs:DescribeTaskDefinition permission in %s.", f.TaskDefinitionARN, f.Region)
	}
	if f.RuleID == check.HostAccessRuleID {
		return fmt.Sprintf("Register a new revision of family %s without the settings the finding names for container %s (added capabilities, pidMode or ipcMode host, host mounts, devices), or without host networking; then deregister revision %d.",
			f.Family, f.ContainerName, f.Revision)
	}
	return fmt.Sprintf("Register a new revision of family %s in which container %s is not privileged and runs as a non-root user (set user to a non-zero UID), or does not use host networking; then deregister revision %d.",
		f.Family, f.ContainerName, f.Revision)
}

// clip shortens s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
