// Package simorg is the simulated organization: an HTTP server on loopback
// that speaks the real AWS wire protocols for exactly the operations
// ecsaudit calls, so that the unmodified production code, with its
// aws-sdk-go-v2 clients pointed at the server through the SDK's standard
// endpoint configuration (AWS_ENDPOINT_URL or config.WithBaseEndpoint), can
// scan it.
//
// One endpoint serves every service. Requests are routed by protocol:
//
//   - awsJson1_1 (X-Amz-Target) for Organizations (ListAccounts, ListRoots,
//     ListOrganizationalUnitsForParent, ListAccountsForParent, ListChildren,
//     ListParents, DescribeOrganization, DescribeAccount) and ECS
//     (ListTaskDefinitions, ListTaskDefinitionFamilies, DescribeTaskDefinition,
//     and what runs: ListClusters, ListServices, DescribeServices, ListTasks,
//     DescribeTasks; and RegisterTaskDefinition, allowed only to the
//     remediation role, whose revisions each server keeps in an overlay of
//     its own over the immutable Org);
//   - awsQuery (form-encoded Action=) for STS (AssumeRole, GetCallerIdentity);
//   - ec2Query for EC2 (DescribeRegions);
//   - restJson1 for Security Hub (BatchImportFindings, GetFindings,
//     BatchUpdateFindings), kept in a [SecurityHub] store that can outlive
//     one server.
//
// Every request must carry a SigV4 Authorization header. The access key
// decides the calling account, the credential scope the region and service.
// The signature is verified by re-signing the request with the SDK's own v4
// signer, and the X-Amz-Security-Token must be the one issued with the key.
// Errors use each protocol's real shape and codes, so the SDK's error
// parsing and its retryer classify them as they would against AWS.
//
// An [Org] is the data: a declarative JSON fixture ([Load], [Parse],
// [Default]) or a generated organization ([Generate]) whose task definitions
// are computed deterministically on demand, never held in memory, and so
// are its clusters, services and tasks ([Org.Clusters]). Each
// container carries the verdict the audit rule should reach for it
// ([Expected]), for tests to compare a scan against.
//
// [Start] serves an Org; [Options] inject latency, throttling, server errors,
// connection resets, empty pages, denied roles and regions, and short-lived
// sessions; [Server.Stats] reports what the server saw.
package simorg
