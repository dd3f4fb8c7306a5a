package localalb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// AddressTag is the EC2 instance tag that gives the address the front (and
// the patched kumo's health checks) reach an instance at locally, such as
// 127.0.0.5; without it, the instance's PrivateIpAddress is used.
const AddressTag = "kumo:address"

// MultiValueHeadersAttr is the Lambda target group attribute that makes the
// ALB pass (and expect back) multi-value headers and query parameters.
const MultiValueHeadersAttr = "lambda.multi_value_headers.enabled"

// snapshot is what the front knows of the load balancer at one moment.
type snapshot struct {
	// listener is the evaluated listener; nil when the load balancer has
	// no HTTP or HTTPS listener.
	listener *listenerView
	// rules of the listener, by priority, the default rule last.
	rules []*rule
	// targetGroups the rules forward to, by ARN.
	targetGroups map[string]*targetGroup
}

type listenerView struct {
	arn      string
	protocol types.ProtocolEnum
	port     int32
}

type targetGroup struct {
	arn        string
	targetType types.TargetTypeEnum
	port       int32
	// multiValue is lambda.multi_value_headers.enabled (Lambda only).
	multiValue bool
	targets    []target
}

type target struct {
	id    string
	port  int32
	state types.TargetHealthStateEnum
	// address is where an instance or ip target is reached; empty when
	// it is unknown.
	address string
}

// load reads a snapshot from ELBv2 (and EC2 for instance addresses).
func (f *Front) load(ctx context.Context) (*snapshot, error) {
	api := f.clients.ELBv2
	listeners, err := describeListeners(ctx, api, f.cfg.LoadBalancerARN)
	if err != nil {
		return nil, err
	}

	snap := &snapshot{targetGroups: map[string]*targetGroup{}}
	l, ok := chooseListener(listeners)
	if !ok {
		return snap, nil
	}
	snap.listener = &listenerView{arn: aws.ToString(l.ListenerArn), protocol: l.Protocol, port: aws.ToInt32(l.Port)}

	rules, err := describeRules(ctx, api, snap.listener.arn)
	if err != nil {
		return nil, err
	}
	snap.rules = compileRules(rules, l.DefaultActions, f.log)

	tgs, err := describeTargetGroups(ctx, api, referencedTargetGroups(snap.rules))
	if err != nil {
		return nil, err
	}
	for _, tg := range tgs {
		v, err := readTargetGroup(ctx, api, tg)
		if err != nil {
			return nil, err
		}
		snap.targetGroups[v.arn] = v
	}

	f.resolveAddresses(ctx, snap)

	return snap, nil
}

func describeListeners(ctx context.Context, api ELBv2, lbARN string) ([]types.Listener, error) {
	var out []types.Listener
	in := &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)}
	for {
		page, err := api.DescribeListeners(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe listeners of %s: %w", lbARN, err)
		}
		out = append(out, page.Listeners...)
		if !more(in.Marker, page.NextMarker) {
			return out, nil
		}
		in.Marker = page.NextMarker
	}
}

func describeRules(ctx context.Context, api ELBv2, listenerARN string) ([]types.Rule, error) {
	var out []types.Rule
	in := &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerARN)}
	for {
		page, err := api.DescribeRules(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe rules of %s: %w", listenerARN, err)
		}
		out = append(out, page.Rules...)
		if !more(in.Marker, page.NextMarker) {
			return out, nil
		}
		in.Marker = page.NextMarker
	}
}

// describeTargetGroups reads arns in one call. Should one of them be gone
// (kumo lets a target group in use be deleted), it reads them one by one and
// leaves the missing ones out: their rules answer 503.
func describeTargetGroups(ctx context.Context, api ELBv2, arns []string) ([]types.TargetGroup, error) {
	if len(arns) == 0 {
		return nil, nil
	}
	out, err := api.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: arns})
	if err == nil {
		return out.TargetGroups, nil
	}
	if !isTargetGroupNotFound(err) {
		return nil, fmt.Errorf("describe target groups %v: %w", arns, err)
	}

	var tgs []types.TargetGroup
	for _, arn := range arns {
		one, err := api.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
		if isTargetGroupNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("describe target group %s: %w", arn, err)
		}
		tgs = append(tgs, one.TargetGroups...)
	}

	return tgs, nil
}

