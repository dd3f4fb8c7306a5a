// Package loadbalancer ensures the Application Load Balancer an autostop
// load balancer spec asks for: it finds the ALB by name (ours by tag),
// adopts one by ARN when asked, or creates it, with a default security group
// allowing HTTP and HTTPS when the spec names none. Delete functions remove
// only what one execution created or, with an empty execution (the
// DeleteLoadBalancer workflow), what any execution created for the load
// balancer; never an adopted ALB.
//
// The logic depends on narrow interfaces over the SDK clients, so tests use
// fakes and the functions use the real clients.
package loadbalancer

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// ELBv2 is the part of the Elastic Load Balancing v2 API this package uses.
type ELBv2 interface {
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	CreateLoadBalancer(ctx context.Context, in *elbv2.CreateLoadBalancerInput, opts ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error)
	DeleteLoadBalancer(ctx context.Context, in *elbv2.DeleteLoadBalancerInput, opts ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error)
}

// EC2 is the part of the EC2 API this package uses (security groups).
type EC2 interface {
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	CreateSecurityGroup(ctx context.Context, in *ec2.CreateSecurityGroupInput, opts ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error)
	AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, opts ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
	DeleteSecurityGroup(ctx context.Context, in *ec2.DeleteSecurityGroupInput, opts ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
}

// Clients are the AWS clients of one region.
type Clients struct {
	ELBv2 ELBv2
	EC2   EC2
}

// NewClients builds the clients for region (the spec's region: where the
// ALB is installed; "" keeps cfg's region) from cfg.
func NewClients(cfg aws.Config, region string) Clients {
	if region != "" {
		cfg = cfg.Copy()
		cfg.Region = region
	}

	return Clients{ELBv2: elbv2.NewFromConfig(cfg), EC2: ec2.NewFromConfig(cfg)}
}

// Resource kinds this package reports.
const (
	KindLoadBalancer  = "load-balancer"
	KindSecurityGroup = "security-group"
)

// DefaultSecurityGroupName is the name of the security group autostop
// creates for load balancer lb when the spec names none.
func DefaultSecurityGroupName(lb string) string { return "autostop-" + lb }

// tagMap turns key/value pointer pairs into a map.
func tagMap[T any](tags []T, kv func(T) (*string, *string)) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v := kv(t)
		out[aws.ToString(k)] = aws.ToString(v)
	}

	return out
}
