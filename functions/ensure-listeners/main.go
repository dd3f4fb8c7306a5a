// Command ensure-listeners is the EnsureListeners step of the
// ProvisionLoadBalancer workflow: HTTPS 443 with the certificate and HTTP 80
// redirecting to it (or HTTP 80 alone without a certificate), both sending
// traffic to the proxy target group. The logic is in shared/listener.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/listener"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()

	lambda.Start(steperr.Handler(func(ctx context.Context, in step.Input) (step.ListenersResult, error) {
		l := log.With("execution", in.Execution, "loadBalancer", in.Spec.Name)
		client := elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.Region = in.Spec.Region }) // the ALB's region
		out, err := listener.Ensure(ctx, client, in)
		if err != nil {
			l.Error("ensure listeners", "error", err)
			return out, err
		}
		l.Info("listeners ensured", "https", out.HTTPSListenerARN, "http", out.HTTPListenerARN, "resources", out.Resources)
		return out, nil
	}))
}
