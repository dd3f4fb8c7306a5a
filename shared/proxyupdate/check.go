package proxyupdate

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/steperr"
)

// CheckHost is the host the sample event asks for: under the load
// balancer's domain, and never a rule's (rule names are DNS labels
// without this prefix's double hyphen), so the proxy answers it as an
// unknown host without touching any rule.
const CheckHost = "autostop--update-check"

// SampleEvent is the ALB event the new code is tried with: a GET of / for
// CheckHost.<domain>, with multi-value headers as the proxy's target group
// sends them.
func SampleEvent(domain, targetGroupARN string) events.ALBTargetGroupRequest {
	return events.ALBTargetGroupRequest{
		HTTPMethod: "GET", Path: "/",
		MultiValueHeaders: map[string][]string{
			"host":       {CheckHost + "." + domain},
			"accept":     {"application/json"},
			"user-agent": {"autostop-update-proxy"},
		},
		MultiValueQueryStringParameters: map[string][]string{},
		RequestContext:                  events.ALBTargetGroupRequestContext{ELB: events.ELBContext{TargetGroupArn: targetGroupARN}},
	}
}

// TestInvoke invokes the new version with the sample event. Its answer
// must be an ALB response from that version: no function error, a status
// below 500 (the proxy answers an unknown host 404). Otherwise
// CheckFailed, before the alias moved.
func TestInvoke(ctx context.Context, l Lambda, in Input) (Checked, error) {
	loc, pub := in.Located, in.Published
	if loc == nil || pub == nil {
		return Checked{}, steperr.Invalid("test invoke: the input has no Locate or Publish result")
	}

	return invoke(ctx, l, loc, pub.VersionARN, pub.Version)
}

// Verify invokes the target the proxy target group has registered (the
// alias), as the load balancer does: the answer must come from the new
// version. Otherwise CheckFailed, and the state machine moves the alias
// back.
func Verify(ctx context.Context, e ELBv2, l Lambda, in Input) (Checked, error) {
	loc, pub := in.Located, in.Published
	if loc == nil || pub == nil {
		return Checked{}, steperr.Invalid("verify: the input has no Locate or Publish result")
	}
	health, err := e.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(loc.TargetGroupARN)})
	if err != nil {
		return Checked{}, fmt.Errorf("describe targets of %s: %w", loc.TargetGroupARN, err)
	}
	if len(health.TargetHealthDescriptions) != 1 || health.TargetHealthDescriptions[0].Target == nil {
		return Checked{}, &steperr.CheckFailed{Message: fmt.Sprintf("proxy target group %s has %d targets, want the alias %s",
			loc.TargetGroupARN, len(health.TargetHealthDescriptions), loc.AliasARN)}
	}
	target := aws.ToString(health.TargetHealthDescriptions[0].Target.Id)

	return invoke(ctx, l, loc, target, pub.Version)
}

// invoke sends the sample event to target and checks the answer came
// from version want and is an ALB response below 500.
func invoke(ctx context.Context, l Lambda, loc *Located, target, want string) (Checked, error) {
	payload, err := json.Marshal(SampleEvent(loc.Domain, loc.TargetGroupARN))
	if err != nil {
		return Checked{}, fmt.Errorf("encode the sample event: %w", err)
	}
	out, err := l.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(target), Payload: payload})
	if err != nil {
		return Checked{}, fmt.Errorf("invoke %s: %w", target, err)
	}
	c := Checked{Target: target, ExecutedVersion: aws.ToString(out.ExecutedVersion)}
	if out.FunctionError != nil {
		return c, &steperr.CheckFailed{Message: fmt.Sprintf("%s answered the sample request with a %s error: %s",
			target, aws.ToString(out.FunctionError), shorten(string(out.Payload)))}
	}
	var resp events.ALBTargetGroupResponse
	if err := json.Unmarshal(out.Payload, &resp); err != nil || resp.StatusCode == 0 {
		return c, &steperr.CheckFailed{Message: fmt.Sprintf("%s answered the sample request with no ALB response: %s", target, shorten(string(out.Payload)))}
	}
	c.StatusCode = resp.StatusCode
	switch {
	case resp.StatusCode >= 500:
		return c, &steperr.CheckFailed{Message: fmt.Sprintf("%s answered the sample request %d: %s", target, resp.StatusCode, shorten(resp.Body))}
	case c.ExecutedVersion != want:
		return c, &steperr.CheckFailed{Message: fmt.Sprintf("%s ran version %s, want %s", target, c.ExecutedVersion, want)}
	}

	return c, nil
}

// shorten keeps a payload quotable in an error.
func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}

	return s
}
