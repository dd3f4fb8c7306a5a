// Command delete-alb is DeleteLoadBalancer's DeleteLoadBalancer step: deletes the ALB autostop created (never an adopted one) and its default security group
// (see shared/lbdelete).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/lbdelete"
	"github.com/autostop/autostop/shared/loadbalancer"
	"github.com/autostop/autostop/shared/step"
)

func main() {
	cfg, log := awsenv.Setup()
	clients := loadbalancer.NewClients(cfg, "")
	lambda.Start(lbdelete.Handler(log, "DeleteLoadBalancer", func(r lbdelete.Results) *lbdelete.Result { return r.LoadBalancer },
		func(ctx context.Context, in lbdelete.Input) ([]step.Resource, []step.Resource, error) {
			return loadbalancer.DeleteCreatedBy(ctx, clients, in.Request.Name, lbdelete.AnyExecution)
		}))
}
