// Package rulevalidate is AttachRule's first step, ValidateRule: every check
// of an AutoStopping rule that can be made before anything is created, with
// read-only calls. A rule that fails any of them fails the execution with a
// named error and nothing is created.
//
// The checks, in order (each stage needs the one before):
//
//  1. The event's detail: strict parsing, the rule's static checks
//     (rule.Check) and the load balancer reference (eventstart.ParseDetail).
//     InvalidRequest listing every problem.
//  2. The load balancer: it exists (InvalidRequest otherwise; with a spec,
//     the nested ProvisionLoadBalancer execution has just made it, and its
//     output names its ARN) and is autostop's: the default action of its
//     HTTPS 443 listener (HTTP 80 without HTTPS), where host rules go,
//     forwards to a target group carrying autostop's tags for this load
//     balancer (Conflict otherwise: autostop never attaches rules to a load
//     balancer it does not manage). That proxy target group's
//     autostop:domain tag is the domain the rules answer under
//     (InvalidRequest when it is missing: provision the load balancer again
//     to record it).
//  3. With the domain known: the rule with its defaults (rule.WithDefaults)
//     and its host one label under the domain (rule.HostProblem); the
//     instances exist, are not terminated (or shutting down) and are in the
//     load balancer's VPC (InvalidRequest, every problem listed); no
//     instance is in another rule (tag autostop:rule naming another host:
//     Conflict naming that rule — an instance belongs to one rule at most,
//     see shared/ruletarget); the host is free: no item, or one this
//     execution wrote (a retried step), or an identical rule on the same
//     load balancer attached by another execution (a second event for the
//     same rule: nothing to do) — any other item is a Conflict naming the
//     rule holding the host; the load balancer has room: an ALB has at
//     most 100 target groups and one is the proxy's, so it holds at most 99
//     rules (Conflict saying so).
//
// The load balancer's VPC is read from its subnets (DescribeSubnets), not
// from its VpcId: the same on AWS, and right on the local backend too,
// whose load balancers carry a made-up VpcId.
//
// Counting a load balancer's rules: each rule has one target group tagged
// autostop:load-balancer=<name> and autostop:rule=<host>, whether or not a
// host rule forwards to it right now (a stopped rule's does not, but it
// will when the rule wakes). The count is those target groups, plus every
// other target group the load balancer uses (the proxy's, and any of an
// adopted load balancer's own), this rule's excepted.
package rulevalidate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/ruletarget"
	"github.com/autostop/autostop/shared/steperr"
)

// Capacity of a load balancer.
const (
	// MaxTargetGroupsPerLoadBalancer is AWS's limit (not adjustable).
	MaxTargetGroupsPerLoadBalancer = 100
	// MaxRulesPerLoadBalancer: one target group is the proxy's.
	MaxRulesPerLoadBalancer = MaxTargetGroupsPerLoadBalancer - 1
)

// ELBv2 is the part of the Elastic Load Balancing v2 client the step uses.
type ELBv2 interface {
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
}

// EC2 is the part of the EC2 client the step uses.
type EC2 interface {
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	ruletarget.InstanceDescriber
}

// Rules reads the rules table.
type Rules interface {
	Get(ctx context.Context, host string, consistent bool) (rulestore.Item, error)
}

// Deps are what the step reads.
type Deps struct {
	// AWS returns the clients of a region (the load balancer's).
	AWS func(region string) (ELBv2, EC2)
	// Rules is the rules table.
	Rules Rules
	// Region is the function's: a load balancer named without a spec is
	// looked up there, as is a spec's without a region.
	Region string
}

// NewDeps builds the step's dependencies from the function's AWS config.
func NewDeps(cfg aws.Config, rules Rules) Deps {
	return Deps{
		AWS: func(region string) (ELBv2, EC2) {
			return elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.Region = region }),
				ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region })
		},
		Rules:  rules,
		Region: cfg.Region,
	}
}

// Decode reads the step's input: the document, leniently, and its detail,
// strictly (eventstart.ParseDetail: unknown fields and every static problem
// are an InvalidRequest).
func Decode(raw json.RawMessage) (ruledoc.AttachInput, eventstart.RuleCreated, error) {
	var in ruledoc.AttachInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return in, eventstart.RuleCreated{}, steperr.Invalid("AttachRule input: %s", err.Error())
	}
	d, err := eventstart.ParseDetail(in.Detail)
	if err != nil {
		return in, d, steperr.Invalid("AttachRule input: %s", err.Error())
	}

	return in, d, nil
}

