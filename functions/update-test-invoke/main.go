// Command update-test-invoke is UpdateProxyCode's TestInvoke step: invokes the new version with a sample ALB event and checks its answer
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
	lambda.Start(steperr.Logged(log, "TestInvoke", proxyupdate.LogFields, func(ctx context.Context, in proxyupdate.Input) (proxyupdate.Checked, error) {
		return proxyupdate.TestInvoke(ctx, l, in)
	}))
}
