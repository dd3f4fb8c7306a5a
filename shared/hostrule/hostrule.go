// Package hostrule manages a rule's host listener rule: the ALB listener rule
// "Host: <host> → the rule's instance target group". While it exists the
// ALB sends the host's traffic to the instances; without it the default
// rule sends it to the proxy. The wake adds it once the targets are healthy;
// the sleep (and DetachRule) delete it first.
//
// A host rule carries autostop's ownership tags plus autostop:rule=<host>
// in its create call; only such a rule is ever reused or deleted.
package hostrule

import (
	"context"

	"fmt"
	"hash/fnv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/steperr"
)

// Priorities of listener rules: 1–50000, unique per listener.
const (
	MinPriority = 1
	MaxPriority = 50000
	// maxProbes bounds the search for a free priority.
	maxProbes = 200
)

// Reader lists a listener's rules and their tags.
type Reader interface {
	DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
}

// ELBv2 is the part of the Elastic Load Balancing client Ensure uses.
type ELBv2 interface {
	Reader
	CreateRule(ctx context.Context, in *elbv2.CreateRuleInput, optFns ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error)
	ModifyRule(ctx context.Context, in *elbv2.ModifyRuleInput, optFns ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error)
}

// Deleter is the part of the Elastic Load Balancing client Delete uses.
type Deleter interface {
	Reader
	DeleteRule(ctx context.Context, in *elbv2.DeleteRuleInput, optFns ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error)
}

// Spec is the host rule a rule needs.
type Spec struct {
	ListenerARN    string
	Host           string
	TargetGroupARN string
	// Tags go into the create call: ownership.Tags of the load balancer and
	// execution, plus the rule's own tags. ownership.RuleKey is added.
	Tags map[string]string
}

// Result names the host rule.
type Result struct {
	ARN      string `json:"listenerRuleArn"`
	Priority int    `json:"priority"`
	// Created is true when this call created it, false when it existed.
	Created bool `json:"created"`
	// Modified: it existed but forwarded to another target group, and now
	// forwards to the rule's.
	Modified bool `json:"modified,omitempty"`
}

// Priority is where a host's rule is tried first: the same listener and host
// always give the same priority, so a re-run finds the rule where it left it
// and two hosts rarely collide.
func Priority(host string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(strings.ToLower(host)))

	return MinPriority + int(h.Sum32()%MaxPriority)
}

// Ensure finds the host rule of spec (autostop's, for this host; pointed at
// the target group when it forwards elsewhere) or creates it at the first free priority from
// Priority(host). A rule for the host that is not autostop's is a Conflict.
func Ensure(ctx context.Context, client ELBv2, spec Spec) (Result, error) {
	rules, err := listRules(ctx, client, spec.ListenerARN)
	if err != nil {
		return Result{}, err
	}
	used := map[int]bool{}
	for _, r := range rules {
		if p, ok := priority(r); ok {
			used[p] = true
		}
		if !matchesHost(r, spec.Host) {
			continue
		}
		ours, err := isOurs(ctx, client, aws.ToString(r.RuleArn), spec.Host)
		if err != nil {
			return Result{}, err
		}
		if !ours {
			return Result{}, steperr.Conflicting("listener %s already has a rule for host %s (%s) that autostop did not create: remove it or pick another host",
				spec.ListenerARN, spec.Host, aws.ToString(r.RuleArn))
		}
		p, _ := priority(r)
		res := Result{ARN: aws.ToString(r.RuleArn), Priority: p}
		if !forwardsTo(r, spec.TargetGroupARN) {
			// Left by an earlier attach of the host with another target
			// group: point it at this rule's.
			if _, err := client.ModifyRule(ctx, &elbv2.ModifyRuleInput{
				RuleArn: r.RuleArn,
				Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(spec.TargetGroupARN)}},
			}); err != nil {
				return Result{}, fmt.Errorf("point host rule %s of %s at %s: %w", res.ARN, spec.Host, spec.TargetGroupARN, err)
			}
			res.Modified = true
		}
		return res, nil
	}

	tags := make(map[string]string, len(spec.Tags)+1)
	for k, v := range spec.Tags {
		tags[k] = v
	}
	tags[ownership.RuleKey] = spec.Host
	var elbTags []elbtypes.Tag
	for _, k := range ownership.Keys(tags) {
		elbTags = append(elbTags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}

	p := Priority(spec.Host)
	for range maxProbes {
		for used[p] {
			p = p%MaxPriority + 1
		}
		out, err := client.CreateRule(ctx, &elbv2.CreateRuleInput{
			ListenerArn: aws.String(spec.ListenerARN),
			Priority:    aws.Int32(int32(p)),
			Conditions: []elbtypes.RuleCondition{{
				Field:            aws.String("host-header"),
				HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{spec.Host}},
			}},
			Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(spec.TargetGroupARN)}},
			Tags:    elbTags,
		})
		if steperr.HasCode(err, "PriorityInUse") {
			// Another rule took it since we listed: try the next one.
			used[p] = true
			continue
		}
		if err != nil {
			return Result{}, fmt.Errorf("create host rule for %s on %s at priority %d: %w", spec.Host, spec.ListenerARN, p, err)
		}
		if len(out.Rules) == 0 {
			return Result{}, fmt.Errorf("create host rule for %s: the response names no rule", spec.Host)
		}

		return Result{ARN: aws.ToString(out.Rules[0].RuleArn), Priority: p, Created: true}, nil
	}

	return Result{}, fmt.Errorf("create host rule for %s: no free priority after %d tries", spec.Host, maxProbes)
}

