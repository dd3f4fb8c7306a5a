// Command rollback is the ProvisionLoadBalancer workflow's rollback step: it
// deletes what the failed execution created, in reverse dependency order, and
// fails with RollbackIncomplete, listing what is left, when it cannot.
package main

import (
	"context"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/proxytarget"
	"github.com/autostop/autostop/shared/rollback"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()
	deleters := rollback.AWSDeleters(cfg, proxytarget.ConfigFromEnv())

	lambda.Start(steperr.Handler(func(ctx context.Context, in step.Input) (step.RollbackResult, error) {
		log.Info("rollback", "execution", in.Execution, "loadBalancer", in.Spec.Name, "error", in.Error)
		res, err := rollback.RunGuarded(ctx, in, sfn.NewFromConfig(cfg), deleters)
		log.Info("rollback done", "execution", in.Execution, "deleted", len(res.Deleted), "left", len(res.Left), "keptFor", res.KeptFor, "error", err)

		return res, err
	}))
}
