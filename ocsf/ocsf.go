// Package ocsf turns ecsaudit's findings into OCSF 1.1.0 Compliance
// Finding events (class 2003) and writes them as Parquet laid out the way
// an Amazon Security Lake custom source takes them:
// region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<file>.parquet,
// one event class per source, OCSF attribute names as column names.
package ocsf

import (
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ecsaudit/ecsaudit/check"
	"github.com/ecsaudit/ecsaudit/output"
)

// SchemaVersion is the OCSF version of the events.
const SchemaVersion = "1.1.0"

// The Compliance Finding class: category Findings (2), class 2003.
const (
	CategoryUID = 2
	ClassUID    = 2003
)

// Activities of a finding event.
const (
	ActivityCreate = 1 // first evaluated in this run
	ActivityUpdate = 2 // carried: evaluated by an earlier run, observed again
)

// Event is one OCSF Compliance Finding. Field names are OCSF attribute
// names, in Parquet and in JSON alike; times are OCSF timestamps
// (milliseconds since the epoch). Container environment and secrets are
// not in the findings rows, and so never here.
type Event struct {
	ActivityID   int32       `parquet:"activity_id" json:"activity_id"`
	ActivityName string      `parquet:"activity_name" json:"activity_name"`
	CategoryUID  int32       `parquet:"category_uid" json:"category_uid"`
	CategoryName string      `parquet:"category_name" json:"category_name"`
	ClassUID     int32       `parquet:"class_uid" json:"class_uid"`
	ClassName    string      `parquet:"class_name" json:"class_name"`
	TypeUID      int64       `parquet:"type_uid" json:"type_uid"`
	TypeName     string      `parquet:"type_name" json:"type_name"`
	Time         int64       `parquet:"time" json:"time"`
	SeverityID   int32       `parquet:"severity_id" json:"severity_id"`
	Severity     string      `parquet:"severity" json:"severity"`
	StatusID     int32       `parquet:"status_id" json:"status_id"`
	Status       string      `parquet:"status" json:"status"`
	Message      string      `parquet:"message" json:"message"`
	Metadata     Metadata    `parquet:"metadata" json:"metadata"`
	Cloud        Cloud       `parquet:"cloud" json:"cloud"`
	FindingInfo  FindingInfo `parquet:"finding_info" json:"finding_info"`
	Compliance   Compliance  `parquet:"compliance" json:"compliance"`
	Remediation  Remediation `parquet:"remediation" json:"remediation"`
	Resource     Resource    `parquet:"resource" json:"resource"`
}

// Metadata is OCSF's metadata object.
type Metadata struct {
	Version  string   `parquet:"version" json:"version"`
	Product  Product  `parquet:"product" json:"product"`
	Profiles []string `parquet:"profiles,list" json:"profiles"`
	LogName  string   `parquet:"log_name" json:"log_name"`
}

// Product names the reporting product.
type Product struct {
	Name       string `parquet:"name" json:"name"`
	VendorName string `parquet:"vendor_name" json:"vendor_name"`
	Version    string `parquet:"version" json:"version"`
}

// Cloud is the cloud profile's object: where the resource lives.
type Cloud struct {
	Provider string  `parquet:"provider" json:"provider"`
	Region   string  `parquet:"region" json:"region"`
	Account  Account `parquet:"account" json:"account"`
}

// Account is the AWS account of the resource.
type Account struct {
	UID    string `parquet:"uid" json:"uid"`
	Name   string `parquet:"name" json:"name,omitempty"`
	Type   string `parquet:"type" json:"type"`
	TypeID int32  `parquet:"type_id" json:"type_id"`
}

// FindingInfo identifies the finding.
type FindingInfo struct {
	UID           string   `parquet:"uid" json:"uid"`
	Title         string   `parquet:"title" json:"title"`
	Desc          string   `parquet:"desc" json:"desc"`
	Types         []string `parquet:"types,list" json:"types"`
	FirstSeenTime int64    `parquet:"first_seen_time" json:"first_seen_time"`
	LastSeenTime  int64    `parquet:"last_seen_time" json:"last_seen_time"`
}

// Compliance is the result of the control on the resource.
type Compliance struct {
	Control      string   `parquet:"control" json:"control"`
	Standards    []string `parquet:"standards,list" json:"standards"`
	Requirements []string `parquet:"requirements,list" json:"requirements"`
	StatusID     int32    `parquet:"status_id" json:"status_id"`
	Status       string   `parquet:"status" json:"status"`
	StatusDetail string   `parquet:"status_detail" json:"status_detail"`
}

