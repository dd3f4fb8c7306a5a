package app

import "github.com/autostop/autostop/shared/rulestore"

// WakeRule is the ID of the wake state machine.
const WakeRule = "wake-rule"

// Environment of the proxy function.
const (
	// EnvWakeStateMachineARN names the WakeRule state machine the proxy
	// starts.
	EnvWakeStateMachineARN = "WAKE_STATE_MACHINE_ARN"
)

// wake is the runtime's wake half: the proxy-manager function behind every
// load balancer's default rule, and the WakeRule workflow it starts.
func wake() App {
	table := rulesTableEnv()

	return App{
		Functions: []Function{
			{
				// Requests are held up to a rule's holdSeconds (at most 50 s).
				ID: "proxy", Description: "Proxy manager behind the ALB's default rule: wakes stopped rules, shows the progress page, holds API requests",
				TimeoutSec: 60, MemoryMB: 128,
				// A held request occupies an execution environment for up to
				// its hold time; locally, enough processes for a burst to be
				// held up to a rule's default cap while others are answered.
				LocalConcurrency: 60,
				EnvRefs: map[string]Value{
					rulestore.EnvTableName: {Table: RulesTable},
					EnvWakeStateMachineARN: {StateMachine: WakeRule},
				},
			},
			step("wake-start-instances", "WakeRule: starts the rule's stopped instances", 30, table),
			// Watches up to WakeWatchSeconds (50 s on AWS) per invocation.
			step("wake-wait-ready", "WakeRule: waits until the rule's instances run and its targets are healthy", 65, table),
			step("wake-switch-traffic", "WakeRule: adds the host listener rule and records the rule running", 30, table),
			step("wake-record-failure", "WakeRule: records a failed wake on the rule", 30, table),
		},
		StateMachines: []StateMachine{{
			ID:      WakeRule,
			ASLFile: "statemachine/wake-rule.asl.json",
			Substitutions: map[string]Value{
				"WakeStartInstancesFunctionArn": {FunctionARN: "wake-start-instances"},
				"WakeWaitReadyFunctionArn":      {FunctionARN: "wake-wait-ready"},
				"WakeSwitchTrafficFunctionArn":  {FunctionARN: "wake-switch-traffic"},
				"WakeRecordFailureFunctionArn":  {FunctionARN: "wake-record-failure"},
				// One WaitReady call watches 50 s (5 s locally), checking
				// every second (100 ms locally): "healthy" is noticed within
				// a check, with a few transitions per wake.
				"WakeWatchSeconds": Timing(50, 5),
				"WakePollMillis":   Timing(1000, 100),
				// An instance boots and passes its health checks in 1–3
				// minutes; a wake fails after 10 (20 s locally).
				"WakeTimeoutSeconds": Timing(600, 20),
				// Instances still stopping: retry the start every 15 s for
				// 10 minutes (every second for 20 s locally).
				"WakeStoppingWaitSeconds": Timing(15, 1),
				"WakeStoppingMaxAttempts": Timing(40, 20),
			},
		}},
	}
}