// Validate makes every check of the package comment and returns the rule
// with its defaults and what the later steps need.
func Validate(ctx context.Context, d Deps, in ruledoc.AttachInput, detail eventstart.RuleCreated) (ruledoc.Validated, error) {
	if in.Execution == "" {
		return ruledoc.Validated{}, steperr.Invalid("validate rule: the execution name is required")
	}
	if err := detail.Rule.Check(); err != nil {
		return ruledoc.Validated{}, err
	}

	lb, err := findLoadBalancer(ctx, d, in, detail)
	if err != nil {
		return ruledoc.Validated{}, err
	}
	elb, ec2c := d.AWS(lb.Region)

	r := detail.Rule.WithDefaults(lb.Domain)
	out := ruledoc.Validated{Rule: r, LoadBalancer: lb}
	c := checks{}
	if msg := rule.HostProblem(r.Host, lb.Domain); msg != "" {
		c.invalid("rule.host: %s", msg)
	}

	out.Instances, err = checkInstances(ctx, ec2c, d.Rules, lb, r, &c)
	if err != nil {
		return out, err
	}
	if c.invalids == nil {
		// The host and the room only matter for a rule that could be
		// attached as it is.
		if out.Existing, err = checkHost(ctx, d.Rules, in.Execution, lb, r, &c); err != nil {
			return out, err
		}
		if out.Rules, err = checkRoom(ctx, elb, lb, r.Host, &c); err != nil {
			return out, err
		}
	}

	return out, c.err(r)
}

// checks collects problems: InvalidRequest ones first, then Conflicts.
type checks struct{ invalids, conflicts []string }

func (c *checks) invalid(format string, a ...any) {
	c.invalids = append(c.invalids, fmt.Sprintf(format, a...))
}

func (c *checks) conflict(format string, a ...any) {
	c.conflicts = append(c.conflicts, fmt.Sprintf(format, a...))
}

func (c *checks) err(r rule.Rule) error {
	switch {
	case len(c.invalids) > 0:
		return steperr.Invalid("AutoStopping rule %q cannot be attached: %s", r.Name, strings.Join(c.invalids, "; "))
	case len(c.conflicts) > 0:
		return steperr.Conflicting("AutoStopping rule %q cannot be attached: %s", r.Name, strings.Join(c.conflicts, "; "))
	}

	return nil
}

// findLoadBalancer finds the rule's load balancer, checks that it is
// autostop's and reads its domain, listener and VPC.
func findLoadBalancer(ctx context.Context, d Deps, in ruledoc.AttachInput, detail eventstart.RuleCreated) (ruledoc.LoadBalancer, error) {
	ref := detail.LoadBalancer
	out := ruledoc.LoadBalancer{Name: ref.LoadBalancerName(), Region: d.Region}
	if ref.Spec != nil && ref.Spec.Region != "" {
		out.Region = ref.Spec.Region
	}
	query := &elbv2.DescribeLoadBalancersInput{Names: []string{out.Name}}
	if arn := in.Provisioned.LoadBalancerARN(); arn != "" {
		out.Region = ruledoc.RegionOf(arn)
		query = &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}}
	}
	elb, ec2c := d.AWS(out.Region)

	lbs, err := elb.DescribeLoadBalancers(ctx, query)
	if steperr.HasCode(err, "LoadBalancerNotFound") || err == nil && len(lbs.LoadBalancers) == 0 {
		return out, steperr.Invalid("loadBalancer: load balancer %q does not exist in %s: provision it first, or give its spec in the event", out.Name, out.Region)
	}
	if err != nil {
		return out, fmt.Errorf("describe load balancer %s: %w", out.Name, err)
	}
	lb := lbs.LoadBalancers[0]
	out.ARN = aws.ToString(lb.LoadBalancerArn)
	if lb.Type != elbtypes.LoadBalancerTypeEnumApplication {
		return out, steperr.Conflicting("loadBalancer: %s is a %s load balancer, not an Application Load Balancer autostop provisioned", out.ARN, lb.Type)
	}

	if out.ListenerARN, out.ProxyTargetGroupARN, err = hostRuleListener(ctx, elb, out.ARN); err != nil {
		return out, err
	}
	tags, err := tagsOf(ctx, elb, []string{out.ProxyTargetGroupARN})
	if err != nil {
		return out, err
	}
	proxyTags := tags[out.ProxyTargetGroupARN]
	if !ownership.OwnedByLoadBalancer(proxyTags, out.Name) {
		return out, steperr.Conflicting("loadBalancer: %s is not an autostop load balancer: its listener %s forwards to target group %s, which does not carry autostop's tags for %s",
			out.ARN, out.ListenerARN, out.ProxyTargetGroupARN, out.Name)
	}
	if out.Domain = proxyTags[ownership.DomainKey]; out.Domain == "" {
		return out, steperr.Invalid("loadBalancer: the proxy target group %s of %s carries no %s tag: provision the load balancer again (ProvisionLoadBalancer with its spec) to record its domain",
			out.ProxyTargetGroupARN, out.Name, ownership.DomainKey)
	}

	out.VPCID, err = loadBalancerVPC(ctx, ec2c, lb)

	return out, err
}

