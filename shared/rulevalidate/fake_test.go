package rulevalidate

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

const (
	region    = "us-east-1"
	lbName    = "autostop-demo"
	domain    = "autostop.example.test"
	vpc       = "vpc-0000000000000aaaa"
	otherVPC  = "vpc-0000000000000bbbb"
	subnetA   = "subnet-000000000000000a1"
	subnetB   = "subnet-000000000000000b1"
	lbARN     = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/autostop-demo/1"
	httpsARN  = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/autostop-demo/1/443"
	httpARN   = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/autostop-demo/1/80"
	proxyARN  = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/autostop-demo-proxy/1"
	i1, i2    = "i-0000000000000000a", "i-0000000000000000b"
	execution = "evt-1"
)

// fake is an in-memory account: ELBv2 (load balancers, listeners, target
// groups and tags), EC2 (subnets, instances) and the rules table. Missing
// names and ARNs fail as AWS does.
type fake struct {
	lbs       []elbtypes.LoadBalancer
	listeners []elbtypes.Listener
	tgs       []elbtypes.TargetGroup
	tags      map[string]map[string]string
	subnets   []ec2types.Subnet
	instances map[string]ec2types.Instance
	items     map[string]rulestore.Item
	calls     []string
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

// newFake is a provisioned load balancer (HTTPS and HTTP listeners, the
// proxy target group with its tags and domain) and two stopped instances in
// its VPC.
func newFake() *fake {
	proxyTags := ownership.Tags(lbName, "evt-0", nil)
	proxyTags[ownership.DomainKey] = domain
	forward := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(proxyARN)}}
	f := &fake{
		lbs: []elbtypes.LoadBalancer{{
			LoadBalancerArn: aws.String(lbARN), LoadBalancerName: aws.String(lbName), Type: elbtypes.LoadBalancerTypeEnumApplication,
			VpcId:             aws.String("vpc-madeup"),
			AvailabilityZones: []elbtypes.AvailabilityZone{{SubnetId: aws.String(subnetA)}, {SubnetId: aws.String(subnetB)}},
		}},
		listeners: []elbtypes.Listener{
			{ListenerArn: aws.String(httpARN), LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
				DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumRedirect}}},
			{ListenerArn: aws.String(httpsARN), LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttps, Port: aws.Int32(443), DefaultActions: forward},
		},
		tgs:  []elbtypes.TargetGroup{{TargetGroupArn: aws.String(proxyARN), TargetGroupName: aws.String("autostop-demo-proxy"), LoadBalancerArns: []string{lbARN}}},
		tags: map[string]map[string]string{proxyARN: proxyTags},
		subnets: []ec2types.Subnet{
			{SubnetId: aws.String(subnetA), VpcId: aws.String(vpc)},
			{SubnetId: aws.String(subnetB), VpcId: aws.String(vpc)},
		},
		instances: map[string]ec2types.Instance{},
		items:     map[string]rulestore.Item{},
	}
	f.addInstance(i1, "stopped", vpc, nil)
	f.addInstance(i2, "stopped", vpc, nil)

	return f
}

func (f *fake) deps() Deps {
	return Deps{AWS: func(string) (ELBv2, EC2) { return f, f }, Rules: f, Region: region}
}

func (f *fake) addInstance(id, state, vpcID string, tags map[string]string) {
	inst := ec2types.Instance{InstanceId: aws.String(id), VpcId: aws.String(vpcID), State: &ec2types.InstanceState{Name: ec2types.InstanceStateName(state)}}
	for k, v := range tags {
		inst.Tags = append(inst.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	f.instances[id] = inst
}

// addRuleTG adds a rule's target group for host on load balancer lb.
func (f *fake) addRuleTG(name, lb, host string) string {
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/%s/%d", name, len(f.tgs)+1)
	f.tgs = append(f.tgs, elbtypes.TargetGroup{TargetGroupArn: aws.String(arn), TargetGroupName: aws.String(name)})
	tags := ownership.Tags(lb, "evt-x", nil)
	tags["autostop:rule"] = host
	f.tags[arn] = tags

	return arn
}

func (f *fake) DescribeLoadBalancers(_ context.Context, in *elbv2.DescribeLoadBalancersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error) {
	f.calls = append(f.calls, "DescribeLoadBalancers")
	out := &elbv2.DescribeLoadBalancersOutput{}
	for _, lb := range f.lbs {
		for _, n := range in.Names {
			if n == aws.ToString(lb.LoadBalancerName) {
				out.LoadBalancers = append(out.LoadBalancers, lb)
			}
		}
		for _, a := range in.LoadBalancerArns {
			if a == aws.ToString(lb.LoadBalancerArn) {
				out.LoadBalancers = append(out.LoadBalancers, lb)
			}
		}
	}
	if len(out.LoadBalancers) == 0 {
		return nil, apiErr("LoadBalancerNotFound")
	}

	return out, nil
}

func (f *fake) DescribeListeners(_ context.Context, in *elbv2.DescribeListenersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error) {
	f.calls = append(f.calls, "DescribeListeners")
	out := &elbv2.DescribeListenersOutput{}
	for _, l := range f.listeners {
		if aws.ToString(l.LoadBalancerArn) == aws.ToString(in.LoadBalancerArn) {
			out.Listeners = append(out.Listeners, l)
		}
	}

	return out, nil
}

func (f *fake) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	f.calls = append(f.calls, "DescribeTags")
	if len(in.ResourceArns) > 20 {
		return nil, apiErr("TooManyTagKeys") // AWS takes at most 20 ARNs
	}
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		d := elbtypes.TagDescription{ResourceArn: aws.String(arn)}
		for _, k := range ownership.Keys(f.tags[arn]) {
			d.Tags = append(d.Tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(f.tags[arn][k])})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}

	return out, nil
}

// DescribeTargetGroups pages by 7, to exercise the paginator.
func (f *fake) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	f.calls = append(f.calls, "DescribeTargetGroups")
	start := 0
	if in.Marker != nil {
		fmt.Sscanf(aws.ToString(in.Marker), "%d", &start)
	}
	end := min(start+7, len(f.tgs))
	out := &elbv2.DescribeTargetGroupsOutput{TargetGroups: f.tgs[start:end]}
	if end < len(f.tgs) {
		out.NextMarker = aws.String(fmt.Sprint(end))
	}

	return out, nil
}

func (f *fake) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	f.calls = append(f.calls, "DescribeSubnets")
	out := &ec2.DescribeSubnetsOutput{}
	for _, s := range f.subnets {
		for _, id := range in.SubnetIds {
			if id == aws.ToString(s.SubnetId) {
				out.Subnets = append(out.Subnets, s)
			}
		}
	}

	return out, nil
}

func (f *fake) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.calls = append(f.calls, "DescribeInstances")
	var r ec2types.Reservation
	for _, id := range in.InstanceIds {
		inst, ok := f.instances[id]
		if !ok {
			return nil, apiErr("InvalidInstanceID.NotFound")
		}
		r.Instances = append(r.Instances, inst)
	}

	return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{r}}, nil
}

func (f *fake) Get(_ context.Context, host string, _ bool) (rulestore.Item, error) {
	f.calls = append(f.calls, "GetItem")
	it, ok := f.items[rule.NormalizeHost(host)]
	if !ok {
		return rulestore.Item{}, rulestore.ErrNotFound
	}

	return it, nil
}

func (f *fake) mutating() []string {
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "Describe") && !strings.HasPrefix(c, "Get") {
			out = append(out, c)
		}
	}

	return out
}
