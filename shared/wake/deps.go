package wake

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/rulestore"
)

// NewDeps builds the steps' clients from a function's SDK configuration:
// the rules table in the function's region, EC2 and Elastic Load Balancing
// in the rule's.
func NewDeps(cfg aws.Config, table string) Deps {
	return Deps{
		Rules: rulestore.New(dynamodb.NewFromConfig(cfg), table),
		EC2: func(region string) EC2 {
			return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region })
		},
		ELBv2: func(region string) ELBv2 {
			return elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.Region = region })
		},
	}
}
