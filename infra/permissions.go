package main

import (
	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/ownership"
)

// TagCondition is what a grant requires of the autostop:load-balancer tag.
type TagCondition int

const (
	// NoTag: the service cannot condition the call on tags (Describe, List,
	// Route 53, Lambda calls on the one proxy function).
	NoTag TagCondition = iota
	// RequestTag: a create must carry the tag (aws:RequestTag/… not null).
	RequestTag
	// ResourceTag: a delete or modify may only touch a resource carrying the
	// tag (aws:ResourceTag/… not null).
	ResourceTag
)

// Grant is one IAM statement of a step's policy.
type Grant struct {
	Actions []string
	// Resources are ARN patterns; ${AWS::Partition}, ${AWS::Region},
	// ${AWS::AccountId} and ${HostedZone} (stack context hostedZoneId,
	// default "*") are filled in by the stack.
	Resources []string
	Tag       TagCondition
	// TagKey is the tag the condition names; default TagKey
	// (autostop:load-balancer).
	TagKey string
	// TagKeys limits the tag keys a tagging action may set or remove
	// (aws:TagKeys, ForAllValues:StringEquals): for tags autostop puts on
	// resources it did not create (the customer's instances) or adds to its
	// own after the create call.
	TagKeys []string
	// CreateActions limits a tagging action (elasticloadbalancing:AddTags,
	// ec2:CreateTags) to the tags a create call carries: the service's
	// CreateAction condition key.
	CreateActions []string
	// MetricNamespace limits cloudwatch:PutMetricData to one namespace
	// (the cloudwatch:namespace condition key): PutMetricData has no
	// resource-level permissions.
	MetricNamespace string
	// Why a resource holds a wildcard: the reason of the cdk-nag
	// AwsSolutions-IAM5 suppression. Required when a resource has a "*".
	Why string
}

// The ARN patterns. Load balancers, certificates and security groups are in
// the region the request names (LoadBalancerSpec.Region), so their region is
// "*"; the account is always this one.
const (
	anyResource    = "*"
	loadBalancers  = "arn:${AWS::Partition}:elasticloadbalancing:*:${AWS::AccountId}:loadbalancer/app/*/*"
	targetGroups   = "arn:${AWS::Partition}:elasticloadbalancing:*:${AWS::AccountId}:targetgroup/*/*"
	listeners      = "arn:${AWS::Partition}:elasticloadbalancing:*:${AWS::AccountId}:listener/app/*/*/*"
	securityGroups = "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group/*"
	vpcs           = "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:vpc/*"
	certificates   = "arn:${AWS::Partition}:acm:*:${AWS::AccountId}:certificate/*"
	hostedZone     = "arn:${AWS::Partition}:route53:::hostedzone/${HostedZone}"
	dnsChanges     = "arn:${AWS::Partition}:route53:::change/*"
	proxyFunction  = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:" + app.NamePrefix + "proxy"
	proxyVersions  = proxyFunction + ":*"
	provisioning   = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + app.NamePrefix + app.ProvisionLoadBalancer
	provisionRuns  = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:" + app.NamePrefix + app.ProvisionLoadBalancer + ":*"
)

// Reasons for wildcard resources, shown in the cdk-nag suppressions.
const (
	whyDescribe     = "EC2 and Elastic Load Balancing Describe* calls do not support resource-level permissions: the resource must be *"
	whyACMList      = "acm:ListCertificates does not support resource-level permissions: the resource must be *"
	whyRequestCert  = "acm:RequestCertificate does not support resource-level permissions; the call is limited by an aws:RequestTag/autostop:load-balancer condition instead"
	whyCertificates = "the certificate is the one the request names or one this app requested, in the request's region, so its ID is not known at deploy time (this account only)"
	whyZone         = "the hosted zone is the one the request names; set the stack context hostedZoneId to allow a single zone"
	whyDNSChange    = "Route 53 change IDs are returned by ChangeResourceRecordSets at run time"
	whyCreated      = "load balancers, target groups, listeners and security groups are created at run time with names from the request (this account only); the call is limited by the autostop:load-balancer tag condition"
	whyVPC          = "the security group is created in the VPC the request names"
	whyProxyVersion = "versions and aliases of the autostop-proxy function (its qualifiers) are published at run time"
	whyExecutions   = "executions of autostop-provision-load-balancer are named at run time from the event id"
)

// TagKey is the tag that marks what the app creates.
const TagKey = ownership.LoadBalancerKey

// Permissions are the IAM grants of each function, by Function.ID: exactly
// the calls its step makes (a test compares them with the SDK operations of
// the step's packages). Every function also gets write access to its own log
// group and X-Ray, outside this table. Each workflow's functions have their
// grants in a table of their own.
var Permissions = joinGrants(grantTables...)

// grantTables are the tables Permissions joins, one per workflow.
var grantTables = []map[string][]Grant{provisioningGrants, wakeGrants, rulesGrants, sleepGrants}

// joinGrants merges the tables of grants; a function in two tables is a
// mistake the tests report (TestPermissionTablesDisjoint).
func joinGrants(tables ...map[string][]Grant) map[string][]Grant {
	out := map[string][]Grant{}
	for _, t := range tables {
		for id, g := range t {
			out[id] = append(out[id], g...)
		}
	}

	return out
}

