package main

import (
	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/ownership"
)

// ARN patterns of the wake's resources.
const (
	rulesTable    = "${RulesTable}"
	instances     = "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*"
	listenerRules = "arn:${AWS::Partition}:elasticloadbalancing:*:${AWS::AccountId}:listener-rule/app/*/*/*/*"
	wakeMachine   = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + app.NamePrefix + app.WakeRule
)

// Reasons for the wake's wildcard resources.
const (
	whyInstances     = "the rule's instances are the customer's, named in the rule at run time; only those carrying the autostop:rule tag (which AttachRule adds) may be started"
	whyListenerRules = "host listener rules are created at run time on the rule's load balancer (this account only); the call is limited by the autostop:load-balancer tag condition"
)

// wakeGrants: the proxy-manager function, the WakeRule workflow, and the
// AttachRule step that wakes a rule whose instances already run.
var wakeGrants = map[string][]Grant{
	"proxy": {
		{Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"states:StartExecution"}, Resources: []string{wakeMachine}},
	},
	"wake-start-instances": {
		{Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"ec2:DescribeInstances"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"ec2:StartInstances"}, Resources: []string{instances}, Tag: ResourceTag, TagKey: ownership.RuleKey, Why: whyInstances},
	},
	"wake-wait-ready": {
		{Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"ec2:DescribeInstances", "elasticloadbalancing:DescribeTargetHealth"}, Resources: []string{anyResource}, Why: whyDescribe},
	},
	"wake-switch-traffic": {
		{Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"},
			Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:CreateRule"}, Resources: []string{listeners, listenerRules}, Tag: RequestTag, Why: whyListenerRules},
		{Actions: []string{"elasticloadbalancing:AddTags"}, Resources: []string{listenerRules}, Tag: RequestTag,
			CreateActions: []string{"CreateRule"}, Why: whyListenerRules},
		// ModifyRule: a host rule left forwarding to an earlier target group
		// of the host; DeleteRule: the host rule of a wake superseded after
		// adding it.
		{Actions: []string{"elasticloadbalancing:ModifyRule", "elasticloadbalancing:DeleteRule"}, Resources: []string{listenerRules}, Tag: ResourceTag, Why: whyListenerRules},
	},
	"attach-wake": {
		{Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"states:StartExecution"}, Resources: []string{wakeMachine}},
	},
	"wake-record-failure": {
		{Actions: []string{"dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
	},
}
