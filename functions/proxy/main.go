// Command proxy is the proxy-manager function behind every autostop load
// balancer's default rule: it answers requests for hosts whose rule does not
// forward to instances right now — 404 for unknown hosts, a wake and the
// progress page or a held request for stopped ones (shared/proxymanager).
//
// Environment: RULES_TABLE_NAME, WAKE_STATE_MACHINE_ARN (both required).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/proxymanager"
)

func main() {
	cfg, log := awsenv.Setup()
	m, err := proxymanager.FromEnv(cfg, log)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}

	lambda.Start(func(ctx context.Context, req events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
		return m.Handle(ctx, req), nil
	})
}
