package main

import (
	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/ownership"
)

// ARN patterns of the rule workflows (rulesTable, instances and
// listenerRules are the wake's, in permissions_wake.go).
const (
	attachMachine = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + app.NamePrefix + app.AttachRule
	attachRuns    = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:" + app.NamePrefix + app.AttachRule + ":*"
	detachMachine = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + app.NamePrefix + app.DetachRule
	detachRuns    = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:" + app.NamePrefix + app.DetachRule + ":*"
)

// Reasons for the rule workflows' wildcard resources.
const (
	whyRuleRuns     = "executions of autostop-attach-rule and autostop-detach-rule are named at run time from the event id"
	whyTagInstances = "the rule's instances are the customer's, named in the rule at run time; the only tag autostop may set or remove on them is autostop:rule (aws:TagKeys), and it removes it only where it is set"
)

// ruleTagOnly limits a tagging action to the autostop:rule tag.
var ruleTagOnly = []string{ownership.RuleKey}

// rulesGrants: the AttachRule and DetachRule workflows and the event
// starter. Target groups are created with the autostop:load-balancer tag in
// the create call and changed or deleted only when they carry it; the
// instances (the customer's) may only get or lose the autostop:rule tag.
var rulesGrants = map[string][]Grant{
	"attach-validate": {
		{Actions: []string{"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners",
			"elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetGroups",
			"ec2:DescribeSubnets", "ec2:DescribeInstances"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"dynamodb:GetItem"}, Resources: []string{rulesTable}},
	},
	"attach-ensure-target": {
		{Actions: []string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags",
			"elasticloadbalancing:DescribeTargetHealth", "ec2:DescribeInstances"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:CreateTargetGroup"}, Resources: []string{targetGroups}, Tag: RequestTag, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:AddTags"}, Resources: []string{targetGroups}, Tag: RequestTag,
			CreateActions: []string{"CreateTargetGroup"}, Why: whyCreated},
		{Actions: []string{"elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"},
			Resources: []string{targetGroups}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"ec2:CreateTags"}, Resources: []string{instances}, Tag: RequestTag, TagKey: ownership.RuleKey,
			TagKeys: ruleTagOnly, Why: whyTagInstances},
		elbLinkedRoleGrant,
	},
	"attach-write": {
		// Create reads the item holding the host when the write is refused.
		{Actions: []string{"dynamodb:PutItem", "dynamodb:GetItem"}, Resources: []string{rulesTable}},
	},
	"attach-rollback": {
		{Actions: []string{"dynamodb:DeleteItem", "dynamodb:GetItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags",
			"elasticloadbalancing:DescribeTargetHealth", "ec2:DescribeInstances"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:DeleteTargetGroup"},
			Resources: []string{targetGroups}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"ec2:DeleteTags"}, Resources: []string{instances}, Tag: ResourceTag, TagKey: ownership.RuleKey,
			TagKeys: ruleTagOnly, Why: whyTagInstances},
	},
	"detach-find": {
		// UpdateItem: the rule is marked detaching before anything is removed.
		{Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
	},
	"detach-host-rule": {
		{Actions: []string{"elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:DeleteRule"}, Resources: []string{listenerRules}, Tag: ResourceTag, Why: whyListenerRules},
	},
	"detach-target": {
		{Actions: []string{"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTags",
			"elasticloadbalancing:DescribeTargetHealth", "ec2:DescribeInstances"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:DeleteTargetGroup"},
			Resources: []string{targetGroups}, Tag: ResourceTag, Why: whyCreated},
		{Actions: []string{"ec2:DeleteTags"}, Resources: []string{instances}, Tag: ResourceTag, TagKey: ownership.RuleKey,
			TagKeys: ruleTagOnly, Why: whyTagInstances},
	},
	"detach-item": {
		// Delete reads the item holding the host when the delete is refused.
		{Actions: []string{"dynamodb:DeleteItem", "dynamodb:GetItem"}, Resources: []string{rulesTable}},
	},
	"start-provisioning": {
		{Actions: []string{"states:StartExecution"}, Resources: []string{attachMachine, detachMachine}},
		{Actions: []string{"states:DescribeExecution"}, Resources: []string{attachRuns, detachRuns}, Why: whyRuleRuns},
	},
}
