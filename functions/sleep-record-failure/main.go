// Command sleep-record-failure is the RecordFailure step of the SleepRule
// workflow (statemachine/sleep-rule.asl.json): it records the sleep's error
// on the rule, back to running while its host rule exists and stopped
// otherwise, and wakes a stopped rule a request asked for. The logic is in
// shared/sleep.
//
// Environment: RULES_TABLE_NAME, WAKE_STATE_MACHINE_ARN (both required).
package main

import "github.com/autostop/autostop/shared/sleep"

func main() { sleep.RunWaking("RecordFailure", sleep.RecordFailure) }
