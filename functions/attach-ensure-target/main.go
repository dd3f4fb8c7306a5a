// Command attach-ensure-target is AttachRule's EnsureRuleTarget step: the
// rule's instance target group with its health check, the instances
// registered in it, and the tag autostop:rule=<host> on them (see
// shared/ruletarget).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/ruletarget"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()

	lambda.Start(steperr.Handler(func(ctx context.Context, in ruledoc.AttachInput) (ruledoc.TargetResult, error) {
		l := log.With("execution", in.Execution)
		var region string
		if in.Validated != nil {
			region = in.Validated.LoadBalancer.Region
			l = l.With("host", in.Validated.Rule.Host, "loadBalancer", in.Validated.LoadBalancer.Name)
		}
		res, err := ruletarget.Ensure(ctx, ruletarget.NewClients(cfg, region), in)
		if err != nil {
			l.Error("ensure rule target", "error", err.Error(), "resources", res.Resources)
			return res, err
		}
		l.Info("rule target ensured", "targetGroup", res.TargetGroupARN, "resources", res.Resources)
		return res, nil
	}))
}
