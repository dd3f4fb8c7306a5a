// Command delete-dns is DeleteLoadBalancer's DeleteDNS step: deletes the "*.<domain>" records whose TXT ownership record is the load balancer's
// (see shared/lbdelete).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/lbdelete"
	"github.com/autostop/autostop/shared/step"
)

func main() {
	cfg, log := awsenv.Setup()
	clients := dns.NewClients(cfg)
	lambda.Start(lbdelete.Handler(log, "DeleteDNS", func(r lbdelete.Results) *lbdelete.Result { return r.DNS },
		func(ctx context.Context, in lbdelete.Input) ([]step.Resource, []step.Resource, error) {
			return dns.DeleteCreatedBy(ctx, clients, in.Request.Name, lbdelete.AnyExecution, in.Found.HostedZoneID, in.Found.Domain)
		}))
}
