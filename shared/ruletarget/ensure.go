package ruletarget

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/targetgroup"
)

// Ensure is the EnsureRuleTarget step (see the package comment). It needs
// ValidateRule's result.
//
// Reported actions: the target group is "created" when it carries this
// execution's tag (also on a retry), "adopted" when an earlier execution
// created it for the same host and load balancer; a target or an instance
// tag is "created" when this call added it, "adopted" when it was there; a
// registered target that is not one of the rule's instances (on the rule's
// port) is deregistered and reported "deleted".
//
// Errors: Conflict when a target group of that name exists and is not the
// rule's (another owner, another host or load balancer) or has other
// settings (left by an earlier attach of the same host: detach the rule
// first), or when an instance carries another rule's tag (it was attached
// meanwhile).
func Ensure(ctx context.Context, c Clients, in ruledoc.AttachInput) (ruledoc.TargetResult, error) {
	v := in.Validated
	if v == nil || in.Execution == "" {
		return ruledoc.TargetResult{}, steperr.Invalid("ensure rule target: the validated rule and the execution are required (ValidateRule runs first)")
	}
	d := desiredFor(*v, in.Execution)
	res := ruledoc.TargetResult{TargetGroupName: d.name, Resources: []step.Resource{}}
	add := func(kind, id, action string) {
		res.Resources = append(res.Resources, step.Resource{Kind: kind, ID: id, Action: action})
	}

	arn, action, err := ensureTargetGroup(ctx, c.ELBv2, d)
	if err != nil {
		return res, err
	}
	res.TargetGroupARN = arn
	add(ruledoc.KindTargetGroup, arn, action)

	targets, err := ensureTargets(ctx, c.ELBv2, arn, v.Rule.InstanceIDs, int32(v.Rule.Port))
	res.Resources = append(res.Resources, targets...)
	if err != nil {
		return res, err
	}

	tags, err := ensureInstanceTags(ctx, c.EC2, v.Rule.Host, v.Rule.InstanceIDs)
	res.Resources = append(res.Resources, tags...)

	return res, err
}

// desired is the rule's target group.
type desired struct {
	name, host, lb, vpc string
	port                int32
	hc                  rule.HealthCheck
	tags                map[string]string
	owner               Owner
}

func desiredFor(v ruledoc.Validated, execution string) desired {
	hc := rule.DefaultHealthCheck()
	if v.Rule.HealthCheck != nil {
		hc = *v.Rule.HealthCheck
	}
	tags := ownership.Tags(v.LoadBalancer.Name, execution, v.Rule.Tags)
	tags[ownership.RuleKey] = v.Rule.Host

	return desired{
		name: TargetGroupName(v.Rule.Name, v.Rule.Host), host: v.Rule.Host, lb: v.LoadBalancer.Name, vpc: v.LoadBalancer.VPCID,
		port: int32(v.Rule.Port), hc: hc, tags: tags,
		owner: Owner{Host: v.Rule.Host, LoadBalancer: v.LoadBalancer.Name},
	}
}

// ensureTargetGroup finds the rule's target group by name or creates it,
// and checks that it is the rule's, with the rule's settings.
func ensureTargetGroup(ctx context.Context, e ELBv2, d desired) (arn, action string, err error) {
	tg, err := targetgroup.Find(ctx, e, d.name)
	if err != nil {
		return "", "", err
	}
	if tg == nil {
		tg, err = createTargetGroup(ctx, e, d)
		if err != nil {
			return "", "", err
		}
	}
	arn = aws.ToString(tg.TargetGroupArn)

	tags, err := targetgroup.Tags(ctx, e, arn)
	if err != nil {
		return "", "", err
	}
	if !d.owner.Owns(tags) {
		return "", "", steperr.Conflicting("target group %s (%s) exists and is not autostop's for rule host %s on load balancer %s (tags %s=%q, %s=%q, %s=%q)",
			d.name, arn, d.host, d.lb, ownership.ManagedByKey, tags[ownership.ManagedByKey], ownership.LoadBalancerKey, tags[ownership.LoadBalancerKey], ownership.RuleKey, tags[ownership.RuleKey])
	}
	if diff := settingsDiff(*tg, d); len(diff) > 0 {
		return "", "", steperr.Conflicting("target group %s (%s) of rule host %s exists with other settings (%s), left by an earlier attach: detach the rule (event \"AutoStopping Rule Deleted\") and attach it again",
			d.name, arn, d.host, strings.Join(diff, ", "))
	}
	if tags[ownership.ExecutionKey] == d.tags[ownership.ExecutionKey] {
		return arn, step.Created, nil
	}

	return arn, step.Adopted, nil
}

