// Command wake-record-failure is the RecordFailure step of the WakeRule
// workflow (statemachine/wake-rule.asl.json): it puts the rule back to stopped
// with the wake's error, for the proxy to show. The logic is in shared/wake.
//
// Environment: RULES_TABLE_NAME (required).
package main

import "github.com/autostop/autostop/shared/wake"

func main() { wake.Run("RecordFailure", wake.RecordFailure) }
