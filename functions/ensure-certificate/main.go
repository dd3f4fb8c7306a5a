// Command ensure-certificate is the ProvisionLoadBalancer step that attaches
// the user's ACM certificate, or requests a DNS-validated wildcard
// certificate and publishes (Route 53) or reports (other DNS) its validation
// record; it reports the status for the state machine's wait loop.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/certificate"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()

	lambda.Start(steperr.Handler(func(ctx context.Context, in step.Input) (step.CertificateResult, error) {
		l := log.With("execution", in.Execution, "loadBalancer", in.Spec.Name, "region", in.Spec.Region)
		res, err := certificate.Ensure(ctx, certificate.NewClients(cfg, in.Spec.Region), in)
		if err != nil {
			l.Error("ensure certificate", "error", err)

			return res, err
		}
		l.Info("certificate ensured", "arn", res.ARN, "status", res.Status, "requestedByAutostop", res.RequestedByAutostop,
			"validationRecords", res.ValidationRecords, "attempts", res.Attempts, "resources", res.Resources)

		return res, nil
	}))
}
