// Command delete-find is DeleteLoadBalancer's FindLoadBalancer step (and
// its ListLeft step after a failure): what autostop has for the load
// balancer, read-only (see shared/lbdelete.Find).
//
// Environment: RULES_TABLE_NAME (required).
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/autostop/autostop/shared/awsenv"
	"github.com/autostop/autostop/shared/lbdelete"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

func main() {
	cfg, log := awsenv.Setup()
	store, err := rulestore.FromEnv(cfg)
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(1)
	}
	c := lbdelete.FindClients{ELBv2: elbv2.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg), ACM: acm.NewFromConfig(cfg),
		Route53: route53.NewFromConfig(cfg), Rules: store}

	lambda.Start(steperr.Logged(log, "FindLoadBalancer", func(in lbdelete.Input) []any {
		return []any{"execution", in.Execution, "loadBalancer", in.Request.Name}
	}, func(ctx context.Context, in lbdelete.Input) (lbdelete.Found, error) {
		return lbdelete.Find(ctx, c, in)
	}))
}