// readTargetGroup reads a target group's attributes (Lambda only: the
// multi-value attribute) and the health of its targets.
func readTargetGroup(ctx context.Context, api ELBv2, tg types.TargetGroup) (*targetGroup, error) {
	v := &targetGroup{arn: aws.ToString(tg.TargetGroupArn), targetType: tg.TargetType, port: aws.ToInt32(tg.Port)}
	if v.targetType == "" {
		v.targetType = types.TargetTypeEnumInstance // AWS's default
	}

	if v.targetType == types.TargetTypeEnumLambda {
		attrs, err := api.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			return nil, fmt.Errorf("describe attributes of target group %s: %w", v.arn, err)
		}
		for _, a := range attrs.Attributes {
			if aws.ToString(a.Key) == MultiValueHeadersAttr {
				v.multiValue = strings.EqualFold(aws.ToString(a.Value), "true")
			}
		}
	}

	health, err := api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
	if err != nil {
		return nil, fmt.Errorf("describe target health of %s: %w", v.arn, err)
	}
	for _, d := range health.TargetHealthDescriptions {
		if d.Target == nil {
			continue
		}
		t := target{id: aws.ToString(d.Target.Id), port: aws.ToInt32(d.Target.Port)}
		if t.port == 0 {
			t.port = v.port
		}
		if d.TargetHealth != nil {
			t.state = d.TargetHealth.State
		}
		if v.targetType == types.TargetTypeEnumIp {
			t.address = t.id
		}
		v.targets = append(v.targets, t)
	}

	return v, nil
}

// resolveAddresses fills in the address of every healthy instance target
// (the only ones traffic goes to) with one DescribeInstances call (one per
// instance when that fails). A failure is logged, not returned: the targets
// without an address answer 502, the rest still works.
func (f *Front) resolveAddresses(ctx context.Context, snap *snapshot) {
	var ids []string
	for _, tg := range snap.targetGroups {
		if tg.targetType != types.TargetTypeEnumInstance {
			continue
		}
		for _, t := range tg.targets {
			if t.state == types.TargetHealthStateEnumHealthy && !slices.Contains(ids, t.id) {
				ids = append(ids, t.id)
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	slices.Sort(ids)

	addrs, err := describeAddresses(ctx, f.clients.EC2, ids)
	if err != nil && len(ids) > 1 {
		// One unknown instance fails the whole call: ask for each alone.
		addrs = map[string]string{}
		for _, id := range ids {
			one, err := describeAddresses(ctx, f.clients.EC2, []string{id})
			if err != nil {
				f.log.Warn("find the address of an instance target", "instance", id, "error", err)
			}
			maps.Copy(addrs, one)
		}
	} else if err != nil {
		f.log.Warn("find the address of an instance target", "instance", ids[0], "error", err)
	}
	for _, tg := range snap.targetGroups {
		if tg.targetType != types.TargetTypeEnumInstance {
			continue
		}
		for i := range tg.targets {
			tg.targets[i].address = addrs[tg.targets[i].id]
		}
	}
}

// describeAddresses maps each instance ID to its AddressTag, else its
// private IP address.
func describeAddresses(ctx context.Context, api EC2, ids []string) (map[string]string, error) {
	out := map[string]string{}
	in := &ec2.DescribeInstancesInput{InstanceIds: ids}
	for {
		page, err := api.DescribeInstances(ctx, in)
		if err != nil {
			return out, fmt.Errorf("describe instances %v: %w", ids, err)
		}
		for _, res := range page.Reservations {
			for _, inst := range res.Instances {
				if addr := instanceAddress(inst); addr != "" {
					out[aws.ToString(inst.InstanceId)] = addr
				}
			}
		}
		if !more(in.NextToken, page.NextToken) {
			return out, nil
		}
		in.NextToken = page.NextToken
	}
}

func instanceAddress(inst ec2types.Instance) string {
	for _, t := range inst.Tags {
		if aws.ToString(t.Key) == AddressTag && aws.ToString(t.Value) != "" {
			return aws.ToString(t.Value)
		}
	}

	return aws.ToString(inst.PrivateIpAddress)
}

// referencedTargetGroups lists the target groups the rules' forward actions
// name, each once.
func referencedTargetGroups(rules []*rule) []string {
	var arns []string
	add := func(arn string) {
		if arn != "" && !slices.Contains(arns, arn) {
			arns = append(arns, arn)
		}
	}
	for _, r := range rules {
		if r.action == nil || r.action.Type != types.ActionTypeEnumForward {
			continue
		}
		add(aws.ToString(r.action.TargetGroupArn))
		if fc := r.action.ForwardConfig; fc != nil {
			for _, t := range fc.TargetGroups {
				add(aws.ToString(t.TargetGroupArn))
			}
		}
	}

	return arns
}

// more reports whether a paged call has another page: a next marker that
// is set and differs from the one just sent (a guard against an endless
// loop on a backend that echoes it).
func more(sent, next *string) bool {
	return aws.ToString(next) != "" && aws.ToString(next) != aws.ToString(sent)
}

func isTargetGroupNotFound(err error) bool {
	var nf *types.TargetGroupNotFoundException
	if errors.As(err, &nf) {
		return true
	}
	var api smithy.APIError

	return errors.As(err, &api) && api.ErrorCode() == "TargetGroupNotFound"
}