// provisioningGrants: the ProvisionLoadBalancer workflow. (Its event
// starter, start-provisioning, now starts the rule workflows: rulesGrants.)
var provisioningGrants = map[string][]Grant{
	"validate": {
		{Actions: []string{"ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
			"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags"},
			Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"acm:DescribeCertificate"}, Resources: []string{certificates}, Why: whyCertificates},
		{Actions: []string{"route53:GetHostedZone", "route53:ListResourceRecordSets"}, Resources: []string{hostedZone}, Why: whyZone},
	},
	"ensure-load-balancer": {
		{Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags", "ec2:DescribeSecurityGroups"},
			Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:CreateLoadBalancer"}, Resources: []string{loadBalancers}, Tag: RequestTag, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:AddTags"}, Resources: []string{loadBalancers}, Tag: RequestTag,
			CreateActions: []string{"CreateLoadBalancer"}, Why: whyCreated},
		{Actions: []string{"ec2:CreateSecurityGroup"}, Resources: []string{securityGroups}, Tag: RequestTag, Why: whyCreated},
		{Actions: []string{"ec2:CreateSecurityGroup"}, Resources: []string{vpcs}, Why: whyVPC},
		{Actions: []string{"ec2:CreateTags"}, Resources: []string{securityGroups}, Tag: RequestTag,
			CreateActions: []string{"CreateSecurityGroup"}, Why: whyCreated},
		{Actions: []string{"ec2:AuthorizeSecurityGroupIngress"}, Resources: []string{securityGroups}, Tag: ResourceTag, Why: whyCreated},
	},
	"ensure-proxy-target": {
		{Actions: []string{"lambda:GetFunction", "lambda:GetAlias", "lambda:CreateAlias", "lambda:ListVersionsByFunction",
			"lambda:PublishVersion", "lambda:GetPolicy", "lambda:AddPermission", "lambda:RemovePermission"},
			Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
		{Actions: []string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags",
			"elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTargetHealth"},
			Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:CreateTargetGroup"}, Resources: []string{targetGroups}, Tag: RequestTag, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:AddTags"}, Resources: []string{targetGroups}, Tag: RequestTag,
			CreateActions: []string{"CreateTargetGroup"}, Why: whyCreated},
		// The load balancer's domain, added to its own target group on a
		// re-run (ownership.DomainKey): that tag key only.
		{Actions: []string{"elasticloadbalancing:AddTags"}, Resources: []string{targetGroups}, Tag: ResourceTag,
			TagKeys: []string{ownership.DomainKey}, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:RegisterTargets",
			"elasticloadbalancing:DeregisterTargets"}, Resources: []string{targetGroups}, Tag: ResourceTag, Why: whyCreated},
	},
	"ensure-certificate": {
		{Actions: []string{"acm:ListCertificates"}, Resources: []string{anyResource}, Why: whyACMList},
		{Actions: []string{"acm:DescribeCertificate", "acm:ListTagsForCertificate"}, Resources: []string{certificates}, Why: whyCertificates},
		{Actions: []string{"acm:RequestCertificate"}, Resources: []string{anyResource}, Tag: RequestTag, Why: whyRequestCert},
		{Actions: []string{"acm:AddTagsToCertificate"}, Resources: []string{certificates}, Tag: RequestTag, Why: whyCertificates},
		{Actions: []string{"route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"}, Resources: []string{hostedZone}, Why: whyZone},
	},
	"ensure-listeners": {
		{Actions: []string{"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags"},
			Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:CreateListener"}, Resources: []string{listeners, loadBalancers}, Tag: RequestTag, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:AddTags"}, Resources: []string{listeners}, Tag: RequestTag,
			CreateActions: []string{"CreateListener"}, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:ModifyListener"}, Resources: []string{listeners}, Tag: ResourceTag, Why: whyCreated},
	},
	"ensure-dns": {
		{Actions: []string{"route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"}, Resources: []string{hostedZone}, Why: whyZone},
		{Actions: []string{"route53:GetChange"}, Resources: []string{dnsChanges}, Why: whyDNSChange},
	},
	"rollback": {
		{Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags",
			"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetGroups",
			// proxytarget.DeleteCreatedBy deregisters what DescribeTargetHealth lists.
			"elasticloadbalancing:DescribeTargetHealth", "ec2:DescribeSecurityGroups"},
			Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:DeleteLoadBalancer"}, Resources: []string{loadBalancers}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:DeleteListener"}, Resources: []string{listeners}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:DeleteTargetGroup"},
			Resources: []string{targetGroups}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"ec2:DeleteSecurityGroup"}, Resources: []string{securityGroups}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"lambda:GetPolicy", "lambda:RemovePermission"}, Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
		{Actions: []string{"acm:ListCertificates"}, Resources: []string{anyResource}, Why: whyACMList},
		{Actions: []string{"acm:ListTagsForCertificate", "acm:DescribeCertificate"}, Resources: []string{certificates}, Why: whyCertificates},
		{Actions: []string{"acm:DeleteCertificate"}, Resources: []string{certificates}, Tag: ResourceTag, Why: whyCertificates},
		{Actions: []string{"route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"}, Resources: []string{hostedZone}, Why: whyZone},
		// Before deleting, the rollback looks for other executions of the
		// same load balancer that may have adopted what it created.
		{Actions: []string{"states:ListExecutions"}, Resources: []string{provisioning}},
		{Actions: []string{"states:DescribeExecution"}, Resources: []string{provisionRuns}, Why: whyExecutions},
	},
}

// Actions returns the sorted, distinct actions of a function's grants.
func Actions(functionID string) []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range Permissions[functionID] {
		for _, a := range g.Actions {
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	sortStrings(out)

	return out
}
