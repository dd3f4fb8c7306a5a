package loadbalancer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// Error codes of the ELBv2 API this package handles.
const (
	codeLBNotFound  = "LoadBalancerNotFound"
	codeDuplicateLB = "DuplicateLoadBalancerName"
)

// Ensure makes the spec's Application Load Balancer exist and returns it,
// with its current state (the state machine waits for "active").
//
// It synthesizes the ALB the spec asks for, then reconciles with what
// exists, making only the calls needed, so a re-run with everything in place
// makes no mutating call:
//   - spec.ARN set: the ALB is adopted as is (it must exist and carry the
//     spec's name); autostop never tags, changes or deletes it.
//   - an ALB of that name exists: it must be autostop's (tags) and have the
//     requested scheme, subnets, security groups and address type; if not,
//     Conflict (autostop never changes it silently).
//   - none: the default security group autostop-<name> (when the spec names
//     none) is found or created, then the ALB is created, with the ownership
//     tags in the create calls.
//
// Attempts counts the invocations of the state machine's wait loop.
func Ensure(ctx context.Context, c Clients, in step.Input) (step.LoadBalancerResult, error) {
	s := withDefaults(in.Spec)
	if s.Name == "" {
		return step.LoadBalancerResult{}, steperr.Invalid("ensure load balancer: the spec has no name")
	}
	if in.Execution == "" {
		return step.LoadBalancerResult{}, steperr.Invalid("ensure load balancer %s: no execution name to tag resources with", s.Name)
	}

	var (
		res step.LoadBalancerResult
		err error
	)
	if s.ARN != "" {
		res, err = adopt(ctx, c.ELBv2, s)
	} else {
		res, err = ensureOwned(ctx, c, s, in.Execution)
	}
	if err != nil {
		return step.LoadBalancerResult{}, err
	}

	res.Attempts = 1
	if prev := in.Results.LoadBalancer; prev != nil {
		res.Attempts = prev.Attempts + 1
	}
	res.NextWaitSeconds = in.Timing.LoadBalancerWait(res.Attempts)

	return res, nil
}

// withDefaults fills in the defaults the validate step normally sets.
func withDefaults(s spec.LoadBalancerSpec) spec.LoadBalancerSpec {
	if s.Scheme == "" {
		s.Scheme = spec.SchemeInternetFacing
	}
	if s.IPAddressType == "" {
		s.IPAddressType = spec.IPv4
	}

	return s
}

// adopt uses the ALB the spec names by ARN, as it is.
func adopt(ctx context.Context, e ELBv2, s spec.LoadBalancerSpec) (step.LoadBalancerResult, error) {
	out, err := e.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{s.ARN}})
	if steperr.ErrorCode(err) == codeLBNotFound || (err == nil && len(out.LoadBalancers) == 0) {
		return step.LoadBalancerResult{}, steperr.Missing("load balancer %s to adopt does not exist", s.ARN)
	}
	if err != nil {
		return step.LoadBalancerResult{}, fmt.Errorf("describe load balancer %s to adopt: %w", s.ARN, err)
	}

	lb := out.LoadBalancers[0]
	if name := aws.ToString(lb.LoadBalancerName); name != s.Name {
		return step.LoadBalancerResult{}, steperr.Invalid("load balancer %s is named %s, not %s", s.ARN, name, s.Name)
	}
	if lb.Type != elbv2types.LoadBalancerTypeEnumApplication {
		return step.LoadBalancerResult{}, steperr.Invalid("load balancer %s is of type %s, not application", s.ARN, lb.Type)
	}

	res := resultOf(lb)
	res.Adopted = true
	res.Resources = []step.Resource{{Kind: KindLoadBalancer, ID: res.ARN, Action: step.Adopted}}

	return res, nil
}

