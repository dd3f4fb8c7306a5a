package localalb

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// ELBv2 is the part of the Elastic Load Balancing v2 client the front reads
// the load balancer's configuration with. It never changes anything.
type ELBv2 interface {
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeTargetGroupAttributes(ctx context.Context, in *elbv2.DescribeTargetGroupAttributesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// Lambda is the part of the Lambda client the front invokes Lambda targets
// with.
type Lambda interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// EC2 is the part of the EC2 client the front finds instance targets'
// addresses with.
type EC2 interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// Clients are the AWS clients of the load balancer's region.
type Clients struct {
	ELBv2  ELBv2
	Lambda Lambda
	EC2    EC2
}

// NewClients builds the clients from cfg (the local backend's configuration,
// for example localaws.Backend.AWSConfig).
func NewClients(cfg aws.Config) Clients {
	return Clients{
		ELBv2:  elbv2.NewFromConfig(cfg),
		Lambda: lambda.NewFromConfig(cfg),
		EC2:    ec2.NewFromConfig(cfg),
	}
}