func createTargetGroup(ctx context.Context, e ELBv2, d desired) (*elbtypes.TargetGroup, error) {
	elbTags := make([]elbtypes.Tag, 0, len(d.tags))
	for _, k := range ownership.Keys(d.tags) {
		elbTags = append(elbTags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(d.tags[k])})
	}
	out, err := e.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name:                       aws.String(d.name),
		TargetType:                 elbtypes.TargetTypeEnumInstance,
		Protocol:                   elbtypes.ProtocolEnumHttp,
		Port:                       aws.Int32(d.port),
		VpcId:                      aws.String(d.vpc),
		HealthCheckEnabled:         aws.Bool(true),
		HealthCheckProtocol:        elbtypes.ProtocolEnumHttp,
		HealthCheckPath:            aws.String(d.hc.Path),
		HealthCheckIntervalSeconds: aws.Int32(int32(d.hc.IntervalSeconds)),
		HealthCheckTimeoutSeconds:  aws.Int32(int32(d.hc.TimeoutSeconds)),
		HealthyThresholdCount:      aws.Int32(int32(d.hc.HealthyThresholdCount)),
		UnhealthyThresholdCount:    aws.Int32(int32(d.hc.UnhealthyThresholdCount)),
		Matcher:                    &elbtypes.Matcher{HttpCode: aws.String(d.hc.SuccessCodes)},
		Tags:                       elbTags,
	})
	if steperr.HasCode(err, codeDuplicateTGName) {
		// It exists with other settings: say whose it is and how it differs.
		tg, ferr := targetgroup.Find(ctx, e, d.name)
		if ferr != nil || tg == nil {
			return nil, fmt.Errorf("create target group %s: %w", d.name, err)
		}
		return tg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("create target group %s: %w", d.name, err)
	}
	if len(out.TargetGroups) == 0 {
		return nil, fmt.Errorf("create target group %s: no target group in the answer", d.name)
	}

	// CreateTargetGroup returns an existing target group of the same name
	// and settings: the tags decide whose it is.
	return &out.TargetGroups[0], nil
}

// settingsDiff lists how a target group differs from the rule's.
func settingsDiff(tg elbtypes.TargetGroup, d desired) []string {
	var diff []string
	check := func(field string, got, want any) {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			diff = append(diff, fmt.Sprintf("%s %v, the rule's %v", field, got, want))
		}
	}
	check("target type", tg.TargetType, elbtypes.TargetTypeEnumInstance)
	check("protocol", tg.Protocol, elbtypes.ProtocolEnumHttp)
	check("port", aws.ToInt32(tg.Port), d.port)
	check("VPC", aws.ToString(tg.VpcId), d.vpc)
	check("health check path", aws.ToString(tg.HealthCheckPath), d.hc.Path)
	check("health check interval", aws.ToInt32(tg.HealthCheckIntervalSeconds), d.hc.IntervalSeconds)
	check("health check timeout", aws.ToInt32(tg.HealthCheckTimeoutSeconds), d.hc.TimeoutSeconds)
	check("healthy threshold", aws.ToInt32(tg.HealthyThresholdCount), d.hc.HealthyThresholdCount)
	check("unhealthy threshold", aws.ToInt32(tg.UnhealthyThresholdCount), d.hc.UnhealthyThresholdCount)
	var codes string
	if tg.Matcher != nil {
		codes = aws.ToString(tg.Matcher.HttpCode)
	}
	check("success codes", codes, d.hc.SuccessCodes)

	return diff
}

