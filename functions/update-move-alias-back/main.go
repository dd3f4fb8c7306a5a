// Command update-move-alias-back is UpdateProxyCode's MoveAliasBack step: puts the alias back on the version it had
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
	lambda.Start(steperr.Logged(log, "MoveAliasBack", proxyupdate.LogFields, func(ctx context.Context, in proxyupdate.Input) (proxyupdate.Moved, error) {
		return proxyupdate.MoveAliasBack(ctx, l, in)
	}))
}
