package sleep

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/proxymanager"
)

// NewDeps builds the steps' clients from a function's SDK configuration:
// EC2 and Elastic Load Balancing in the rule's region, beside the rules
// table and, for the steps that may wake the rule, the WakeRule starter
// (nil for the others).
func NewDeps(cfg aws.Config, rules Rules, waker proxymanager.Waker) Deps {
	return Deps{
		Rules: rules,
		EC2: func(region string) EC2 {
			return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region })
		},
		ELBv2: func(region string) ELBv2 {
			return elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.Region = region })
		},
		Waker: waker,
	}
}
