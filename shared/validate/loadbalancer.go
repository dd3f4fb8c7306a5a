package validate

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// checkLoadBalancer checks the ALB name. Without an ARN, the name must be
// free, or the ALB of that name must be autostop's for this name (a re-run,
// or a load balancer provisioned before) and fit the request. With an ARN,
// that ALB must exist, carry the name, be an Application Load Balancer in
// the VPC and fit what the request says of it; what the request leaves out
// (subnets, security groups, scheme, IP address type) is taken from it.
func (v *validation) checkLoadBalancer(ctx context.Context) error {
	if v.s.ARN != "" {
		return v.checkAdoption(ctx)
	}

	out, err := v.c.ELBv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{v.s.Name}}, v.elbv2Region)
	if steperr.HasCode(err, "LoadBalancerNotFound") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe load balancer %s: %w", v.s.Name, err)
	}
	if len(out.LoadBalancers) == 0 {
		return nil
	}
	lb := out.LoadBalancers[0]
	arn := aws.ToString(lb.LoadBalancerArn)

	tags, err := v.loadBalancerTags(ctx, arn)
	if err != nil {
		return err
	}
	if !ownership.OwnedByLoadBalancer(tags, v.s.Name) {
		v.conflictf("name", "a load balancer named %s exists (%s) and autostop did not create it for %s: choose another name, or adopt it with \"arn\": %q",
			v.s.Name, arn, v.s.Name, arn)
		return nil
	}

	// Ours: the ensure step will use it as it is, so it must fit.
	if lb.Type != elbv2types.LoadBalancerTypeEnumApplication {
		v.conflictf("name", "load balancer %s (%s) is of type %s, not application", v.s.Name, arn, lb.Type)
	}
	if string(lb.Scheme) != v.s.Scheme {
		v.conflictf("scheme", "load balancer %s exists (created by autostop) with scheme %s, not %s", v.s.Name, lb.Scheme, v.s.Scheme)
	}
	return v.checkLoadBalancerVPC(ctx, "name", lb, v.conflictf)
}

// checkAdoption checks the ALB the request asks to adopt, and takes the
// settings the request leaves out from it.
func (v *validation) checkAdoption(ctx context.Context) error {
	out, err := v.c.ELBv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{v.s.ARN}}, v.elbv2Region)
	if steperr.HasCode(err, "LoadBalancerNotFound", "ValidationError") || (err == nil && len(out.LoadBalancers) == 0) {
		v.invalidf("arn", "load balancer %s does not exist in %s", v.s.ARN, v.s.Region)
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe load balancer %s: %w", v.s.ARN, err)
	}
	lb := out.LoadBalancers[0]

	if name := aws.ToString(lb.LoadBalancerName); name != v.s.Name {
		v.invalidf("arn", "load balancer %s is named %s, not %s", v.s.ARN, name, v.s.Name)
	}
	if lb.Type != elbv2types.LoadBalancerTypeEnumApplication {
		v.invalidf("arn", "load balancer %s is of type %s: autostop needs an application load balancer", v.s.ARN, lb.Type)
	}
	if lb.State != nil && lb.State.Code == elbv2types.LoadBalancerStateEnumFailed {
		v.invalidf("arn", "load balancer %s is in state failed", v.s.ARN)
	}

	// Settings of an adopted ALB are never changed: what the request says
	// must match, what it leaves out is read from the ALB.
	switch scheme := string(lb.Scheme); {
	case v.given.Scheme != "" && v.given.Scheme != scheme:
		v.invalidf("scheme", "is %s, but load balancer %s has scheme %s (autostop does not change an adopted load balancer)", v.given.Scheme, v.s.ARN, scheme)
	case scheme != "":
		v.s.Scheme = scheme
	}
	ipType := spec.IPv4
	if strings.HasPrefix(string(lb.IpAddressType), spec.DualStack) { // dualstack, dualstack-without-public-ipv4
		ipType = spec.DualStack
	}
	if v.given.IPAddressType != "" && v.given.IPAddressType != ipType {
		v.invalidf("ipAddressType", "is %s, but load balancer %s has IP address type %s", v.given.IPAddressType, v.s.ARN, lb.IpAddressType)
	}
	v.s.IPAddressType = ipType

	var subnets []string
	for _, az := range lb.AvailabilityZones {
		if id := aws.ToString(az.SubnetId); id != "" {
			subnets = append(subnets, id)
		}
	}
	sort.Strings(subnets)
	if len(v.s.SubnetIDs) == 0 {
		v.s.SubnetIDs = subnets
	} else if !sameSet(v.s.SubnetIDs, subnets) {
		v.invalidf("subnetIds", "are %s, but load balancer %s uses %s (autostop does not change an adopted load balancer)",
			strings.Join(v.s.SubnetIDs, ", "), v.s.ARN, strings.Join(subnets, ", "))
	}
	groups := append([]string(nil), lb.SecurityGroups...)
	sort.Strings(groups)
	if len(v.s.SecurityGroupIDs) == 0 {
		if len(groups) > 0 {
			v.s.SecurityGroupIDs = groups
		}
	} else if !sameSet(v.s.SecurityGroupIDs, groups) {
		v.invalidf("securityGroupIds", "are %s, but load balancer %s uses %s (autostop does not change an adopted load balancer)",
			strings.Join(v.s.SecurityGroupIDs, ", "), v.s.ARN, strings.Join(groups, ", "))
	}

	return v.checkLoadBalancerVPC(ctx, "arn", lb, v.invalidf)
}

// checkLoadBalancerVPC checks that lb is in the request's VPC. The ALB's
// VpcId is trusted when it matches; otherwise its subnets decide (an ALB's
// subnets are in its VPC; the local backend reports a made-up VpcId).
func (v *validation) checkLoadBalancerVPC(ctx context.Context, field string, lb elbv2types.LoadBalancer, report func(field, format string, a ...any)) error {
	if aws.ToString(lb.VpcId) == v.s.VPCID {
		return nil
	}
	var ids []string
	for _, az := range lb.AvailabilityZones {
		if id := aws.ToString(az.SubnetId); id != "" {
			ids = append(ids, id)
		}
	}
	vpcs := map[string]bool{}
	if len(ids) > 0 {
		out, err := v.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: ids}, v.ec2Region)
		if err != nil && !steperr.HasCode(err, "InvalidSubnetID.NotFound") {
			return fmt.Errorf("describe subnets of load balancer %s: %w", aws.ToString(lb.LoadBalancerArn), err)
		}
		if out != nil {
			for _, sn := range out.Subnets {
				vpcs[aws.ToString(sn.VpcId)] = true
			}
		}
	}
	if len(vpcs) == 1 && vpcs[v.s.VPCID] {
		return nil
	}

	in := aws.ToString(lb.VpcId)
	if len(vpcs) > 0 {
		in = strings.Join(keys(vpcs), ", ")
	}
	report(field, "load balancer %s is in VPC %s, not in vpcId %s", aws.ToString(lb.LoadBalancerArn), in, v.s.VPCID)
	return nil
}

func (v *validation) loadBalancerTags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := v.c.ELBv2.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}}, v.elbv2Region)
	if err != nil {
		return nil, fmt.Errorf("describe tags of load balancer %s: %w", arn, err)
	}
	tags := map[string]string{}
	for _, d := range out.TagDescriptions {
		for _, t := range d.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}

	return tags, nil
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)

	return slices.Equal(x, y)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)

	return out
}