// ensureOwned finds or creates the ALB autostop owns under the spec's name.
func ensureOwned(ctx context.Context, c Clients, s spec.LoadBalancerSpec, execution string) (step.LoadBalancerResult, error) {
	lb, err := findByName(ctx, c.ELBv2, s.Name)
	if err != nil {
		return step.LoadBalancerResult{}, err
	}
	if lb != nil {
		return reuse(ctx, c, s, execution, *lb)
	}

	var resources []step.Resource
	groups := s.SecurityGroupIDs
	if len(groups) == 0 {
		g, err := ensureDefaultGroup(ctx, c.EC2, s, execution, true)
		if err != nil {
			return step.LoadBalancerResult{}, err
		}
		groups = []string{g.ID}
		resources = append(resources, g.Resource)
	}

	out, err := c.ELBv2.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name:           aws.String(s.Name),
		Type:           elbv2types.LoadBalancerTypeEnumApplication,
		Scheme:         elbv2types.LoadBalancerSchemeEnum(s.Scheme),
		IpAddressType:  elbv2types.IpAddressType(s.IPAddressType),
		Subnets:        s.SubnetIDs,
		SecurityGroups: groups,
		Tags:           elbv2Tags(ownership.Tags(s.Name, execution, s.Tags)),
	})
	if steperr.ErrorCode(err) == codeDuplicateLB {
		return step.LoadBalancerResult{}, steperr.Conflicting("create load balancer %s: one of that name appeared with other settings: %v", s.Name, err)
	}
	if err != nil {
		return step.LoadBalancerResult{}, fmt.Errorf("create load balancer %s: %w", s.Name, err)
	}
	if len(out.LoadBalancers) == 0 {
		return step.LoadBalancerResult{}, fmt.Errorf("create load balancer %s: the response names no load balancer", s.Name)
	}

	// CreateLoadBalancer returns an existing ALB of the same name and
	// settings: check whose it is before calling it ours.
	created := out.LoadBalancers[0]
	arn := aws.ToString(created.LoadBalancerArn)
	tags, err := lbTags(ctx, c.ELBv2, arn)
	if err != nil {
		return step.LoadBalancerResult{}, err
	}
	if !ownership.OwnedByLoadBalancer(tags, s.Name) {
		return step.LoadBalancerResult{}, steperr.Conflicting("load balancer %s (%s) was created meanwhile by someone else and is not autostop's", s.Name, arn)
	}

	res := resultOf(created)
	res.Resources = append(resources, step.Resource{Kind: KindLoadBalancer, ID: arn, Action: createdOrAdopted(tags, s.Name, execution)})

	return res, nil
}

// reuse checks that an existing ALB of the spec's name is autostop's and has
// the requested settings, and returns it.
func reuse(ctx context.Context, c Clients, s spec.LoadBalancerSpec, execution string, lb elbv2types.LoadBalancer) (step.LoadBalancerResult, error) {
	arn := aws.ToString(lb.LoadBalancerArn)
	tags, err := lbTags(ctx, c.ELBv2, arn)
	if err != nil {
		return step.LoadBalancerResult{}, err
	}
	if !ownership.OwnedByLoadBalancer(tags, s.Name) {
		return step.LoadBalancerResult{}, steperr.Conflicting("load balancer %s (%s) exists and is not autostop's: adopt it by ARN or choose another name", s.Name, arn)
	}

	var resources []step.Resource
	groups := s.SecurityGroupIDs
	if len(groups) == 0 {
		g, err := ensureDefaultGroup(ctx, c.EC2, s, execution, false)
		if err != nil {
			return step.LoadBalancerResult{}, err
		}
		if g.ID != "" {
			groups = []string{g.ID}
			resources = append(resources, g.Resource)
		}
	}

	if diff := settingsDiff(lb, s, groups); len(diff) > 0 {
		return step.LoadBalancerResult{}, steperr.Conflicting("load balancer %s (%s) exists with other settings (%s): autostop does not change them; delete it or make the spec match",
			s.Name, arn, strings.Join(diff, "; "))
	}

	res := resultOf(lb)
	res.Resources = append(resources, step.Resource{Kind: KindLoadBalancer, ID: arn, Action: createdOrAdopted(tags, s.Name, execution)})

	return res, nil
}

