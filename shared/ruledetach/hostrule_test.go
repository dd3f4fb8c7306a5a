package ruledetach

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	host     = "app.autostop.example.test"
	listener = "arn:aws:elasticloadbalancing:us-east-1:0:listener/app/web/1/443"
)

// fakeELB holds one listener's rules and their tags.
type fakeELB struct {
	rules   []elbtypes.Rule
	tags    map[string]map[string]string
	deleted []string
}

func hostRule(arn, h string) elbtypes.Rule {
	return elbtypes.Rule{RuleArn: aws.String(arn), Priority: aws.String("7"), Conditions: []elbtypes.RuleCondition{{
		Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{h}},
	}}}
}

func (f *fakeELB) DescribeRules(_ context.Context, in *elbv2.DescribeRulesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error) {
	if aws.ToString(in.ListenerArn) != listener {
		return nil, &smithy.GenericAPIError{Code: "ListenerNotFound"}
	}
	return &elbv2.DescribeRulesOutput{Rules: f.rules}, nil
}

func (f *fakeELB) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		d := elbtypes.TagDescription{ResourceArn: aws.String(arn)}
		for k, v := range f.tags[arn] {
			d.Tags = append(d.Tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}
	return out, nil
}

func (f *fakeELB) CreateRule(context.Context, *elbv2.CreateRuleInput, ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error) {
	return nil, errors.New("not used")
}

func (f *fakeELB) DeleteRule(_ context.Context, in *elbv2.DeleteRuleInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error) {
	arn := aws.ToString(in.RuleArn)
	f.deleted = append(f.deleted, arn)
	f.rules = slices.DeleteFunc(f.rules, func(r elbtypes.Rule) bool { return aws.ToString(r.RuleArn) == arn })
	return &elbv2.DeleteRuleOutput{}, nil
}

func input(listenerARN string) ruledoc.DetachInput {
	return ruledoc.DetachInput{Execution: "evt-9", Found: &ruledoc.Found{Found: true, Host: host, Item: &rulestore.Item{Host: host, ListenerARN: listenerARN, LoadBalancer: "web"}}}
}

func TestDeleteHostRule(t *testing.T) {
	ours := ownership.Tags("web", "evt-3", nil)
	ours[ownership.RuleKey] = host

	tests := []struct {
		name        string
		elb         *fakeELB
		listener    string
		wantDeleted []string
	}{
		{name: "autostop's host rule: deleted",
			elb:         &fakeELB{rules: []elbtypes.Rule{hostRule("arn:r1", "other.example.test"), hostRule("arn:r2", host)}, tags: map[string]map[string]string{"arn:r2": ours}},
			listener:    listener,
			wantDeleted: []string{"arn:r2"}},
		{name: "a host rule without autostop's tags: never deleted",
			elb:      &fakeELB{rules: []elbtypes.Rule{hostRule("arn:r2", host)}, tags: map[string]map[string]string{"arn:r2": {"team": "x"}}},
			listener: listener},
		{name: "no host rule (a stopped rule): nothing to do", elb: &fakeELB{}, listener: listener},
		{name: "listener gone: nothing to do", elb: &fakeELB{}, listener: listener + "-gone"},
		{name: "no listener in the item: nothing to do", elb: &fakeELB{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := DeleteHostRule(t.Context(), tt.elb, input(tt.listener))
			if err != nil {
				t.Fatalf("DeleteHostRule: %v", err)
			}
			if !slices.Equal(tt.elb.deleted, tt.wantDeleted) || len(res.Resources) != len(tt.wantDeleted) {
				t.Errorf("deleted %v, reported %+v; want %v", tt.elb.deleted, res.Resources, tt.wantDeleted)
			}
		})
	}

	if _, err := DeleteHostRule(t.Context(), &fakeELB{}, ruledoc.DetachInput{}); !errors.As(err, new(*steperr.InvalidRequest)) {
		t.Errorf("without FindRule: %v, want InvalidRequest", err)
	}
}
