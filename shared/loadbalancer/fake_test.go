package loadbalancer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/spec"
)

// fakeAWS is an in-memory ELBv2 and EC2 with AWS's semantics for the calls
// this package makes: idempotent CreateLoadBalancer, NotFound errors,
// security group filters, DependencyViolation while an ALB uses a group.
type fakeAWS struct {
	lbs    []*fakeLB
	groups []*ec2types.SecurityGroup
	calls  []string
	// errs fails the next calls of an operation, in order (nil passes).
	errs map[string][]error
	// before runs once, just before an operation is handled (races).
	before map[string]func(*fakeAWS)
	// busy makes DeleteSecurityGroup fail with DependencyViolation this
	// many more times (an ALB's network interfaces going away).
	busy int
	seq  int
}

type fakeLB struct {
	lb   elbv2types.LoadBalancer
	tags map[string]string
}

func newFake() *fakeAWS {
	return &fakeAWS{errs: map[string][]error{}, before: map[string]func(*fakeAWS){}}
}

func (f *fakeAWS) clients() Clients { return Clients{ELBv2: f, EC2: f} }

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (fake)", Fault: smithy.FaultClient}
}

func (f *fakeAWS) call(op string) error {
	f.calls = append(f.calls, op)
	if hook, ok := f.before[op]; ok {
		delete(f.before, op)
		hook(f)
	}
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]

		return q[0]
	}

	return nil
}

// mutating returns the mutating calls made so far.
func (f *fakeAWS) mutating() []string {
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "Describe") {
			out = append(out, c)
		}
	}

	return out
}

// addLB stores a load balancer as if it existed.
func (f *fakeAWS) addLB(name, scheme, ipType string, subnets, groups []string, tags map[string]string) string {
	f.seq++
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/%s/%04d", name, f.seq)
	var azs []elbv2types.AvailabilityZone
	for _, s := range subnets {
		azs = append(azs, elbv2types.AvailabilityZone{SubnetId: aws.String(s)})
	}
	f.lbs = append(f.lbs, &fakeLB{
		lb: elbv2types.LoadBalancer{
			LoadBalancerArn: aws.String(arn), LoadBalancerName: aws.String(name),
			DNSName: aws.String(fmt.Sprintf("%s-%04d.us-east-1.elb.amazonaws.com", name, f.seq)), CanonicalHostedZoneId: aws.String("Z35SXDOTRQ7X7K"),
			Type: elbv2types.LoadBalancerTypeEnumApplication, Scheme: elbv2types.LoadBalancerSchemeEnum(scheme),
			IpAddressType: elbv2types.IpAddressType(ipType), AvailabilityZones: azs, SecurityGroups: slices.Clone(groups),
			State: &elbv2types.LoadBalancerState{Code: elbv2types.LoadBalancerStateEnumProvisioning},
		},
		tags: tags,
	})

	return arn
}

// addGroup stores a security group as if it existed.
func (f *fakeAWS) addGroup(name, vpc string, tags map[string]string, perms ...ec2types.IpPermission) string {
	f.seq++
	id := fmt.Sprintf("sg-%04d", f.seq)
	g := &ec2types.SecurityGroup{GroupId: aws.String(id), GroupName: aws.String(name), VpcId: aws.String(vpc), IpPermissions: perms}
	for _, k := range sortedKeys(tags) {
		g.Tags = append(g.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	f.groups = append(f.groups, g)

	return id
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	return keys
}

func (f *fakeAWS) lbByARN(arn string) *fakeLB {
	for _, l := range f.lbs {
		if aws.ToString(l.lb.LoadBalancerArn) == arn {
			return l
		}
	}

	return nil
}

func (f *fakeAWS) lbByName(name string) *fakeLB {
	for _, l := range f.lbs {
		if aws.ToString(l.lb.LoadBalancerName) == name {
			return l
		}
	}

	return nil
}

func (f *fakeAWS) group(id string) *ec2types.SecurityGroup {
	for _, g := range f.groups {
		if aws.ToString(g.GroupId) == id {
			return g
		}
	}

	return nil
}

func (f *fakeAWS) DescribeLoadBalancers(_ context.Context, in *elbv2.DescribeLoadBalancersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error) {
	if err := f.call("DescribeLoadBalancers"); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeLoadBalancersOutput{}
	for _, arn := range in.LoadBalancerArns {
		l := f.lbByARN(arn)
		if l == nil {
			return nil, &elbv2types.LoadBalancerNotFoundException{Message: aws.String("not found: " + arn)}
		}
		out.LoadBalancers = append(out.LoadBalancers, l.lb)
	}
	for _, name := range in.Names {
		l := f.lbByName(name)
		if l == nil {
			return nil, &elbv2types.LoadBalancerNotFoundException{Message: aws.String("not found: " + name)}
		}
		out.LoadBalancers = append(out.LoadBalancers, l.lb)
	}

	return out, nil
}

func (f *fakeAWS) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	if err := f.call("DescribeTags"); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		l := f.lbByARN(arn)
		if l == nil {
			return nil, &elbv2types.LoadBalancerNotFoundException{Message: aws.String("not found: " + arn)}
		}
		d := elbv2types.TagDescription{ResourceArn: aws.String(arn)}
		for _, k := range sortedKeys(l.tags) {
			d.Tags = append(d.Tags, elbv2types.Tag{Key: aws.String(k), Value: aws.String(l.tags[k])})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}

	return out, nil
}

func (f *fakeAWS) CreateLoadBalancer(_ context.Context, in *elbv2.CreateLoadBalancerInput, _ ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error) {
	if err := f.call("CreateLoadBalancer"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Name)
	if l := f.lbByName(name); l != nil {
		s := withDefaults(specOf(in))
		if len(settingsDiff(l.lb, s, in.SecurityGroups)) > 0 {
			return nil, &elbv2types.DuplicateLoadBalancerNameException{Message: aws.String("duplicate " + name)}
		}

		return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []elbv2types.LoadBalancer{l.lb}}, nil
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	scheme, ipType := string(in.Scheme), string(in.IpAddressType)
	if scheme == "" {
		scheme = "internet-facing"
	}
	if ipType == "" {
		ipType = "ipv4"
	}
	arn := f.addLB(name, scheme, ipType, in.Subnets, in.SecurityGroups, tags)

	return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []elbv2types.LoadBalancer{f.lbByARN(arn).lb}}, nil
}

