// Command sleep-wait-stopped is the WaitStopped step of the SleepRule
// workflow (statemachine/sleep-rule.asl.json): it watches until every
// instance of the rule is stopped (or terminated). The logic is in
// shared/sleep.
//
// Environment: RULES_TABLE_NAME (required).
package main

import "github.com/autostop/autostop/shared/sleep"

func main() { sleep.Run("WaitStopped", sleep.WaitStopped) }
