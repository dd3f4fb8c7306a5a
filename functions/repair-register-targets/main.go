// Command repair-register-targets is the RegisterTargets step of the
// RepairTargets workflow (statemachine/repair-targets.asl.json): it
// registers a running rule's instances that were deregistered outside
// autostop with its target group again. The logic is in shared/targetrepair.
//
// Environment: RULES_TABLE_NAME (required).
package main

import "github.com/autostop/autostop/shared/targetrepair"

func main() { targetrepair.Run("RegisterTargets", targetrepair.RegisterTargets) }
