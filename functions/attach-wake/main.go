// Command attach-wake is the WakeRunningRule step of the AttachRule
// workflow (statemachine/attach-rule.asl.json): a rule whose instances
// already run is woken at once, so it is switched as soon as its targets are
// healthy. The logic is in shared/proxymanager.
//
// Environment: RULES_TABLE_NAME, WAKE_STATE_MACHINE_ARN (both required).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()
	rules, waker, err := proxymanager.WakeFromEnv(cfg)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}

	lambda.Start(steperr.Handler(func(ctx context.Context, in proxymanager.WakeAttachedInput) (proxymanager.WakeAttachedResult, error) {
		out, err := proxymanager.WakeAttached(ctx, rules, waker, in)
		if err != nil {
			log.Error("wake attached rule", "host", in.Host, "error", err.Error())
			return out, err
		}
		log.Info("attached rule", "host", out.Host, "state", out.State, "woken", out.Woken, "wakeExecution", out.WakeExecution)
		return out, nil
	}))
}
