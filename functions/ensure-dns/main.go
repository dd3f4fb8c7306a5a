// Command ensure-dns is the ProvisionLoadBalancer step that points
// "*.<domain>" at the ALB: a Route 53 alias record beside a TXT ownership
// record (reporting the change status for the state machine's wait loop), or
// the CNAME the user must add at another DNS provider.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()
	clients := dns.NewClients(cfg)

	lambda.Start(steperr.Handler(func(ctx context.Context, in step.Input) (step.DNSResult, error) {
		l := log.With("execution", in.Execution, "loadBalancer", in.Spec.Name, "domain", in.Spec.Domain)
		res, err := dns.Ensure(ctx, clients, in)
		if err != nil {
			l.Error("ensure DNS", "error", err)

			return res, err
		}
		l.Info("DNS ensured", "wildcard", res.Wildcard, "changeId", res.ChangeID, "changeStatus", res.ChangeStatus,
			"records", res.Records, "recordsToAdd", res.RecordsToAdd, "attempts", res.Attempts, "resources", res.Resources)

		return res, nil
	}))
}
