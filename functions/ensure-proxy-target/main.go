// Command ensure-proxy-target is the ProvisionLoadBalancer step that makes
// the proxy-manager function's alias "live" the target of the load
// balancer's proxy target group (see shared/proxytarget).
//
// Environment: PROXY_FUNCTION_NAME (default "autostop-proxy").
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/proxytarget"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	awsCfg, log := awsenv.Setup()
	cfg := proxytarget.ConfigFromEnv()

	lambda.Start(steperr.Handler(func(ctx context.Context, in step.Input) (step.ProxyTargetResult, error) {
		l := log.With("execution", in.Execution, "loadBalancer", in.Spec.Name, "region", in.Spec.Region, "function", cfg.FunctionName)
		res, err := proxytarget.Ensure(ctx, proxytarget.NewClients(awsCfg, in.Spec.Region), cfg, in)
		if err != nil {
			l.Error("ensure proxy target failed", "error", err.Error(), "resources", res.Resources)
			return res, err
		}
		l.Info("proxy target ensured", "targetGroup", res.TargetGroupARN, "alias", res.AliasARN, "version", res.Version, "resources", res.Resources)
		return res, nil
	}))
}
