// Command delete-certificates is DeleteLoadBalancer's DeleteCertificates step: deletes the certificates autostop requested for the load balancer and their validation records
// (see shared/lbdelete).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/certificate"
	"github.com/autostop/autostop/shared/lbdelete"
	"github.com/autostop/autostop/shared/step"
)

func main() {
	cfg, log := awsenv.Setup()
	clients := certificate.NewClients(cfg, "")
	lambda.Start(lbdelete.Handler(log, "DeleteCertificates", func(r lbdelete.Results) *lbdelete.Result { return r.Certificates },
		func(ctx context.Context, in lbdelete.Input) ([]step.Resource, []step.Resource, error) {
			return certificate.DeleteCreatedBy(ctx, clients, in.Request.Name, lbdelete.AnyExecution, in.Found.HostedZoneID)
		}))
}
