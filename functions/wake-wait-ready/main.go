// Command wake-wait-ready is the WaitReady step of the WakeRule workflow
// (statemachine/wake-rule.asl.json): it watches until every instance runs and
// every target of the rule's target group is healthy. The logic is in
// shared/wake.
//
// Environment: RULES_TABLE_NAME (required).
package main

import "github.com/autostop/autostop/shared/wake"

func main() { wake.Run("WaitReady", wake.WaitReady) }
