// Command sleep-finish is the Finish step of the SleepRule workflow
// (statemachine/sleep-rule.asl.json): it records the rule stopped (broken
// when an instance was terminated outside autostop), and wakes it when a
// request asked for it meanwhile. The logic is in shared/sleep.
//
// Environment: RULES_TABLE_NAME, WAKE_STATE_MACHINE_ARN (both required).
package main

import "github.com/autostop/autostop/shared/sleep"

func main() { sleep.RunWaking("Finish", sleep.Finish) }
