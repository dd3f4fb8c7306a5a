// Command detach-host-rule is DetachRule's DeleteHostRule step: the rule's
// host listener rule, when autostop's (see shared/ruledetach).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/ruledetach"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()

	lambda.Start(steperr.Handler(func(ctx context.Context, in ruledoc.DetachInput) (ruledoc.Deleted, error) {
		region, host := cfg.Region, ""
		if in.Found != nil && in.Found.Item != nil {
			host = in.Found.Host
			if r := ruledoc.RegionOf(in.Found.Item.ListenerARN); r != "" {
				region = r
			}
		}
		client := elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.Region = region }) // the load balancer's region
		res, err := ruledetach.DeleteHostRule(ctx, client, in)
		l := log.With("execution", in.Execution, "host", host)
		if err != nil {
			l.Error("delete host rule", "error", err.Error())
			return res, err
		}
		l.Info("host rule deleted", "resources", res.Resources)
		return res, nil
	}))
}