// ensureTargets registers the instances on port and deregisters any other
// target (another instance, or an instance on another port).
func ensureTargets(ctx context.Context, e ELBv2, tgARN string, ids []string, port int32) ([]step.Resource, error) {
	registered, err := registeredTargets(ctx, e, tgARN)
	if err != nil {
		return nil, err
	}

	var (
		out      []step.Resource
		register []elbtypes.TargetDescription
		others   []elbtypes.TargetDescription
	)
	want := map[string]bool{}
	for _, id := range ids {
		key := targetID(id, port)
		want[key] = true
		if registered[key] {
			out = append(out, step.Resource{Kind: ruledoc.KindTarget, ID: key, Action: step.Adopted})
			continue
		}
		register = append(register, elbtypes.TargetDescription{Id: aws.String(id), Port: aws.Int32(port)})
		out = append(out, step.Resource{Kind: ruledoc.KindTarget, ID: key, Action: step.Created})
	}
	for _, key := range sortedKeys(registered) {
		if want[key] {
			continue
		}
		id, p := splitTargetID(key)
		others = append(others, elbtypes.TargetDescription{Id: aws.String(id), Port: aws.Int32(p)})
		out = append(out, step.Resource{Kind: ruledoc.KindTarget, ID: key, Action: step.Deleted})
	}

	if len(register) > 0 {
		if _, err := e.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: register}); err != nil {
			return nil, fmt.Errorf("register the rule's instances in %s: %w", tgARN, err)
		}
	}
	if len(others) > 0 {
		if _, err := e.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: others}); err != nil {
			return nil, fmt.Errorf("deregister targets that are not the rule's from %s: %w", tgARN, err)
		}
	}

	return out, nil
}

// registeredTargets returns the target group's registered targets as
// "<id>:<port>", without those on their way out (draining) or not
// registered.
func registeredTargets(ctx context.Context, e ELBv2, tgARN string) (map[string]bool, error) {
	health, err := e.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		return nil, fmt.Errorf("describe targets of %s: %w", tgARN, err)
	}
	out := map[string]bool{}
	for _, d := range health.TargetHealthDescriptions {
		if d.Target == nil || targetgroup.IsLeaving(d) {
			continue
		}
		out[targetID(aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port))] = true
	}

	return out, nil
}

func targetID(id string, port int32) string { return id + ":" + strconv.Itoa(int(port)) }

func splitTargetID(key string) (string, int32) {
	i := strings.LastIndex(key, ":")
	p, _ := strconv.Atoi(key[i+1:])

	return key[:i], int32(p)
}

// ensureInstanceTags tags the instances autostop:rule=<host> where the tag
// is missing. An instance tagged for another host is a Conflict (it was
// attached to another rule since ValidateRule looked).
func ensureInstanceTags(ctx context.Context, c EC2, host string, ids []string) ([]step.Resource, error) {
	instances, missing, err := DescribeInstances(ctx, c, ids)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, steperr.Invalid("instances %s do not exist (any more)", strings.Join(missing, ", "))
	}

	var (
		out   []step.Resource
		toTag []string
	)
	for _, id := range ids {
		switch tag := instanceTag(instances[id], ownership.RuleKey); tag {
		case host:
			out = append(out, step.Resource{Kind: ruledoc.KindInstanceTag, ID: id, Action: step.Adopted})
		case "":
			toTag = append(toTag, id)
			out = append(out, step.Resource{Kind: ruledoc.KindInstanceTag, ID: id, Action: step.Created})
		default:
			return nil, steperr.Conflicting("instance %s is in the AutoStopping rule of host %s (tag %s): an instance belongs to one rule at most", id, tag, ownership.RuleKey)
		}
	}
	if len(toTag) == 0 {
		return out, nil
	}

	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: toTag,
		Tags:      []ec2types.Tag{{Key: aws.String(ownership.RuleKey), Value: aws.String(host)}},
	})
	if err != nil {
		return nil, fmt.Errorf("tag instances %s with %s=%s: %w", strings.Join(toTag, ", "), ownership.RuleKey, host, err)
	}

	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)

	return out
}
