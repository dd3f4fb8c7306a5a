package main

import (
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/listener"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/proxytarget"
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
	// tag (aws:ResourceTag/… not null). A grant of a Delete* action with the
	// default TagKey also requires autostop:managed-by=autostop on the
	// resource (Statements adds it): every create call carries both
	// (ownership.Tags), so a resource someone merely tagged
	// autostop:load-balancer is never deleted.
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
	// Equals are further StringEquals conditions on request values the
	// service exposes as condition keys, key → value (iam:AWSServiceName,
	// lambda:Principal, acm:ValidationMethod).
	Equals map[string]string
	// AllOf limits multivalued request keys to these values
	// (ForAllValues:StringEquals, key → allowed values): Route 53's change
	// actions and record types.
	AllOf map[string][]string
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
	// elbLinkedRole is Elastic Load Balancing's service-linked role, which
	// the account's first load balancer or target group creates.
	elbLinkedRole = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/" + elbService + "/AWSServiceRoleForElasticLoadBalancing"
)

// elbService is Elastic Load Balancing's service principal.
const elbService = "elasticloadbalancing.amazonaws.com"

// Condition keys of the grants.
const (
	// iamServiceName: the service whose service-linked role
	// iam:CreateServiceLinkedRole creates.
	iamServiceName = "iam:AWSServiceName"
	// lambdaPrincipal: the principal lambda:AddPermission grants, or the
	// one of the statement lambda:RemovePermission removes.
	lambdaPrincipal = "lambda:Principal"
	// acmValidation: the validation method of acm:RequestCertificate.
	acmValidation = "acm:ValidationMethod"
	// Route 53 ChangeResourceRecordSets: the actions (CREATE, UPSERT,
	// DELETE), record types and record names of the change batch.
	recordActions = "route53:ChangeResourceRecordSetsActions"
	recordTypes   = "route53:ChangeResourceRecordSetsRecordTypes"
	recordNames   = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
)

// elbLinkedRoleGrant lets a step that creates a load balancer or a target
// group create Elastic Load Balancing's service-linked role, which the
// first one in an account does (the service calls
// iam:CreateServiceLinkedRole as the caller); that role only.
var elbLinkedRoleGrant = Grant{Actions: []string{"iam:CreateServiceLinkedRole"}, Resources: []string{elbLinkedRole},
	Equals: map[string]string{iamServiceName: elbService}}

// elbInvokePermission limits lambda:AddPermission and RemovePermission to
// statements for Elastic Load Balancing (the proxy's target groups: one
// statement shared by all of them, proxytarget.SharedStatementID, plus the
// per-load-balancer statements earlier versions made, which are only
// removed): no step may open the proxy function to another principal.
// Lambda has no condition key for the statement id or the SourceArn, so
// lambda:Principal is the narrowest condition there is.
var elbInvokePermission = map[string]string{lambdaPrincipal: proxytarget.ELBPrincipal}