// hostRuleListener returns the listener host rules go on (HTTPS 443, else
// HTTP 80) and the target group its default action forwards to.
func hostRuleListener(ctx context.Context, elb ELBv2, lbARN string) (listenerARN, targetGroupARN string, err error) {
	var listeners []elbtypes.Listener
	pages := elbv2.NewDescribeListenersPaginator(elb, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", "", fmt.Errorf("describe listeners of %s: %w", lbARN, err)
		}
		listeners = append(listeners, page.Listeners...)
	}

	var chosen *elbtypes.Listener
	for _, want := range []struct {
		protocol elbtypes.ProtocolEnum
		port     int32
	}{{elbtypes.ProtocolEnumHttps, 443}, {elbtypes.ProtocolEnumHttp, 80}} {
		for i := range listeners {
			if listeners[i].Protocol == want.protocol && aws.ToInt32(listeners[i].Port) == want.port {
				chosen = &listeners[i]
				break
			}
		}
		if chosen != nil {
			break
		}
	}
	if chosen == nil {
		return "", "", steperr.Invalid("loadBalancer: %s has no HTTPS 443 or HTTP 80 listener: its provisioning did not complete (provision it again)", lbARN)
	}

	listenerARN = aws.ToString(chosen.ListenerArn)
	for _, a := range chosen.DefaultActions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if arn := aws.ToString(a.TargetGroupArn); arn != "" {
			return listenerARN, arn, nil
		}
		if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) == 1 {
			return listenerARN, aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn), nil
		}
	}

	return listenerARN, "", steperr.Conflicting("loadBalancer: %s is not an autostop load balancer: the default action of its listener %s does not forward to one target group (autostop's proxy)", lbARN, listenerARN)
}

// loadBalancerVPC is the VPC of the load balancer's subnets (see the
// package comment), its VpcId when they cannot be read.
func loadBalancerVPC(ctx context.Context, ec2c EC2, lb elbtypes.LoadBalancer) (string, error) {
	var ids []string
	for _, az := range lb.AvailabilityZones {
		if id := aws.ToString(az.SubnetId); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return aws.ToString(lb.VpcId), nil
	}
	out, err := ec2c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: ids})
	if err != nil {
		return "", fmt.Errorf("describe subnets of load balancer %s: %w", aws.ToString(lb.LoadBalancerArn), err)
	}
	vpcs := map[string]bool{}
	for _, sn := range out.Subnets {
		if slices.Contains(ids, aws.ToString(sn.SubnetId)) {
			vpcs[aws.ToString(sn.VpcId)] = true
		}
	}
	if len(vpcs) == 1 {
		for v := range vpcs {
			return v, nil
		}
	}

	return aws.ToString(lb.VpcId), nil
}

