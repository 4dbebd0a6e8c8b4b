package simorg

import "fmt"

// authorize applies what stands between an authenticated caller and the
// operation: Organizations is for the management account only, and ECS and
// EC2 calls need a region the account has enabled and no service control
// policy denies.
func (s *Server) authorize(c *call) *apiError {
	o := s.org
	switch c.service {
	case "organizations":
		if c.who.account != o.management {
			return &apiError{status: 400, code: "AccessDeniedException", message: "You don't have permissions to access this resource."}
		}
	case "ecs", "ec2", "securityhub":
		ai := o.acctIdx[c.who.account]
		ri, known := o.regionIdx[c.who.region]
		if !known || o.regionStatus(ai, ri) == NotOptedIn {
			if c.proto == protoEC2 {
				return &apiError{status: 401, code: "AuthFailure", message: "AWS was not able to validate the provided access credentials"}
			}
			return &apiError{status: 400, code: "UnrecognizedClientException", message: "The security token included in the request is invalid."}
		}
		if s.regionDenied(c.who.account, c.who.region) {
			msg := fmt.Sprintf("User: %s is not authorized to perform: %s:%s with an explicit deny in a service control policy",
				c.who.arn(o.partition), c.service, c.op)
			if c.proto == protoEC2 {
				return &apiError{status: 403, code: "UnauthorizedOperation", message: "You are not authorized to perform this operation. " + msg}
			}
			return &apiError{status: 400, code: "AccessDeniedException", message: msg}
		}
		if e := s.authorizeRole(c); e != nil {
			return e
		}
		if s.deniedOps[c.op] {
			return &apiError{status: 400, code: "AccessDeniedException", message: fmt.Sprintf(
				"User: %s is not authorized to perform: %s:%s on resource: * because no identity-based policy allows the %s:%s action",
				c.who.arn(o.partition), c.service, c.op, c.service, c.op)}
		}
	}
	return nil
}

// regionDenied reports whether the fixture or the options deny region to
// account.
func (s *Server) regionDenied(account, region string) bool {
	return s.org.RegionDenied(account, region) || s.denyRegion[account][region] || s.denyRegion["*"][region]
}

// remediationOps are the ECS operations the remediation role's policy
// allows; RegisterTaskDefinition is allowed to no one else.
var remediationOps = map[op]bool{opRegisterTaskDefinition: true, opDescribeTaskDefinition: true, opListTaskDefinitions: true}

// authorizeRole applies the two roles' policies: only the remediation role
// registers task definitions, and it calls nothing else but the reads that
// make registering idempotent.
func (s *Server) authorizeRole(c *call) *apiError {
	if c.service != "ecs" {
		return nil
	}
	remediation := c.who.session.token != "" && c.who.session.roleName == s.org.remediationRoleName
	if remediation == remediationOps[c.op] || (!remediation && c.op != opRegisterTaskDefinition) {
		return nil
	}
	return &apiError{status: 400, code: "AccessDeniedException", message: fmt.Sprintf(
		"User: %s is not authorized to perform: ecs:%s on resource: * because no identity-based policy allows the ecs:%s action",
		c.who.arn(s.org.partition), c.op, c.op)}
}