// The record changes each step makes (shared/dns, shared/certificate):
// ensure-dns creates or upserts the wildcard alias A (and AAAA) and its TXT
// ownership record, and deletes an AAAA left from a dualstack ALB;
// ensure-certificate upserts the ACM validation CNAMEs; rollback deletes
// those records.
var (
	ensureDNSChanges = map[string][]string{
		recordActions: {string(r53types.ChangeActionCreate), string(r53types.ChangeActionUpsert), string(r53types.ChangeActionDelete)},
		recordTypes:   {string(r53types.RRTypeA), string(r53types.RRTypeAaaa), string(r53types.RRTypeTxt)},
	}
	validationChanges = map[string][]string{
		recordActions: {string(r53types.ChangeActionUpsert)},
		recordTypes:   {string(r53types.RRTypeCname)},
	}
	rollbackChanges = map[string][]string{
		recordActions: {string(r53types.ChangeActionDelete)},
		recordTypes:   {string(r53types.RRTypeA), string(r53types.RRTypeAaaa), string(r53types.RRTypeTxt), string(r53types.RRTypeCname)},
	}
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
var grantTables = []map[string][]Grant{provisioningGrants, wakeGrants, rulesGrants, sleepGrants, deleteGrants, updateGrants}

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
		elbLinkedRoleGrant,
	},
	"ensure-proxy-target": {
		{Actions: []string{"lambda:GetFunction", "lambda:GetAlias", "lambda:CreateAlias", "lambda:ListVersionsByFunction",
			"lambda:PublishVersion", "lambda:GetPolicy"},
			Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
		{Actions: []string{"lambda:AddPermission", "lambda:RemovePermission"}, Resources: []string{proxyFunction, proxyVersions},
			Equals: elbInvokePermission, Why: whyProxyVersion},
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
		elbLinkedRoleGrant,
	},
	"ensure-certificate": {
		{Actions: []string{"acm:ListCertificates"}, Resources: []string{anyResource}, Why: whyACMList},
		{Actions: []string{"acm:DescribeCertificate", "acm:ListTagsForCertificate"}, Resources: []string{certificates}, Why: whyCertificates},
		{Actions: []string{"acm:RequestCertificate"}, Resources: []string{anyResource}, Tag: RequestTag,
			Equals: map[string]string{acmValidation: "DNS"}, Why: whyRequestCert},
		{Actions: []string{"acm:AddTagsToCertificate"}, Resources: []string{certificates}, Tag: RequestTag, Why: whyCertificates},
		{Actions: []string{"route53:ListResourceRecordSets"}, Resources: []string{hostedZone}, Why: whyZone},
		{Actions: []string{"route53:ChangeResourceRecordSets"}, Resources: []string{hostedZone}, AllOf: validationChanges, Why: whyZone},
	},
	"ensure-listeners": {
		{Actions: []string{"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags"},
			Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:CreateListener"}, Resources: []string{listeners, loadBalancers}, Tag: RequestTag, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:AddTags"}, Resources: []string{listeners}, Tag: RequestTag,
			CreateActions: []string{"CreateListener"}, Why: whyCreated},
		// Before modifying one of autostop's listeners, its configuration is
		// recorded in tags, so the execution's rollback can put it back.
		{Actions: []string{"elasticloadbalancing:ModifyListener"}, Resources: []string{listeners}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:AddTags"}, Resources: []string{listeners}, Tag: ResourceTag,
			TagKeys: listener.PreviousTagKeys(), Why: whyCreated},
	},
	"ensure-dns": {
		{Actions: []string{"route53:ListResourceRecordSets"}, Resources: []string{hostedZone}, Why: whyZone},
		{Actions: []string{"route53:ChangeResourceRecordSets"}, Resources: []string{hostedZone}, AllOf: ensureDNSChanges, Why: whyZone},
		{Actions: []string{"route53:GetChange"}, Resources: []string{dnsChanges}, Why: whyDNSChange},
	},
	"rollback": {
		{Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags",
			"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetGroups",
			// proxytarget.DeleteCreatedBy deregisters what DescribeTargetHealth lists.
			"elasticloadbalancing:DescribeTargetHealth", "ec2:DescribeSecurityGroups"},
			Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:DeleteLoadBalancer"}, Resources: []string{loadBalancers}, Tag: ResourceTag, Why: whyCreated},
		// A listener the execution modified is put back (ModifyListener)
		// and loses the tags that recorded its previous configuration.
		{Actions: []string{"elasticloadbalancing:DeleteListener", "elasticloadbalancing:ModifyListener"},
			Resources: []string{listeners}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:RemoveTags"}, Resources: []string{listeners}, Tag: ResourceTag,
			TagKeys: listener.PreviousTagKeys(), Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:DeleteTargetGroup"},
			Resources: []string{targetGroups}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"ec2:DeleteSecurityGroup"}, Resources: []string{securityGroups}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"lambda:GetPolicy"}, Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
		// The proxy's invoke permission: proxytarget.DeleteCreatedBy removes
		// the load balancer's legacy statement and, when no autostop proxy
		// target group is left, the shared one; AddPermission puts the
		// shared one back when a target group appeared while it was removed
		// (a concurrent execution's). Elastic Load Balancing's only.
		{Actions: []string{"lambda:AddPermission", "lambda:RemovePermission"}, Resources: []string{proxyFunction, proxyVersions},
			Equals: elbInvokePermission, Why: whyProxyVersion},
		{Actions: []string{"acm:ListCertificates"}, Resources: []string{anyResource}, Why: whyACMList},
		{Actions: []string{"acm:ListTagsForCertificate", "acm:DescribeCertificate"}, Resources: []string{certificates}, Why: whyCertificates},
		{Actions: []string{"acm:DeleteCertificate"}, Resources: []string{certificates}, Tag: ResourceTag, Why: whyCertificates},
		{Actions: []string{"route53:ListResourceRecordSets"}, Resources: []string{hostedZone}, Why: whyZone},
		{Actions: []string{"route53:ChangeResourceRecordSets"}, Resources: []string{hostedZone}, AllOf: rollbackChanges, Why: whyZone},
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
