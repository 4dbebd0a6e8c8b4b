// Package infra holds ecsaudit's CloudFormation templates, one small
// template per deployment target, and the cfn-guard rules they must pass:
//
//	cloudformation/scan-role.yaml           read-only scan role, every account
//	cloudformation/scan-role-stackset.yaml  service-managed StackSet of it
//	cloudformation/remediate-role.yaml      opt-in: the role remediate --apply registers with
//	cloudformation/remediate-role-stackset.yaml  service-managed StackSet of it
//	cloudformation/org-delegation.yaml      Organizations delegation policy
//	cloudformation/job.yaml                 the nightly job and its data
//	cloudformation/batch.yaml               optional: the job sharded on AWS Batch
//	cloudformation/quicksight.yaml          optional QuickSight datasets
//	guard/*.guard                           project cfn-guard rules
//
// The package's tests are the proof that the templates say what
// docs/deploy.md claims: they parse every template with goformation and
// cfn-lint, check the security invariants (read-only scan role, no wildcard
// writes, an encrypted TLS-only private bucket, a hardened task and Batch
// job definition that the check package itself passes, the Batch shards
// running as the task role the scan roles trust), compare the Glue tables
// with the output package's Parquet columns and the QuickSight datasets
// with the Athena views, run cfn-guard, and build the Dockerfile's binary.
package infra

import "embed"

// Templates holds the CloudFormation templates under cloudformation/.
//
//go:embed cloudformation/*.yaml
var Templates embed.FS

// GuardRules holds the cfn-guard rules under guard/ that every template in
// Templates passes.
//
//go:embed guard/*.guard
var GuardRules embed.FS
