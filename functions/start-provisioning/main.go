// Command start-provisioning is the target of the EventBridge rule on the
// bus "autostop": it starts AttachRule for an "AutoStopping Rule Created"
// event and DetachRule for an "AutoStopping Rule Deleted" event, each
// execution named after the event id (see shared/eventstart), so a
// redelivered event starts nothing. (It keeps the name it had when it only
// started ProvisionLoadBalancer.)
//
// Environment: ATTACH_RULE_STATE_MACHINE_ARN and
// DETACH_RULE_STATE_MACHINE_ARN (both required).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	awsCfg, log := awsenv.Setup()
	cfg, err := eventstart.ConfigFromEnv()
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	client := eventstart.NewClient(awsCfg, cfg)

	lambda.Start(steperr.Handler(func(ctx context.Context, ev events.EventBridgeEvent) (eventstart.Result, error) {
		res, err := eventstart.Start(ctx, client, cfg, ev)
		l := log.With("event", ev.ID, "detailType", ev.DetailType, "execution", res.ExecutionName, "rule", res.Rule, "host", res.Host, "loadBalancer", res.LoadBalancer)
		if err != nil {
			l.Error("start failed", "error", err.Error())
			return res, err
		}
		l.Info("event handled", "stateMachine", res.StateMachineARN, "executionArn", res.ExecutionARN, "started", res.Started, "status", res.Status)
		return res, nil
	}))
}
