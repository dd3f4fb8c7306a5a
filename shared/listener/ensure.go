package listener

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// SSLPolicy is the security policy of the HTTPS listener: TLS 1.3 and 1.2.
const SSLPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// Listener ports.
const (
	HTTPPort  int32 = 80
	HTTPSPort int32 = 443
)

// desiredListener is one listener the load balancer must have.
type desiredListener struct {
	port     int32
	protocol types.ProtocolEnum
	// certificateARN and sslPolicy are set for HTTPS only.
	certificateARN string
	sslPolicy      string
	action         types.Action
}

// desired synthesizes the listeners of an autostop load balancer. HTTPS
// comes first, so that when a certificate is added to an HTTP-only load
// balancer the HTTPS listener exists before HTTP starts redirecting to it.
func desired(targetGroupARN, certificateARN string) []desiredListener {
	forward := forwardTo(targetGroupARN)
	if certificateARN == "" {
		return []desiredListener{{port: HTTPPort, protocol: types.ProtocolEnumHttp, action: forward}}
	}

	return []desiredListener{
		{port: HTTPSPort, protocol: types.ProtocolEnumHttps, certificateARN: certificateARN, sslPolicy: SSLPolicy, action: forward},
		{port: HTTPPort, protocol: types.ProtocolEnumHttp, action: redirectToHTTPS()},
	}
}

// forwardTo is a default action forwarding to one target group.
func forwardTo(targetGroupARN string) types.Action {
	return types.Action{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(targetGroupARN)}
}

// redirectToHTTPS is the HTTP listener's action beside an HTTPS listener.
func redirectToHTTPS() types.Action {
	return types.Action{
		Type: types.ActionTypeEnumRedirect,
		RedirectConfig: &types.RedirectActionConfig{
			Protocol: aws.String("HTTPS"), Port: aws.String("443"),
			Host: aws.String("#{host}"), Path: aws.String("/#{path}"), Query: aws.String("#{query}"),
			StatusCode: types.RedirectActionStatusCodeEnumHttp301,
		},
	}
}

// Ensure makes the load balancer's listeners match the desired ones: it
// creates the missing ones (with ownership tags in the create call),
// modifies autostop's own listeners that drifted, and fails with Conflict
// when a listener it does not own holds a port it needs. When everything is
// in place it makes no mutating call.
func Ensure(ctx context.Context, api ELBv2, in step.Input) (step.ListenersResult, error) {
	var lbARN, tgARN, certARN string
	if lb := in.Results.LoadBalancer; lb != nil {
		lbARN = lb.ARN
	}
	if pt := in.Results.ProxyTarget; pt != nil {
		tgARN = pt.TargetGroupARN
	}
	if c := in.Results.Certificate; c != nil {
		certARN = c.ARN
	}
	switch {
	case lbARN == "":
		return step.ListenersResult{}, steperr.Invalid("ensure listeners: no load balancer ARN in the results")
	case tgARN == "":
		return step.ListenersResult{}, steperr.Invalid("ensure listeners: no proxy target group ARN in the results")
	case in.Spec.Name == "" || in.Execution == "":
		return step.ListenersResult{}, steperr.Invalid("ensure listeners: load balancer name and execution are required")
	}

	existing, err := listLoadBalancerListeners(ctx, api, lbARN)
	if err != nil {
		return step.ListenersResult{}, classify(fmt.Errorf("describe listeners of %s: %w", lbARN, err))
	}
	want := desired(tgARN, certARN)

	onPort := make(map[int32]types.Listener, len(existing))
	var arns []string
	for _, l := range existing {
		for _, d := range want {
			if aws.ToInt32(l.Port) == d.port {
				onPort[d.port] = l
				arns = append(arns, aws.ToString(l.ListenerArn))
			}
		}
	}
	tags := map[string]map[string]string{}
	if len(arns) > 0 {
		if tags, err = listenerTags(ctx, api, arns); err != nil {
			return step.ListenersResult{}, classify(err)
		}
	}

	// Every port first: a conflict fails the step before anything changes.
	for _, d := range want {
		if cur, ok := onPort[d.port]; ok {
			arn := aws.ToString(cur.ListenerArn)
			if !ownership.OwnedByLoadBalancer(tags[arn], in.Spec.Name) {
				return step.ListenersResult{}, steperr.Conflicting(
					"port %d of load balancer %s has listener %s, which autostop does not own: it will not be changed", d.port, lbARN, arn)
			}
		}
	}

	var out step.ListenersResult
	for _, d := range want {
		arn, action, err := reconcile(ctx, api, in, lbARN, d, onPort, tags)
		if err != nil {
			return step.ListenersResult{}, err
		}
		out.Resources = append(out.Resources, step.Resource{Kind: Kind, ID: arn, Action: action})
		if d.port == HTTPSPort {
			out.HTTPSListenerARN = arn
		} else {
			out.HTTPListenerARN = arn
		}
	}

	return out, nil
}

