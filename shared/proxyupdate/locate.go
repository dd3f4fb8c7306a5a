package proxyupdate

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/targetgroup"
)

// Locate finds the load balancer's proxy: its HTTPS listener on 443 (else
// its HTTP listener) → the default action → autostop's proxy target group
// → the Lambda alias registered there. It only reads; every link must be
// autostop's, or the update stops here (InvalidRequest) before anything
// changed.
func Locate(ctx context.Context, e ELBv2, l Lambda, in Input) (Located, error) {
	name := in.Request.Name
	if name == "" || in.Request.CodeSha256 == "" {
		return Located{}, steperr.Invalid("update proxy: the request needs the load balancer's name and the uploaded code's codeSha256")
	}
	lbs, err := e.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if steperr.HasCode(err, "LoadBalancerNotFound") || (err == nil && len(lbs.LoadBalancers) == 0) {
		return Located{}, steperr.Invalid("load balancer %s does not exist", name)
	}
	if err != nil {
		return Located{}, fmt.Errorf("describe load balancer %s: %w", name, err)
	}
	loc := Located{LoadBalancerARN: aws.ToString(lbs.LoadBalancers[0].LoadBalancerArn)}

	listeners, err := e.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(loc.LoadBalancerARN)})
	if err != nil {
		return Located{}, fmt.Errorf("describe listeners of %s: %w", name, err)
	}
	listener := proxyListener(listeners.Listeners)
	if listener == nil {
		return Located{}, steperr.Invalid("load balancer %s has no listener forwarding to a target group (HTTPS on 443, or HTTP): is it provisioned by autostop?", name)
	}
	loc.ListenerARN = aws.ToString(listener.ListenerArn)
	loc.TargetGroupARN = forwardTarget(listener.DefaultActions)

	tags, err := targetgroup.Tags(ctx, e, loc.TargetGroupARN)
	if err != nil {
		return Located{}, err
	}
	if !ownership.OwnedByLoadBalancer(tags, name) || !strings.Contains(loc.TargetGroupARN, ":targetgroup/"+targetgroup.ProxyName(name)+"/") {
		return Located{}, steperr.Invalid("the default action of %s's listener %s forwards to %s, which is not autostop's proxy target group for it",
			name, loc.ListenerARN, loc.TargetGroupARN)
	}
	loc.Domain = tags[ownership.DomainKey]

	health, err := e.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(loc.TargetGroupARN)})
	if err != nil {
		return Located{}, fmt.Errorf("describe targets of %s: %w", loc.TargetGroupARN, err)
	}
	if len(health.TargetHealthDescriptions) != 1 || health.TargetHealthDescriptions[0].Target == nil {
		return Located{}, steperr.Invalid("proxy target group %s has %d targets, want the proxy function's alias", loc.TargetGroupARN, len(health.TargetHealthDescriptions))
	}
	loc.AliasARN = aws.ToString(health.TargetHealthDescriptions[0].Target.Id)
	var ok bool
	if loc.FunctionName, loc.Alias, ok = SplitAliasARN(loc.AliasARN); !ok {
		return Located{}, steperr.Invalid("the target of %s is %s, not a Lambda alias", loc.TargetGroupARN, loc.AliasARN)
	}

	alias, err := l.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(loc.FunctionName), Name: aws.String(loc.Alias)})
	if err != nil {
		return Located{}, fmt.Errorf("get alias %s: %w", loc.AliasARN, err)
	}
	loc.PreviousVersion, loc.AliasRevisionID = aws.ToString(alias.FunctionVersion), aws.ToString(alias.RevisionId)

	return loc, nil
}

// proxyListener is the listener whose default action reaches the proxy:
// HTTPS on 443 when there is one (port 80 then redirects), else the first
// HTTP listener that forwards.
func proxyListener(ls []elbtypes.Listener) *elbtypes.Listener {
	var http *elbtypes.Listener
	for i := range ls {
		l := &ls[i]
		if forwardTarget(l.DefaultActions) == "" {
			continue
		}
		if l.Protocol == elbtypes.ProtocolEnumHttps && aws.ToInt32(l.Port) == 443 {
			return l
		}
		if l.Protocol == elbtypes.ProtocolEnumHttp && http == nil {
			http = l
		}
	}

	return http
}

// forwardTarget is the target group a default action forwards to, or "".
func forwardTarget(actions []elbtypes.Action) string {
	for _, a := range actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if a.TargetGroupArn != nil {
			return aws.ToString(a.TargetGroupArn)
		}
		if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) == 1 {
			return aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn)
		}
	}

	return ""
}

// SplitAliasARN reads a qualified function ARN
// (arn:aws:lambda:<region>:<account>:function:<name>:<alias>).
func SplitAliasARN(arn string) (function, alias string, ok bool) {
	_, rest, found := strings.Cut(arn, ":function:")
	if !found {
		return "", "", false
	}
	function, alias, found = strings.Cut(rest, ":")
	if !found || function == "" || alias == "" || alias == "$LATEST" {
		return "", "", false
	}

	return function, alias, true
}
