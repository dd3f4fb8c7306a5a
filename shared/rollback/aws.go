package rollback

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/certificate"
	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/listener"
	"github.com/autostop/autostop/shared/loadbalancer"
	"github.com/autostop/autostop/shared/proxytarget"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
)

// AWSDeleters returns the deleters of every step, in reverse dependency
// order: DNS records → listeners → ALB and its security group → proxy
// target group and invoke permission → certificate (and its validation
// records). cfg reaches AWS; each deleter uses the request's region. Each
// refuses an input without an execution, as Run does, before reaching
// AWS: the packages' delete functions take an empty execution for the
// whole load balancer.
func AWSDeleters(cfg aws.Config, proxy proxytarget.Config) []Deleter {
	deleters := awsDeleters(cfg, proxy)
	for i := range deleters {
		del := deleters[i].Delete
		deleters[i].Delete = func(ctx context.Context, in step.Input) ([]step.Resource, []step.Resource, error) {
			if err := requireExecution(in); err != nil {
				return nil, nil, err
			}
			return del(ctx, in)
		}
	}

	return deleters
}

func awsDeleters(cfg aws.Config, proxy proxytarget.Config) []Deleter {
	return []Deleter{
		{Name: "dns records", Delete: func(ctx context.Context, in step.Input) ([]step.Resource, []step.Resource, error) {
			if in.Spec.DNS.Provider != spec.ProviderRoute53 {
				return nil, nil, nil
			}
			return dns.DeleteCreatedBy(ctx, dns.NewClients(cfg), in.Spec.Name, in.Execution, in.Spec.DNS.HostedZoneID, in.Spec.Domain)
		}},
		{Name: "listeners", Delete: func(ctx context.Context, in step.Input) ([]step.Resource, []step.Resource, error) {
			client := elbv2.NewFromConfig(cfg, regionOf(in))
			lbARN, err := loadBalancerARN(ctx, client, in)
			if err != nil || lbARN == "" {
				return nil, nil, err
			}
			return listener.DeleteCreatedBy(ctx, client, lbARN, in.Spec.Name, in.Execution)
		}},
		{Name: "load balancer", Delete: func(ctx context.Context, in step.Input) ([]step.Resource, []step.Resource, error) {
			return loadbalancer.DeleteCreatedBy(ctx, loadbalancer.NewClients(cfg, in.Spec.Region), in.Spec.Name, in.Execution)
		}},
		{Name: "proxy target", Delete: func(ctx context.Context, in step.Input) ([]step.Resource, []step.Resource, error) {
			return proxytarget.DeleteCreatedBy(ctx, proxytarget.NewClients(cfg, in.Spec.Region), proxy, in.Spec.Name, in.Execution)
		}},
		{Name: "certificate", Delete: func(ctx context.Context, in step.Input) ([]step.Resource, []step.Resource, error) {
			zone := ""
			if in.Spec.DNS.Provider == spec.ProviderRoute53 {
				zone = in.Spec.DNS.HostedZoneID
			}
			return certificate.DeleteCreatedBy(ctx, certificate.NewClients(cfg, in.Spec.Region), in.Spec.Name, in.Execution, zone)
		}},
	}
}

func regionOf(in step.Input) func(*elbv2.Options) {
	return func(o *elbv2.Options) {
		if in.Spec.Region != "" {
			o.Region = in.Spec.Region
		}
	}
}

// loadBalancerARN is the ALB the execution worked on: from its result, or
// looked up by name when the step failed before returning one. "" when there
// is none.
func loadBalancerARN(ctx context.Context, client *elbv2.Client, in step.Input) (string, error) {
	if lb := in.Results.LoadBalancer; lb != nil && lb.ARN != "" {
		return lb.ARN, nil
	}
	if in.Spec.Name == "" {
		return "", nil
	}

	out, err := client.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{in.Spec.Name}})
	var notFound *elbv2types.LoadBalancerNotFoundException
	switch {
	case errors.As(err, &notFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("find load balancer %s: %w", in.Spec.Name, err)
	case len(out.LoadBalancers) == 0:
		return "", nil
	}

	return aws.ToString(out.LoadBalancers[0].LoadBalancerArn), nil
}
