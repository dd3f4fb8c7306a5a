// Command ensure-load-balancer is the ProvisionLoadBalancer step that finds,
// adopts or creates the Application Load Balancer (and its default security
// group) and reports its state for the state machine's wait loop.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/loadbalancer"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()

	lambda.Start(steperr.Handler(func(ctx context.Context, in step.Input) (step.LoadBalancerResult, error) {
		l := log.With("execution", in.Execution, "loadBalancer", in.Spec.Name, "region", in.Spec.Region)
		res, err := loadbalancer.Ensure(ctx, loadbalancer.NewClients(cfg, in.Spec.Region), in)
		if err != nil {
			l.Error("ensure load balancer", "error", err)

			return res, err
		}
		l.Info("load balancer ensured", "arn", res.ARN, "state", res.State, "adopted", res.Adopted,
			"attempts", res.Attempts, "resources", res.Resources)

		return res, nil
	}))
}
