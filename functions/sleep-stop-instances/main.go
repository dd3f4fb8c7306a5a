// Command sleep-stop-instances is the StopInstances step of the SleepRule
// workflow (statemachine/sleep-rule.asl.json): it stops the rule's running
// instances, or waits while one is pending. The logic is in shared/sleep.
//
// Environment: RULES_TABLE_NAME (required).
package main

import "github.com/autostop/autostop/shared/sleep"

func main() { sleep.Run("StopInstances", sleep.StopInstances) }
