// Command update-move-alias is UpdateProxyCode's MoveAlias step: moves the alias to the new version, conditionally on its revision
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
	lambda.Start(steperr.Logged(log, "MoveAlias", proxyupdate.LogFields, func(ctx context.Context, in proxyupdate.Input) (proxyupdate.Moved, error) {
		return proxyupdate.MoveAlias(ctx, l, in)
	}))
}