func (f *fakeAWS) DeleteLoadBalancer(_ context.Context, in *elbv2.DeleteLoadBalancerInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error) {
	if err := f.call("DeleteLoadBalancer"); err != nil {
		return nil, err
	}
	f.lbs = slices.DeleteFunc(f.lbs, func(l *fakeLB) bool { return aws.ToString(l.lb.LoadBalancerArn) == aws.ToString(in.LoadBalancerArn) })

	return &elbv2.DeleteLoadBalancerOutput{}, nil
}

func (f *fakeAWS) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if err := f.call("DescribeSecurityGroups"); err != nil {
		return nil, err
	}
	out := &ec2.DescribeSecurityGroupsOutput{}
	for _, g := range f.groups {
		if matches(*g, in.Filters) {
			out.SecurityGroups = append(out.SecurityGroups, *g)
		}
	}

	return out, nil
}

func matches(g ec2types.SecurityGroup, filters []ec2types.Filter) bool {
	tags := groupTags(g)
	for _, flt := range filters {
		name := aws.ToString(flt.Name)
		var have string
		switch {
		case name == "group-name":
			have = aws.ToString(g.GroupName)
		case name == "vpc-id":
			have = aws.ToString(g.VpcId)
		case strings.HasPrefix(name, "tag:"):
			v, ok := tags[strings.TrimPrefix(name, "tag:")]
			if !ok {
				return false
			}
			have = v
		default:
			panic("fake: unsupported filter " + name)
		}
		if !slices.Contains(flt.Values, have) {
			return false
		}
	}

	return true
}

func (f *fakeAWS) CreateSecurityGroup(_ context.Context, in *ec2.CreateSecurityGroupInput, _ ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error) {
	if err := f.call("CreateSecurityGroup"); err != nil {
		return nil, err
	}
	for _, g := range f.groups {
		if aws.ToString(g.GroupName) == aws.ToString(in.GroupName) && aws.ToString(g.VpcId) == aws.ToString(in.VpcId) {
			return nil, apiErr("InvalidGroup.Duplicate")
		}
	}
	tags := map[string]string{}
	for _, ts := range in.TagSpecifications {
		for _, t := range ts.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	id := f.addGroup(aws.ToString(in.GroupName), aws.ToString(in.VpcId), tags)

	return &ec2.CreateSecurityGroupOutput{GroupId: aws.String(id)}, nil
}

func (f *fakeAWS) AuthorizeSecurityGroupIngress(_ context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	if err := f.call("AuthorizeSecurityGroupIngress"); err != nil {
		return nil, err
	}
	g := f.group(aws.ToString(in.GroupId))
	if g == nil {
		return nil, apiErr("InvalidGroup.NotFound")
	}
	g.IpPermissions = append(g.IpPermissions, in.IpPermissions...)

	return &ec2.AuthorizeSecurityGroupIngressOutput{}, nil
}

func (f *fakeAWS) DeleteSecurityGroup(_ context.Context, in *ec2.DeleteSecurityGroupInput, _ ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error) {
	if err := f.call("DeleteSecurityGroup"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.GroupId)
	if f.group(id) == nil {
		return nil, apiErr("InvalidGroup.NotFound")
	}
	inUse := slices.ContainsFunc(f.lbs, func(l *fakeLB) bool { return slices.Contains(l.lb.SecurityGroups, id) })
	if inUse || f.busy > 0 {
		if f.busy > 0 {
			f.busy--
		}

		return nil, apiErr("DependencyViolation")
	}
	f.groups = slices.DeleteFunc(f.groups, func(g *ec2types.SecurityGroup) bool { return aws.ToString(g.GroupId) == id })

	return &ec2.DeleteSecurityGroupOutput{}, nil
}

// specOf is the spec a CreateLoadBalancer call asks for (to compare settings).
func specOf(in *elbv2.CreateLoadBalancerInput) spec.LoadBalancerSpec {
	return spec.LoadBalancerSpec{
		Name: aws.ToString(in.Name), Scheme: string(in.Scheme), IPAddressType: string(in.IpAddressType),
		SubnetIDs: in.Subnets, SecurityGroupIDs: in.SecurityGroups,
	}
}
