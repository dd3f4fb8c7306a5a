package app

import "github.com/autostop/autostop/shared/rulestore"

// The IDs of the sleep half's state machines.
const (
	// SleepRule stops a rule's instances: host rule first, then the
	// instances (statemachine/sleep-rule.asl.json).
	SleepRule = "sleep-rule"
	// RepairTargets registers again a running rule's instances that were
	// deregistered from its target group outside autostop
	// (statemachine/repair-targets.asl.json).
	RepairTargets = "repair-targets"
)

// Environment of the idle watcher and of the sleep's last steps.
const (
	EnvSleepStateMachineARN  = "SLEEP_STATE_MACHINE_ARN"
	EnvRepairStateMachineARN = "REPAIR_STATE_MACHINE_ARN"
	// EnvIdleLagSeconds, EnvIdlePeriodSeconds and EnvIdleUnitSeconds
	// configure shared/idle.Config (Lag, Period, IdleUnit) in seconds.
	EnvIdleLagSeconds    = "IDLE_LAG_SECONDS"
	EnvIdlePeriodSeconds = "IDLE_PERIOD_SECONDS"
	EnvIdleUnitSeconds   = "IDLE_UNIT_SECONDS"
)

// The idle decision's timing on AWS and on the local backend, in seconds.
// Locally a rule's idleMinutes are seconds, the front publishes one
// datapoint a second, and the lag is 2 s: a whole wake → idle → sleep cycle
// takes seconds.
var (
	IdleLag    = Timing(180, 2)
	IdlePeriod = Timing(60, 1)
	IdleUnit   = Timing(60, 1)
)

// LocalScheduleScale is how many times faster the local backend runs the
// app's schedules (kumo's KUMO_EVENTBRIDGE_SCHEDULE_SCALE): the watcher's
// rate(1 minute) fires every second.
const LocalScheduleScale = 60

// Schedule is an EventBridge rule on the default bus that invokes a function
// on a schedule.
type Schedule struct {
	ID          string
	Description string
	// Expression is an EventBridge schedule expression ("rate(1 minute)").
	Expression string
	// TargetFunction is a Function.ID.
	TargetFunction string
}

// Name is the schedule rule's physical name.
func (s Schedule) Name() string { return NamePrefix + s.ID }

// sleep is the runtime's sleep half: the idle watcher on its schedule, the
// SleepRule workflow it starts for idle rules (and for rules whose instances
// were stopped outside), and RepairTargets for deregistered targets.
func sleep() App {
	table := rulesTableEnv()
	// The sleep's last steps wake a rule a request asked for meanwhile.
	tableAndWake := map[string]Value{rulestore.EnvTableName: {Table: RulesTable}, EnvWakeStateMachineARN: {StateMachine: WakeRule}}

	return App{
		Functions: []Function{
			{
				ID: "idle-watch", Description: "Idle watcher: puts idle rules to sleep, repairs rules changed outside autostop, logs dry runs",
				TimeoutSec: 60, MemoryMB: 128,
				// One run at a time: a slow run must not overlap the next.
				LocalConcurrency: 1,
				EnvRefs: map[string]Value{
					rulestore.EnvTableName:   {Table: RulesTable},
					EnvWakeStateMachineARN:   {StateMachine: WakeRule},
					EnvSleepStateMachineARN:  {StateMachine: SleepRule},
					EnvRepairStateMachineARN: {StateMachine: RepairTargets},
					EnvIdleLagSeconds:        IdleLag,
					EnvIdlePeriodSeconds:     IdlePeriod,
					EnvIdleUnitSeconds:       IdleUnit,
				},
			},
			step("sleep-remove-host-rule", "SleepRule: deletes the rule's host listener rule, so traffic reaches the proxy again", 30, table),
			step("sleep-stop-instances", "SleepRule: stops the rule's running instances (never a pending one)", 30, table),
			// Watches up to SleepWatchSeconds (50 s on AWS) per invocation.
			step("sleep-wait-stopped", "SleepRule: waits until the rule's instances are stopped", 65, table),
			step("sleep-finish", "SleepRule: records the rule stopped, and wakes it if a request asked meanwhile", 30, tableAndWake),
			step("sleep-record-failure", "SleepRule: records a failed sleep on the rule, never leaving a host rule to stopped instances", 30, tableAndWake),
			step("repair-register-targets", "RepairTargets: registers the rule's deregistered instances with its target group again", 30, table),
		},
		Schedules: []Schedule{{
			ID:             "idle-watch-schedule",
			Description:    "Runs the idle watcher every minute",
			Expression:     "rate(1 minute)",
			TargetFunction: "idle-watch",
		}},
		StateMachines: []StateMachine{
			{
				ID:      SleepRule,
				ASLFile: "statemachine/sleep-rule.asl.json",
				Substitutions: map[string]Value{
					"SleepRemoveHostRuleFunctionArn": {FunctionARN: "sleep-remove-host-rule"},
					"SleepStopInstancesFunctionArn":  {FunctionARN: "sleep-stop-instances"},
					"SleepWaitStoppedFunctionArn":    {FunctionARN: "sleep-wait-stopped"},
					"SleepFinishFunctionArn":         {FunctionARN: "sleep-finish"},
					"SleepRecordFailureFunctionArn":  {FunctionARN: "sleep-record-failure"},
					// One WaitStopped call watches 50 s (5 s locally),
					// checking every 2 s (100 ms locally).
					"SleepWatchSeconds": Timing(50, 5),
					"SleepPollMillis":   Timing(2000, 100),
					// Instances stop within minutes; a sleep fails after 10
					// (20 s locally).
					"SleepTimeoutSeconds": Timing(600, 20),
					// A pending instance cannot be stopped: try again every
					// 15 s for 10 minutes (every second for 20 s locally).
					"SleepPendingWaitSeconds": Timing(15, 1),
					"SleepPendingMaxAttempts": Timing(40, 20),
				},
			},
			{
				ID:      RepairTargets,
				ASLFile: "statemachine/repair-targets.asl.json",
				Substitutions: map[string]Value{
					"RepairRegisterTargetsFunctionArn": {FunctionARN: "repair-register-targets"},
				},
			},
		},
	}
}