// Delete removes the host's rule from the listener when it is autostop's;
// none is not an error. It returns the ARN deleted ("" when none).
func Delete(ctx context.Context, client Deleter, listenerARN, host string) (string, error) {
	rules, err := listRules(ctx, client, listenerARN)
	if err != nil {
		return "", err
	}
	for _, r := range rules {
		if !matchesHost(r, host) {
			continue
		}
		arn := aws.ToString(r.RuleArn)
		ours, err := isOurs(ctx, client, arn, host)
		if err != nil {
			return "", err
		}
		if !ours {
			continue // never delete what autostop did not create
		}
		_, err = client.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(arn)})
		if err != nil && !steperr.HasCode(err, "RuleNotFound") {
			return "", fmt.Errorf("delete host rule %s of %s: %w", arn, host, err)
		}

		return arn, nil
	}

	return "", nil
}

// listRules reads every rule of the listener.
func listRules(ctx context.Context, client Reader, listenerARN string) ([]elbtypes.Rule, error) {
	var out []elbtypes.Rule
	var marker *string
	for {
		page, err := client.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerARN), Marker: marker})
		if steperr.HasCode(err, "ListenerNotFound") {
			return nil, steperr.Missing("listener %s does not exist: provision the load balancer again", listenerARN)
		}
		if err != nil {
			return nil, fmt.Errorf("describe rules of %s: %w", listenerARN, err)
		}
		out = append(out, page.Rules...)
		if page.NextMarker == nil || aws.ToString(page.NextMarker) == "" {
			return out, nil
		}
		marker = page.NextMarker
	}
}

// matchesHost reports whether a rule's only condition is host-header = host.
func matchesHost(r elbtypes.Rule, host string) bool {
	if aws.ToBool(r.IsDefault) || len(r.Conditions) != 1 {
		return false
	}
	c := r.Conditions[0]
	if aws.ToString(c.Field) != "host-header" {
		return false
	}
	values := c.Values
	if c.HostHeaderConfig != nil && len(c.HostHeaderConfig.Values) > 0 {
		values = c.HostHeaderConfig.Values
	}

	return len(values) == 1 && strings.EqualFold(values[0], host)
}

// forwardsTo reports whether the rule's only action forwards to tg alone.
func forwardsTo(r elbtypes.Rule, tg string) bool {
	if len(r.Actions) != 1 || r.Actions[0].Type != elbtypes.ActionTypeEnumForward {
		return false
	}
	a := r.Actions[0]
	if aws.ToString(a.TargetGroupArn) == tg {
		return true
	}
	fc := a.ForwardConfig

	return fc != nil && len(fc.TargetGroups) == 1 && aws.ToString(fc.TargetGroups[0].TargetGroupArn) == tg
}

func priority(r elbtypes.Rule) (int, bool) {
	var p int
	_, err := fmt.Sscanf(aws.ToString(r.Priority), "%d", &p)

	return p, err == nil
}

// isOurs reports whether the rule carries autostop's tags for this host.
func isOurs(ctx context.Context, client Reader, arn, host string) (bool, error) {
	out, err := client.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return false, fmt.Errorf("describe tags of %s: %w", arn, err)
	}
	for _, d := range out.TagDescriptions {
		tags := map[string]string{}
		for _, t := range d.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if tags[ownership.ManagedByKey] == ownership.ManagedByValue && strings.EqualFold(tags[ownership.RuleKey], host) {
			return true, nil
		}
	}

	return false, nil
}