// checkInstances checks the rule's instances and returns their states.
func checkInstances(ctx context.Context, ec2c EC2, rules Rules, lb ruledoc.LoadBalancer, r rule.Rule, c *checks) ([]ruledoc.Instance, error) {
	found, missing, err := ruletarget.DescribeInstances(ctx, ec2c, r.InstanceIDs)
	if err != nil {
		return nil, err
	}
	for _, id := range missing {
		c.invalid("rule.instanceIds: instance %s does not exist in %s", id, lb.Region)
	}

	var out []ruledoc.Instance
	for _, id := range r.InstanceIDs {
		inst, ok := found[id]
		if !ok {
			continue
		}
		var state string
		if inst.State != nil {
			state = string(inst.State.Name)
		}
		out = append(out, ruledoc.Instance{ID: id, State: state})

		switch state {
		case "terminated", "shutting-down":
			c.invalid("rule.instanceIds: instance %s is %s", id, state)
			continue
		}
		if vpc := aws.ToString(inst.VpcId); vpc != lb.VPCID {
			c.invalid("rule.instanceIds: instance %s is in VPC %q, load balancer %s in %s: the load balancer can only reach instances of its VPC", id, vpc, lb.Name, lb.VPCID)
		}
		if other := ruletarget.RuleTag(inst); other != "" && other != r.Host {
			holder := "whose attach did not complete (no rule item holds that host): detach host " + other + " first (event \"AutoStopping Rule Deleted\"), which removes the tag"
			it, err := rules.Get(ctx, other, true)
			switch {
			case err == nil:
				holder = fmt.Sprintf("%q on load balancer %s", it.Rule.Name, it.LoadBalancer)
			case !errors.Is(err, rulestore.ErrNotFound):
				return nil, err
			}
			c.conflict("instance %s is in the AutoStopping rule of host %s (%s): an instance belongs to one rule at most", id, other, holder)
		}
	}

	return out, nil
}

// checkHost checks that the host is free (see the package comment) and
// says why an existing item is no conflict.
func checkHost(ctx context.Context, rules Rules, execution string, lb ruledoc.LoadBalancer, r rule.Rule, c *checks) (string, error) {
	it, err := rules.Get(ctx, r.Host, true)
	if errors.Is(err, rulestore.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	switch {
	case it.AttachedBy == execution:
		return ruledoc.ExistingThisExecution, nil
	case it.LoadBalancer == lb.Name && ruledoc.SameRule(it.Rule, r):
		return ruledoc.ExistingIdenticalRule, nil
	}
	c.conflict("host %s already has the AutoStopping rule %q (load balancer %s, attached by %s): detach it first (event \"AutoStopping Rule Deleted\"), or pick another host",
		r.Host, it.Rule.Name, it.LoadBalancer, it.AttachedBy)

	return "", nil
}

// checkRoom counts the load balancer's target groups, this rule's excepted
// (see the package comment), and returns how many rules it holds with this
// one.
func checkRoom(ctx context.Context, elb ELBv2, lb ruledoc.LoadBalancer, host string, c *checks) (int, error) {
	used := map[string]bool{lb.ProxyTargetGroupARN: true} // every target group the load balancer uses or will use
	var candidates []string                               // possibly a rule's target group: read their tags
	pages := elbv2.NewDescribeTargetGroupsPaginator(elb, &elbv2.DescribeTargetGroupsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("describe target groups: %w", err)
		}
		for _, tg := range page.TargetGroups {
			arn := aws.ToString(tg.TargetGroupArn)
			if slices.Contains(tg.LoadBalancerArns, lb.ARN) {
				used[arn] = true
			}
			if arn != lb.ProxyTargetGroupARN && ruletarget.NameRE.MatchString(aws.ToString(tg.TargetGroupName)) {
				candidates = append(candidates, arn)
			}
		}
	}

	tags, err := tagsOf(ctx, elb, candidates)
	if err != nil {
		return 0, err
	}
	rules := 0
	for _, arn := range candidates {
		t := tags[arn]
		if !ownership.OwnedByLoadBalancer(t, lb.Name) || t[ownership.RuleKey] == "" {
			continue
		}
		if t[ownership.RuleKey] == host {
			delete(used, arn) // this rule's own, from an earlier attempt
			continue
		}
		used[arn] = true
		rules++
	}

	if len(used)+1 > MaxTargetGroupsPerLoadBalancer {
		c.conflict("load balancer %s has no room for another rule: it uses %d target groups (the proxy's and %d AutoStopping rules'); an Application Load Balancer has at most %d target groups and one is the proxy's, so it holds at most %d rules: attach the rule to another load balancer",
			lb.Name, len(used), rules, MaxTargetGroupsPerLoadBalancer, MaxRulesPerLoadBalancer)
	}

	return rules + 1, nil
}

// tagsOf reads the tags of Elastic Load Balancing resources, 20 per call.
func tagsOf(ctx context.Context, elb ELBv2, arns []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for chunk := range slices.Chunk(arns, 20) {
		page, err := elb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: chunk})
		if err != nil {
			return nil, fmt.Errorf("describe tags of %s: %w", strings.Join(chunk, ", "), err)
		}
		for _, d := range page.TagDescriptions {
			m := map[string]string{}
			for _, t := range d.Tags {
				m[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			out[aws.ToString(d.ResourceArn)] = m
		}
	}

	return out, nil
}
