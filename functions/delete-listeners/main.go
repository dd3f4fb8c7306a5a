// Command delete-listeners is DeleteLoadBalancer's DeleteListeners step: puts back the listeners autostop changed and deletes those it created
// (see shared/lbdelete).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/lbdelete"
	"github.com/autostop/autostop/shared/listener"
	"github.com/autostop/autostop/shared/step"
)

func main() {
	cfg, log := awsenv.Setup()
	client := elbv2.NewFromConfig(cfg)
	lambda.Start(lbdelete.Handler(log, "DeleteListeners", func(r lbdelete.Results) *lbdelete.Result { return r.Listeners },
		func(ctx context.Context, in lbdelete.Input) ([]step.Resource, []step.Resource, error) {
			if in.Found.LoadBalancerARN == "" {
				return nil, nil, nil
			}
			return listener.DeleteCreatedBy(ctx, client, in.Found.LoadBalancerARN, in.Request.Name, lbdelete.AnyExecution)
		}))
}
