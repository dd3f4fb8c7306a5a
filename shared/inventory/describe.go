package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/rulestore"
)

// ErrNotFound: no autostop load balancer (or rule) has that name.
var ErrNotFound = errors.New("not found")

// Detail is one load balancer, as `lb describe --output json` prints it.
type Detail struct {
	LoadBalancer LoadBalancer `json:"loadBalancer"`
	// SecurityGroups of the ALB.
	SecurityGroups []string   `json:"securityGroups"`
	Listeners      []Listener `json:"listeners"`
	// ProxyTargets are the proxy target group's targets: the proxy
	// function's alias.
	ProxyTargets []string `json:"proxyTargets"`
	Rules        []Rule   `json:"rules"`
}

// Listener is one of the ALB's listeners.
type Listener struct {
	ARN          string   `json:"arn"`
	Port         int32    `json:"port"`
	Protocol     string   `json:"protocol"`
	Certificates []string `json:"certificates,omitempty"`
	// DefaultAction: "forward <target group name>", "redirect to
	// HTTPS:443", or the action's type.
	DefaultAction string `json:"defaultAction"`
	// HostRules counts the listener's rules besides the default one (an
	// awake AutoStopping rule has one).
	HostRules int `json:"hostRules"`
}

// Rule is an AutoStopping rule as `rules list --output json` prints it.
type Rule struct {
	Name         string   `json:"name"`
	Host         string   `json:"host"`
	LoadBalancer string   `json:"loadBalancer"`
	State        string   `json:"state"`
	InstanceIDs  []string `json:"instanceIds"`
	Port         int      `json:"port"`
	IdleMinutes  int      `json:"idleMinutes"`
	DryRun       bool     `json:"dryRun,omitempty"`
	// ReadyAt and StoppedAt are when traffic last went to the instances,
	// and when they were last stopped.
	ReadyAt   time.Time `json:"readyAt,omitzero"`
	StoppedAt time.Time `json:"stoppedAt,omitzero"`
	LastError string    `json:"lastError,omitempty"`
	Broken    string    `json:"broken,omitempty"`
}

// RuleOf summarizes a rules table item.
func RuleOf(it rulestore.Item) Rule {
	return Rule{
		Name: it.Rule.Name, Host: it.Host, LoadBalancer: it.LoadBalancer, State: string(it.State),
		InstanceIDs: it.Rule.InstanceIDs, Port: it.Rule.Port, IdleMinutes: it.Rule.IdleMinutes, DryRun: it.Rule.DryRun,
		ReadyAt: it.ReadyAt, StoppedAt: it.StoppedAt, LastError: it.LastError, Broken: it.Broken,
	}
}

// Describe returns the load balancer called name with its listeners,
// proxy targets and rules; ErrNotFound when autostop has none of that name.
func (r Reader) Describe(ctx context.Context, name string) (Detail, error) {
	inv, err := r.read(ctx)
	if err != nil {
		return Detail{}, err
	}
	i := slices.IndexFunc(inv.loadBalancers, func(lb LoadBalancer) bool { return lb.Name == name })
	if i < 0 {
		return Detail{}, fmt.Errorf("load balancer %s: %w", name, ErrNotFound)
	}
	d := Detail{LoadBalancer: inv.loadBalancers[i], SecurityGroups: []string{}, Listeners: []Listener{}, ProxyTargets: []string{}, Rules: []Rule{}}

	if d.LoadBalancer.ARN != "" {
		d.SecurityGroups = append(d.SecurityGroups, inv.securityGroups[d.LoadBalancer.ARN]...)
		if d.Listeners, err = r.listeners(ctx, d.LoadBalancer.ARN); err != nil {
			return Detail{}, err
		}
	}
	health, err := r.ELBv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(d.LoadBalancer.ProxyTargetGroupARN)})
	if err != nil {
		return Detail{}, fmt.Errorf("describe targets of %s: %w", d.LoadBalancer.ProxyTargetGroupARN, err)
	}
	for _, h := range health.TargetHealthDescriptions {
		if h.Target != nil {
			d.ProxyTargets = append(d.ProxyTargets, aws.ToString(h.Target.Id))
		}
	}
	for _, it := range inv.rules {
		if it.LoadBalancer == name {
			d.Rules = append(d.Rules, RuleOf(it))
		}
	}
	slices.SortFunc(d.Rules, func(a, b Rule) int { return strings.Compare(a.Host, b.Host) })

	return d, nil
}

// listeners describes the ALB's listeners, by port.
func (r Reader) listeners(ctx context.Context, lbARN string) ([]Listener, error) {
	out := []Listener{}
	in := &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)}
	for {
		page, err := r.ELBv2.DescribeListeners(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe listeners of %s: %w", lbARN, err)
		}
		for _, l := range page.Listeners {
			li := Listener{ARN: aws.ToString(l.ListenerArn), Port: aws.ToInt32(l.Port), Protocol: string(l.Protocol), DefaultAction: defaultAction(l.DefaultActions)}
			for _, c := range l.Certificates {
				li.Certificates = append(li.Certificates, aws.ToString(c.CertificateArn))
			}
			rules, err := r.ELBv2.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: l.ListenerArn})
			if err != nil {
				return nil, fmt.Errorf("describe rules of listener %s: %w", li.ARN, err)
			}
			for _, rule := range rules.Rules {
				if !aws.ToBool(rule.IsDefault) {
					li.HostRules++
				}
			}
			out = append(out, li)
		}
		if aws.ToString(page.NextMarker) == "" {
			break
		}
		in.Marker = page.NextMarker
	}
	slices.SortFunc(out, func(a, b Listener) int { return int(a.Port - b.Port) })

	return out, nil
}

// defaultAction says what a listener's default action does.
func defaultAction(actions []elbtypes.Action) string {
	if len(actions) == 0 {
		return "none"
	}
	a := actions[0]
	switch {
	case a.Type == elbtypes.ActionTypeEnumForward && a.TargetGroupArn != nil:
		return "forward " + targetGroupName(aws.ToString(a.TargetGroupArn))
	case a.Type == elbtypes.ActionTypeEnumForward && a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0:
		return "forward " + targetGroupName(aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn))
	case a.Type == elbtypes.ActionTypeEnumRedirect && a.RedirectConfig != nil:
		return "redirect to " + aws.ToString(a.RedirectConfig.Protocol) + ":" + aws.ToString(a.RedirectConfig.Port)
	}

	return string(a.Type)
}

// targetGroupName reads a target group's name from its ARN
// (…:targetgroup/<name>/<id>).
func targetGroupName(arn string) string {
	parts := strings.Split(arn, "/")
	if len(parts) >= 3 {
		return parts[len(parts)-2]
	}

	return arn
}
