// Command proxy is the proxy-manager function behind the ALB's default rule.
// For now it answers every request with a 404 page naming the host: no
// AutoStopping rule exists yet to start instances for.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/proxypage"
)

func main() {
	lambda.Start(func(_ context.Context, req events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
		return proxypage.NotFound(req), nil
	})
}
