// Command validate is the first step of the ProvisionLoadBalancer workflow:
// it checks the request with read-only calls before anything is created and
// returns the step input with the request normalized (see shared/validate).
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/validate"
)

func main() {
	cfg, log := awsenv.Setup() // AWS_REGION is the default region of a request
	clients := validate.NewClients(cfg)

	lambda.Start(steperr.Handler(func(ctx context.Context, raw json.RawMessage) (step.Input, error) {
		in, err := validate.DecodeInput(raw)
		if err == nil {
			in, err = validate.Validate(ctx, clients, in, cfg.Region)
		}
		if err != nil {
			log.Error("request rejected", "execution", in.Execution, "error", err.Error())
			return step.Input{}, err
		}
		log.Info("request valid", "execution", in.Execution, "loadBalancer", in.Spec.Name, "region", in.Spec.Region,
			"domain", in.Spec.Domain, "subnets", in.Spec.SubnetIDs)
		return in, nil
	}))
}
