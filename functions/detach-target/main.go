// Command detach-target is DetachRule's DeleteRuleTarget step: the rule's
// target group and targets, and the autostop:rule tag of its instances (see
// shared/ruletarget). The instances are never started, stopped or
// terminated.
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

	lambda.Start(steperr.Handler(func(ctx context.Context, in ruledoc.DetachInput) (ruledoc.Deleted, error) {
		region, host := cfg.Region, ""
		if in.Found != nil && in.Found.Item != nil {
			host = in.Found.Host
			if r := ruledoc.RegionOf(in.Found.Item.LoadBalancerARN); r != "" {
				region = r
			}
		}
		res, err := ruletarget.Detach(ctx, ruletarget.NewClients(cfg, region), ruletarget.Config{}, in)
		l := log.With("execution", in.Execution, "host", host)
		if err != nil {
			l.Error("delete rule target", "error", err.Error(), "resources", res.Resources)
			return res, err
		}
		l.Info("rule target deleted", "resources", res.Resources)
		return res, nil
	}))
}