func createdOrAdopted(tags map[string]string, lb, execution string) string {
	if ownership.CreatedBy(tags, lb, execution) {
		return step.Created
	}

	return step.Adopted
}

// settingsDiff lists how lb differs from what the spec asks for.
func settingsDiff(lb elbv2types.LoadBalancer, s spec.LoadBalancerSpec, groups []string) []string {
	var diff []string
	if lb.Type != elbv2types.LoadBalancerTypeEnumApplication {
		diff = append(diff, fmt.Sprintf("type %s, want application", lb.Type))
	}
	if string(lb.Scheme) != s.Scheme {
		diff = append(diff, fmt.Sprintf("scheme %s, want %s", lb.Scheme, s.Scheme))
	}
	if string(lb.IpAddressType) != s.IPAddressType {
		diff = append(diff, fmt.Sprintf("IP address type %s, want %s", lb.IpAddressType, s.IPAddressType))
	}
	subnets := make([]string, 0, len(lb.AvailabilityZones))
	for _, az := range lb.AvailabilityZones {
		subnets = append(subnets, aws.ToString(az.SubnetId))
	}
	if !sameSet(subnets, s.SubnetIDs) {
		diff = append(diff, fmt.Sprintf("subnets %v, want %v", sorted(subnets), sorted(s.SubnetIDs)))
	}
	if !sameSet(lb.SecurityGroups, groups) {
		want := fmt.Sprint(sorted(groups))
		if len(groups) == 0 {
			want = "the default group " + DefaultSecurityGroupName(s.Name) + " (absent)"
		}
		diff = append(diff, fmt.Sprintf("security groups %v, want %s", sorted(lb.SecurityGroups), want))
	}

	return diff
}

// findByName returns the load balancer named name, or nil when there is none.
func findByName(ctx context.Context, e ELBv2, name string) (*elbv2types.LoadBalancer, error) {
	out, err := e.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if steperr.ErrorCode(err) == codeLBNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe load balancer %s: %w", name, err)
	}
	for _, lb := range out.LoadBalancers {
		if aws.ToString(lb.LoadBalancerName) == name {
			return &lb, nil
		}
	}

	return nil, nil
}

// lbTags returns the tags of the load balancer arn.
func lbTags(ctx context.Context, e ELBv2, arn string) (map[string]string, error) {
	out, err := e.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("describe tags of load balancer %s: %w", arn, err)
	}
	for _, d := range out.TagDescriptions {
		if aws.ToString(d.ResourceArn) == arn || len(out.TagDescriptions) == 1 {
			return tagMap(d.Tags, func(t elbv2types.Tag) (*string, *string) { return t.Key, t.Value }), nil
		}
	}

	return map[string]string{}, nil
}

func resultOf(lb elbv2types.LoadBalancer) step.LoadBalancerResult {
	res := step.LoadBalancerResult{
		ARN:                   aws.ToString(lb.LoadBalancerArn),
		DNSName:               aws.ToString(lb.DNSName),
		CanonicalHostedZoneID: aws.ToString(lb.CanonicalHostedZoneId),
		SecurityGroupIDs:      append([]string{}, lb.SecurityGroups...),
	}
	if lb.State != nil {
		res.State = string(lb.State.Code)
		if lb.State.Code == elbv2types.LoadBalancerStateEnumActiveImpaired {
			res.State, res.Impaired = string(elbv2types.LoadBalancerStateEnumActive), true
		}
	}

	return res
}

func elbv2Tags(tags map[string]string) []elbv2types.Tag {
	out := make([]elbv2types.Tag, 0, len(tags))
	for _, k := range ownership.Keys(tags) {
		out = append(out, elbv2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}

	return out
}

func sameSet(a, b []string) bool {
	return slices.Equal(sorted(a), sorted(b))
}

func sorted(a []string) []string {
	out := slices.Clone(a)
	slices.Sort(out)

	return slices.Compact(out)
}