// reconcile brings one port to its desired listener and returns the
// listener's ARN and what was done.
func reconcile(ctx context.Context, api ELBv2, in step.Input, lbARN string, d desiredListener,
	onPort map[int32]types.Listener, tags map[string]map[string]string,
) (string, string, error) {
	cur, ok := onPort[d.port]
	if !ok {
		res, err := api.CreateListener(ctx, &elbv2.CreateListenerInput{
			LoadBalancerArn: aws.String(lbARN),
			Port:            aws.Int32(d.port),
			Protocol:        d.protocol,
			Certificates:    certificates(d),
			SslPolicy:       sslPolicy(d),
			DefaultActions:  []types.Action{d.action},
			Tags:            sdkTags(ownership.Tags(in.Spec.Name, in.Execution, in.Spec.Tags)),
		})
		if err != nil {
			return "", "", classify(fmt.Errorf("create %s listener on port %d of %s: %w", d.protocol, d.port, lbARN, err))
		}
		if len(res.Listeners) == 0 {
			return "", "", fmt.Errorf("create %s listener on port %d of %s: no listener returned", d.protocol, d.port, lbARN)
		}

		return aws.ToString(res.Listeners[0].ListenerArn), step.Created, nil
	}

	// Ownership was checked by Ensure.
	arn := aws.ToString(cur.ListenerArn)
	t := tags[arn]
	// A listener this execution created (on an earlier attempt of this step)
	// is reported as created, so the audit and the rollback agree.
	unchanged := step.Adopted
	if ownership.CreatedBy(t, in.Spec.Name, in.Execution) {
		unchanged = step.Created
	}
	if matches(cur, d) {
		return arn, unchanged, nil
	}

	// Remember what it was, for this execution's rollback, before changing
	// it (unless an earlier attempt of this execution already did: then the
	// tags hold the state before this execution, which is what counts).
	if t[ModifiedByKey] != in.Execution {
		if _, err := api.AddTags(ctx, &elbv2.AddTagsInput{
			ResourceArns: []string{arn}, Tags: sdkTags(previousTags(cur, in.Execution)),
		}); err != nil {
			return "", "", classify(fmt.Errorf("tag listener %s with its configuration before the change: %w", arn, err))
		}
	}
	if _, err := api.ModifyListener(ctx, &elbv2.ModifyListenerInput{
		ListenerArn:    aws.String(arn),
		Port:           aws.Int32(d.port),
		Protocol:       d.protocol,
		Certificates:   certificates(d),
		SslPolicy:      sslPolicy(d),
		DefaultActions: []types.Action{d.action},
	}); err != nil {
		return "", "", classify(fmt.Errorf("modify listener %s (port %d): %w", arn, d.port, err))
	}

	return arn, step.Updated, nil
}

func certificates(d desiredListener) []types.Certificate {
	if d.certificateARN == "" {
		return nil
	}

	return []types.Certificate{{CertificateArn: aws.String(d.certificateARN)}}
}

func sslPolicy(d desiredListener) *string {
	if d.sslPolicy == "" {
		return nil
	}

	return aws.String(d.sslPolicy)
}