// Remediation says how to comply.
type Remediation struct {
	Desc string `parquet:"desc" json:"desc"`
}

// Resource is the task definition evaluated.
type Resource struct {
	UID            string   `parquet:"uid" json:"uid"`
	Name           string   `parquet:"name" json:"name"`
	Type           string   `parquet:"type" json:"type"`
	Region         string   `parquet:"region" json:"region"`
	CloudPartition string   `parquet:"cloud_partition" json:"cloud_partition"`
	Labels         []string `parquet:"labels,list" json:"labels"`
}

// Product is ecsaudit as OCSF names the reporting product.
func productOf(version string) Product {
	return Product{Name: "ecsaudit", VendorName: "ecsaudit", Version: version}
}

// FromFinding returns the event of one findings row, or false for a row
// that is not a compliance result (NOT_APPLICABLE).
func FromFinding(f output.Finding, version string) (Event, bool) {
	st := map[check.Result]struct {
		id   int32
		name string
	}{check.Pass: {1, "Pass"}, check.Error: {2, "Warning"}, check.Fail: {3, "Fail"}}[check.Result(f.Result)]
	if st.id == 0 {
		return Event{}, false
	}
	sevID, sev := severity(f.Severity)
	activity, activityName := int32(ActivityCreate), "Create"
	if f.Carried {
		activity, activityName = ActivityUpdate, "Update"
	}
	partition := "aws"
	if a, err := arn.Parse(f.TaskDefinitionARN); err == nil {
		partition = a.Partition
	}
	seen := f.ScannedAt.UnixMilli()
	name := f.Family
	if f.Revision > 0 {
		name += ":" + strconv.Itoa(int(f.Revision))
	}
	var labels []string
	if f.ContainerName != "" {
		labels = append(labels, "container:"+f.ContainerName)
	}
	e := Event{
		ActivityID: activity, ActivityName: activityName,
		CategoryUID: CategoryUID, CategoryName: "Findings",
		ClassUID: ClassUID, ClassName: "Compliance Finding",
		TypeUID: int64(ClassUID)*100 + int64(activity), TypeName: "Compliance Finding: " + activityName,
		Time: seen, SeverityID: sevID, Severity: sev,
		StatusID: 1, Status: "New",
		Message: f.Reason,
		Metadata: Metadata{
			Version: SchemaVersion, Product: productOf(version), Profiles: []string{"cloud"}, LogName: "ecsaudit",
		},
		Cloud: Cloud{Provider: "AWS", Region: f.Region, Account: Account{UID: f.AccountID, Name: f.AccountName, Type: "AWS Account", TypeID: 10}},
		FindingInfo: FindingInfo{
			UID:   f.RuleID + "/" + f.TaskDefinitionARN + "/" + f.ContainerName,
			Title: check.Title(f.RuleID),
			Desc:  f.Reason, Types: []string{"Software and Configuration Checks/AWS Security Best Practices"},
			FirstSeenTime: seen, LastSeenTime: seen,
		},
		Compliance: Compliance{
			Control: f.RuleID, Standards: []string{"ecsaudit"}, Requirements: []string{f.RuleID + " v" + f.RuleVersion},
			StatusID: st.id, Status: st.name, StatusDetail: f.Reason,
		},
		Remediation: Remediation{Desc: "Run the container unprivileged as a non-root user, or without host networking, in a new revision; deregister this one."},
		Resource: Resource{
			UID: f.TaskDefinitionARN, Name: name, Type: "AwsEcsTaskDefinition",
			Region: f.Region, CloudPartition: partition, Labels: labels,
		},
	}
	return e, true
}

// severity maps the rule's Security Hub labels to OCSF severity_id.
func severity(label string) (int32, string) {
	switch strings.ToUpper(label) {
	case check.SeverityInformational:
		return 1, "Informational"
	case "LOW":
		return 2, "Low"
	case check.SeverityMedium:
		return 3, "Medium"
	case check.SeverityHigh:
		return 4, "High"
	case check.SeverityCritical:
		return 5, "Critical"
	}
	return 0, "Unknown"
}

// eventDay is Security Lake's partition value for a time: YYYYMMDD in UTC.
func eventDay(t time.Time) string { return t.UTC().Format("20060102") }
