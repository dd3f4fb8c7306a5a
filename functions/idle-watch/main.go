// Command idle-watch is the idle watcher, run every minute by EventBridge
// (every second on the local backend): it puts idle rules to sleep, logs
// and counts dry runs, and reconciles rules whose instances or targets were
// changed outside autostop. The logic is in shared/idlewatch.
//
// Environment: RULES_TABLE_NAME, WAKE_STATE_MACHINE_ARN,
// SLEEP_STATE_MACHINE_ARN, REPAIR_STATE_MACHINE_ARN (required);
// IDLE_LAG_SECONDS, IDLE_PERIOD_SECONDS, IDLE_UNIT_SECONDS (optional).
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/idlewatch"
)

func main() {
	cfg, log := awsenv.Setup()
	w, err := idlewatch.FromEnv(cfg, log)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}

	lambda.Start(w.Handle)
}
