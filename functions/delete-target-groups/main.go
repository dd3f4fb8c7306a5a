// Command delete-target-groups is DeleteLoadBalancer's DeleteTargetGroups step: deletes the rules' leftover target groups, the proxy target group and, when unused, the invoke permission
// (see shared/lbdelete).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/lbdelete"
	"github.com/autostop/autostop/shared/proxytarget"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/targetgroup"
)

func main() {
	cfg, log := awsenv.Setup()
	client, clients, proxy := elbv2.NewFromConfig(cfg), proxytarget.NewClients(cfg, ""), proxytarget.ConfigFromEnv()
	lambda.Start(lbdelete.Handler(log, "DeleteTargetGroups", func(r lbdelete.Results) *lbdelete.Result { return r.TargetGroups },
		func(ctx context.Context, in lbdelete.Input) ([]step.Resource, []step.Resource, error) {
			deleted, left, err := targetgroup.DeleteOwnedBy(ctx, client, in.Request.Name)
			if err != nil {
				return deleted, left, err
			}
			d, l, err := proxytarget.DeleteCreatedBy(ctx, clients, proxy, in.Request.Name, lbdelete.AnyExecution)
			return append(deleted, d...), append(left, l...), err
		}))
}
