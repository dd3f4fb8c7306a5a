package main

import (
	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/idlewatch"
	"github.com/autostop/autostop/shared/ownership"
)

// ARN patterns of the sleep's resources.
const (
	sleepMachine  = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + app.NamePrefix + app.SleepRule
	repairMachine = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:" + app.NamePrefix + app.RepairTargets
)

// Reasons for the sleep's wildcard resources.
const (
	whyMetrics      = "cloudwatch:GetMetricData and PutMetricData do not support resource-level permissions; PutMetricData is limited to the Autostop namespace (cloudwatch:namespace)"
	whyStopInstance = "the rule's instances are the customer's, named in the rule at run time; only those carrying the autostop:rule tag (which AttachRule adds) may be stopped"
	whyRuleTargets  = "the rule's target group is created at run time by AttachRule (this account only); the call is limited by the autostop:load-balancer tag condition"
)

// sleepGrants: the idle watcher, the SleepRule workflow and RepairTargets.
// StopInstances is scoped like StartInstances: only instances carrying the
// autostop:rule tag, which AttachRule puts on the rule's instances (an
// instance serves one rule) and DetachRule removes.
var sleepGrants = map[string][]Grant{
	"idle-watch": {
		{Actions: []string{"dynamodb:Scan", "dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"cloudwatch:GetMetricData"}, Resources: []string{anyResource}, Why: whyMetrics},
		{Actions: []string{"cloudwatch:PutMetricData"}, Resources: []string{anyResource}, MetricNamespace: idlewatch.DefaultMetricNamespace, Why: whyMetrics},
		{Actions: []string{"ec2:DescribeInstances", "elasticloadbalancing:DescribeTargetHealth"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"states:StartExecution"}, Resources: []string{wakeMachine, sleepMachine, repairMachine}},
	},
	"sleep-remove-host-rule": {
		{Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"elasticloadbalancing:DeleteRule"}, Resources: []string{listenerRules}, Tag: ResourceTag, Why: whyListenerRules},
	},
	"sleep-stop-instances": {
		{Actions: []string{"dynamodb:GetItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"ec2:DescribeInstances"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"ec2:StopInstances"}, Resources: []string{instances}, Tag: ResourceTag, TagKey: ownership.RuleKey, Why: whyStopInstance},
	},
	"sleep-wait-stopped": {
		{Actions: []string{"dynamodb:GetItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"ec2:DescribeInstances"}, Resources: []string{anyResource}, Why: whyDescribe},
	},
	"sleep-finish": {
		{Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"states:StartExecution"}, Resources: []string{wakeMachine}},
	},
	"sleep-record-failure": {
		{Actions: []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"elasticloadbalancing:DescribeRules"}, Resources: []string{anyResource}, Why: whyDescribe},
		{Actions: []string{"states:StartExecution"}, Resources: []string{wakeMachine}},
	},
	"repair-register-targets": {
		{Actions: []string{"dynamodb:GetItem"}, Resources: []string{rulesTable}},
		{Actions: []string{"elasticloadbalancing:RegisterTargets"}, Resources: []string{targetGroups}, Tag: ResourceTag, Why: whyRuleTargets},
	},
}
