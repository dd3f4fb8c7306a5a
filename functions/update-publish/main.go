// Command update-publish is UpdateProxyCode's PublishVersion step: publishes a version of $LATEST when it holds the uploaded code
// (see shared/proxyupdate).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/proxyupdate"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()
	l := awslambda.NewFromConfig(cfg)
	lambda.Start(steperr.Logged(log, "PublishVersion", proxyupdate.LogFields, func(ctx context.Context, in proxyupdate.Input) (proxyupdate.Published, error) {
		return proxyupdate.Publish(ctx, l, in)
	}))
}