// matches reports whether an existing listener already is the desired one.
func matches(cur types.Listener, d desiredListener) bool {
	if cur.Protocol != d.protocol {
		return false
	}
	if d.protocol == types.ProtocolEnumHttps {
		if aws.ToString(cur.SslPolicy) != d.sslPolicy {
			return false
		}
		if !slices.Equal(defaultCertificateARNs(cur.Certificates), []string{d.certificateARN}) {
			return false
		}
	}

	return len(cur.DefaultActions) == 1 && sameAction(cur.DefaultActions[0], d.action)
}

// defaultCertificateARNs returns the listener's default certificate(s).
// DescribeListeners lists only the default certificate, without IsDefault;
// a list that flags it is filtered.
func defaultCertificateARNs(certs []types.Certificate) []string {
	var out []string
	for _, c := range certs {
		if c.IsDefault == nil || *c.IsDefault {
			out = append(out, aws.ToString(c.CertificateArn))
		}
	}

	return out
}

// sameAction compares an action as AWS returns it with a desired one. A
// forward to one target group may come back as TargetGroupArn, as a
// ForwardConfig holding that one group, or both: all are the same action.
func sameAction(got, want types.Action) bool {
	if got.Type != want.Type {
		return false
	}
	switch want.Type {
	case types.ActionTypeEnumForward:
		if got.ForwardConfig != nil && got.ForwardConfig.TargetGroupStickinessConfig != nil &&
			aws.ToBool(got.ForwardConfig.TargetGroupStickinessConfig.Enabled) {
			return false
		}

		return slices.Equal(forwardTargets(got), forwardTargets(want))
	case types.ActionTypeEnumRedirect:
		return got.RedirectConfig != nil && want.RedirectConfig != nil &&
			redirectKey(*got.RedirectConfig) == redirectKey(*want.RedirectConfig)
	case types.ActionTypeEnumFixedResponse:
		g, w := got.FixedResponseConfig, want.FixedResponseConfig
		return g != nil && w != nil && aws.ToString(g.StatusCode) == aws.ToString(w.StatusCode) &&
			aws.ToString(g.ContentType) == aws.ToString(w.ContentType) && aws.ToString(g.MessageBody) == aws.ToString(w.MessageBody)
	default:
		return false
	}
}

// forwardTargets returns the sorted, distinct target groups a forward
// action sends to.
func forwardTargets(a types.Action) []string {
	var out []string
	if a.TargetGroupArn != nil {
		out = append(out, *a.TargetGroupArn)
	}
	if a.ForwardConfig != nil {
		for _, tg := range a.ForwardConfig.TargetGroups {
			out = append(out, aws.ToString(tg.TargetGroupArn))
		}
	}
	slices.Sort(out)

	return slices.Compact(out)
}

// redirectKey is a redirect with AWS's defaults filled in: a component left
// out keeps the request's own (#{protocol}, #{port}, …).
func redirectKey(r types.RedirectActionConfig) [6]string {
	or := func(p *string, def string) string {
		if v := aws.ToString(p); v != "" {
			return v
		}
		return def
	}

	return [6]string{
		or(r.Protocol, "#{protocol}"), or(r.Port, "#{port}"), or(r.Host, "#{host}"),
		or(r.Path, "/#{path}"), or(r.Query, "#{query}"), string(r.StatusCode),
	}
}

// classify gives AWS errors that Step Functions should route a type.
func classify(err error) error {
	var (
		lbNF   *types.LoadBalancerNotFoundException
		tgNF   *types.TargetGroupNotFoundException
		certNF *types.CertificateNotFoundException
		dup    *types.DuplicateListenerException
	)
	switch {
	case errors.As(err, &certNF), steperr.HasCode(err, "UnsupportedCertificate"):
		// Validate saw the certificate, and EnsureCertificate saw it
		// ISSUED: Elastic Load Balancing sees a new certificate a while
		// after ACM issues it.
		return steperr.NotPropagatedYet("%v (a certificate is usable by Elastic Load Balancing a while after it is issued)", err)
	case errors.As(err, &lbNF), errors.As(err, &tgNF):
		return &steperr.NotFound{Message: err.Error()}
	case errors.As(err, &dup):
		// Another writer took the port between our describe and create.
		return &steperr.Conflict{Message: err.Error()}
	}

	return err
}
