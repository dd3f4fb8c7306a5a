package main

import (
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/listener"
)

// Reasons for the teardown's wildcard resources.
const (
	whyListZones = "route53:ListHostedZonesByName does not support resource-level permissions: the resource must be *; the teardown reads which zone holds the load balancer's records"
)

// The record deletions of the teardown: the wildcard alias records and
// their TXT ownership record, then the validation CNAMEs of the
// certificates it deletes.
var (
	wildcardDeletes = map[string][]string{
		recordActions: {string(r53types.ChangeActionDelete)},
		recordTypes:   {string(r53types.RRTypeA), string(r53types.RRTypeAaaa), string(r53types.RRTypeTxt)},
	}
	validationDeletes = map[string][]string{
		recordActions: {string(r53types.ChangeActionDelete)},
		recordTypes:   {string(r53types.RRTypeCname)},
	}
)

// deleteGrants: the DeleteLoadBalancer workflow. Its finder only reads;
// each deletion step deletes only what carries the load balancer's tag
// (ResourceTag conditions, as the provisioning rollback), and Route 53
// records only where autostop's TXT ownership record says so (checked in
// code: Route 53 has no tags on records).
var deleteGrants = map[string][]Grant{
	"delete-find": {
		{Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags",
			"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTargetGroups", "ec2:DescribeSecurityGroups"},
			Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"acm:ListCertificates"}, Resources: []string{anyResource}, Why: whyACMList},
		{Actions: []string{"acm:ListTagsForCertificate"}, Resources: []string{certificates}, Why: whyCertificates},
		{Actions: []string{"route53:ListHostedZonesByName"}, Resources: []string{anyResource}, Why: whyListZones},
		{Actions: []string{"route53:ListResourceRecordSets"}, Resources: []string{hostedZone}, Why: whyZone},
		{Actions: []string{"dynamodb:Scan"}, Resources: []string{rulesTable}},
	},
	"delete-dns": {
		{Actions: []string{"route53:ListResourceRecordSets"}, Resources: []string{hostedZone}, Why: whyZone},
		{Actions: []string{"route53:ChangeResourceRecordSets"}, Resources: []string{hostedZone}, AllOf: wildcardDeletes, Why: whyZone},
	},
	"delete-listeners": {
		{Actions: []string{"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeTags"},
			Resources: []string{anyResource}, Why: whyDescribe},
		// A listener autostop modified on an adopted ALB is put back and
		// loses the tags that recorded its previous configuration.
		{Actions: []string{"elasticloadbalancing:DeleteListener", "elasticloadbalancing:ModifyListener"},
			Resources: []string{listeners}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:RemoveTags"}, Resources: []string{listeners}, Tag: ResourceTag,
			TagKeys: listener.PreviousTagKeys(), Why: whyCreated},
	},
	"delete-alb": {
		{Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags", "ec2:DescribeSecurityGroups"},
			Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:DeleteLoadBalancer"}, Resources: []string{loadBalancers}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"ec2:DeleteSecurityGroup"}, Resources: []string{securityGroups}, Tag: ResourceTag, Why: whyCreated},
	},
	"delete-certificates": {
		{Actions: []string{"acm:ListCertificates"}, Resources: []string{anyResource}, Why: whyACMList},
		{Actions: []string{"acm:ListTagsForCertificate", "acm:DescribeCertificate"}, Resources: []string{certificates}, Why: whyCertificates},
		{Actions: []string{"acm:DeleteCertificate"}, Resources: []string{certificates}, Tag: ResourceTag, Why: whyCertificates},
		{Actions: []string{"route53:ListResourceRecordSets"}, Resources: []string{hostedZone}, Why: whyZone},
		{Actions: []string{"route53:ChangeResourceRecordSets"}, Resources: []string{hostedZone}, AllOf: validationDeletes, Why: whyZone},
	},
	"delete-target-groups": {
		{Actions: []string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags",
			"elasticloadbalancing:DescribeTargetHealth"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:DeleteTargetGroup"},
			Resources: []string{targetGroups}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"lambda:GetPolicy"}, Resources: []string{proxyFunction, proxyVersions}, Why: whyProxyVersion},
		// The shared invoke permission goes when no autostop proxy target
		// group is left (and comes back if one appeared meanwhile).
		{Actions: []string{"lambda:AddPermission", "lambda:RemovePermission"}, Resources: []string{proxyFunction, proxyVersions},
			Equals: elbInvokePermission, Why: whyProxyVersion},
	},
}
