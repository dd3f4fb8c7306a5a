// Command wake-switch-traffic is the SwitchTraffic step of the WakeRule
// workflow (statemachine/wake-rule.asl.json): it adds the host listener rule
// sending the host to the instances and records the rule running. The logic is
// in shared/wake.
//
// Environment: RULES_TABLE_NAME (required).
package main

import "github.com/autostop/autostop/shared/wake"

func main() { wake.Run("SwitchTraffic", wake.SwitchTraffic) }
