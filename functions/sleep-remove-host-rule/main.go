// Command sleep-remove-host-rule is the RemoveHostRule step of the SleepRule
// workflow (statemachine/sleep-rule.asl.json): it deletes the rule's host
// listener rule, so the host's traffic reaches the proxy before any instance
// stops. The logic is in shared/sleep.
//
// Environment: RULES_TABLE_NAME (required).
package main

import "github.com/autostop/autostop/shared/sleep"

func main() { sleep.Run("RemoveHostRule", sleep.RemoveHostRule) }
