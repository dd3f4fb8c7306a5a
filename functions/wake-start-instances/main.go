// Command wake-start-instances is the StartInstances step of the WakeRule
// workflow (statemachine/wake-rule.asl.json): it starts the rule's stopped
// instances, or waits for stopping ones. The logic is in shared/wake.
//
// Environment: RULES_TABLE_NAME (required).
package main

import "github.com/autostop/autostop/shared/wake"

func main() { wake.Run("StartInstances", wake.StartInstances) }
