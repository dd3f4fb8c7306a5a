// Command update-locate is UpdateProxyCode's LocateProxy step: finds the load balancer's listener, proxy target group and the function alias it targets; read-only
// (see shared/proxyupdate).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/proxyupdate"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()
	e := elbv2.NewFromConfig(cfg)
	l := awslambda.NewFromConfig(cfg)
	lambda.Start(steperr.Logged(log, "LocateProxy", proxyupdate.LogFields, func(ctx context.Context, in proxyupdate.Input) (proxyupdate.Located, error) {
		return proxyupdate.Locate(ctx, e, l, in)
	}))
}
