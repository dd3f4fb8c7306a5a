// Command start-provisioning is the target of the EventBridge rule for
// "AutoStopping Rule Created" events on the bus "autostop": it starts the
// ProvisionLoadBalancer execution named after the event id (see
// shared/eventstart), so a redelivered event starts nothing.
//
// Environment: PROVISION_STATE_MACHINE_ARN (required).
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
		l := log.With("event", ev.ID, "execution", res.ExecutionName, "rule", res.Rule, "loadBalancer", res.LoadBalancer)
		if err != nil {
			l.Error("start provisioning failed", "error", err.Error())
			return res, err
		}
		l.Info("event handled", "executionArn", res.ExecutionARN, "started", res.Started, "status", res.Status, "skipped", res.Skipped, "reason", res.Reason)
		return res, nil
	}))
}
