package inventory

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestDefaultAction(t *testing.T) {
	const tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-proxy/0123456789abcdef"
	tests := []struct {
		name    string
		actions []elbtypes.Action
		want    string
	}{
		{"none", nil, "none"},
		{"forward", []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}, "forward web-proxy"},
		{"forward config", []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
			TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(tg)}}}}}, "forward web-proxy"},
		{"redirect", []elbtypes.Action{{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
			Protocol: aws.String("HTTPS"), Port: aws.String("443")}}}, "redirect to HTTPS:443"},
		{"fixed response", []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}, "fixed-response"},
	}
	for _, tt := range tests {
		if got := defaultAction(tt.actions); got != tt.want {
			t.Errorf("%s: defaultAction = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := targetGroupName("not an arn"); got != "not an arn" {
		t.Errorf("targetGroupName of a non-ARN = %q", got)
	}
}
