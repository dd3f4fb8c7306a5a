package app

import (
	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/rulestore"
)

// The IDs of the rule workflows' state machines.
const (
	AttachRule = "attach-rule"
	DetachRule = "detach-rule"
)

// rules is the rule lifecycle: the AttachRule and DetachRule workflows,
// their step functions, and the events that start them (the bus "autostop",
// its rule and the starter function).
func rules() App {
	table := rulesTableEnv()

	return App{
		Functions: []Function{
			step("attach-validate", "AttachRule: checks the rule, its load balancer, instances and host before anything is created", 60, table),
			step("attach-ensure-target", "AttachRule: the rule's instance target group, its targets and the instances' autostop:rule tag", 60, nil),
			step("attach-write", "AttachRule: writes the rule's item, state stopped", 30, table),
			{
				// A rule whose instances already run is woken by AttachRule
				// itself (shared/proxymanager.WakeAttached).
				ID: "attach-wake", Description: "AttachRule: wakes a rule whose instances already run, so it is switched at once",
				TimeoutSec: 30, MemoryMB: 128,
				EnvRefs: map[string]Value{rulestore.EnvTableName: {Table: RulesTable}, EnvWakeStateMachineARN: {StateMachine: WakeRule}},
			},
			step("attach-rollback", "AttachRule: deletes what a failed execution created", 120, table),
			step("detach-find", "DetachRule: reads the host's rule item", 30, table),
			step("detach-host-rule", "DetachRule: deletes the rule's host listener rule", 30, nil),
			step("detach-target", "DetachRule: deletes the rule's target group and the instances' autostop:rule tag", 120, nil),
			step("detach-item", "DetachRule: deletes the rule's item", 30, table),
			{
				// A classic EventBridge rule cannot name the executions it
				// starts; this function names them from the event id, so a
				// redelivered event starts nothing twice. (Named when it
				// started ProvisionLoadBalancer; see shared/eventstart.)
				ID: "start-provisioning", Description: "Starts AttachRule (AutoStopping Rule Created) or DetachRule (AutoStopping Rule Deleted) for an event, named from its id",
				TimeoutSec: 30, MemoryMB: 128,
				EnvRefs: map[string]Value{
					eventstart.EnvAttachStateMachineARN: {StateMachine: AttachRule},
					eventstart.EnvDetachStateMachineARN: {StateMachine: DetachRule},
				},
			},
		},
		EventBuses: []EventBus{{
			Name: eventstart.EventBusName,
			Rules: []Rule{{
				ID:             "rule-events",
				Description:    "AutoStopping Rule Created and AutoStopping Rule Deleted events: attach or detach the rule",
				Pattern:        eventstart.EventPattern,
				TargetFunction: "start-provisioning",
			}},
		}},
		StateMachines: []StateMachine{
			{
				ID:      AttachRule,
				ASLFile: "statemachine/attach-rule.asl.json",
				Substitutions: map[string]Value{
					// The nested execution (states:startExecution.sync:2)
					// for events that carry a load balancer spec.
					"ProvisionLoadBalancerArn":    {StateMachine: ProvisionLoadBalancer},
					"ValidateRuleFunctionArn":     {FunctionARN: "attach-validate"},
					"EnsureRuleTargetFunctionArn": {FunctionARN: "attach-ensure-target"},
					"WriteRuleFunctionArn":        {FunctionARN: "attach-write"},
					"WakeRunningRuleFunctionArn":  {FunctionARN: "attach-wake"},
					"RollbackRuleFunctionArn":     {FunctionARN: "attach-rollback"},
				},
			},
			{
				ID:      DetachRule,
				ASLFile: "statemachine/detach-rule.asl.json",
				Substitutions: map[string]Value{
					"FindRuleFunctionArn":         {FunctionARN: "detach-find"},
					"DeleteHostRuleFunctionArn":   {FunctionARN: "detach-host-rule"},
					"DeleteRuleTargetFunctionArn": {FunctionARN: "detach-target"},
					"DeleteRuleItemFunctionArn":   {FunctionARN: "detach-item"},
				},
			},
		},
	}
}
