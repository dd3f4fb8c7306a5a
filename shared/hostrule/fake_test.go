package hostrule

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/ownership"
)

const (
	testHost     = "app.autostop.example.test"
	testListener = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123456789abcdef/fedcba9876543210"
	testTG       = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef"
)

// apiErr is an AWS error as the SDK returns it for a code it has no type for.
func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (fake)", Fault: smithy.FaultClient}
}

// fakeELB holds the rules of one listener (testListener) and their tags,
// with AWS's semantics for the calls the package makes: DescribeRules pages
// (pageSize rules a page, 0 for one page) and lists the default rule last,
// CreateRule refuses a priority in use, DeleteRule a rule that is gone. It
// records every call by operation name.
type fakeELB struct {
	rules    []elbtypes.Rule
	tags     map[string]map[string]string
	pageSize int
	// taken are priorities used by rules created since the caller listed
	// (by another writer): CreateRule refuses them, DescribeRules does not
	// show them.
	taken map[int]bool
	// noRuleInAnswer: CreateRule succeeds but names no rule.
	noRuleInAnswer bool

	calls   []string
	markers []string                 // the Marker of each DescribeRules call
	creates []*elbv2.CreateRuleInput // every CreateRule call, refused or not
	deleted []string
	// errs fails the next calls of an operation, in order.
	errs map[string][]error
	next int
}

func newFake() *fakeELB {
	return &fakeELB{tags: map[string]map[string]string{}, taken: map[int]bool{}, errs: map[string][]error{}}
}

// ourTags are the tags Ensure gives a host rule of host.
func ourTags(host string) map[string]string {
	tags := ownership.Tags("web", "wake-0", map[string]string{"team": "a"})
	tags[ownership.RuleKey] = host

	return tags
}

// add puts a rule "host-header = host → testTG" at priority, as if created
// earlier, and returns its ARN.
func (f *fakeELB) add(host string, priority int, tags map[string]string) string {
	f.next++
	arn := fmt.Sprintf("%s/rule-%d", strings.Replace(testListener, ":listener/", ":listener-rule/", 1), f.next)
	f.rules = append(f.rules, elbtypes.Rule{
		RuleArn:  aws.String(arn),
		Priority: aws.String(strconv.Itoa(priority)),
		// As AWS describes a condition: the legacy Values beside the config.
		Conditions: []elbtypes.RuleCondition{{
			Field: aws.String("host-header"), Values: []string{host},
			HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{host}},
		}},
		Actions:   []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(testTG), Order: aws.Int32(1)}},
		IsDefault: aws.Bool(false),
	})
	f.tags[arn] = maps.Clone(tags)

	return arn
}

// call records op and returns the error queued for it, if any.
func (f *fakeELB) call(op string) error {
	f.calls = append(f.calls, op)
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return q[0]
	}

	return nil
}

// count is how many times op was called.
func (f *fakeELB) count(op string) int {
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}

	return n
}

// tried lists the priorities of the CreateRule calls.
func (f *fakeELB) tried() []int {
	var out []int
	for _, in := range f.creates {
		out = append(out, int(aws.ToInt32(in.Priority)))
	}

	return out
}

func (f *fakeELB) find(arn string) int {
	return slices.IndexFunc(f.rules, func(r elbtypes.Rule) bool { return aws.ToString(r.RuleArn) == arn })
}

func (f *fakeELB) DescribeRules(_ context.Context, in *elbv2.DescribeRulesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error) {
	f.markers = append(f.markers, aws.ToString(in.Marker))
	if err := f.call("DescribeRules"); err != nil {
		return nil, err
	}
	if aws.ToString(in.ListenerArn) != testListener {
		return nil, apiErr("ListenerNotFound")
	}
	all := append(slices.Clone(f.rules), elbtypes.Rule{
		RuleArn:  aws.String(strings.Replace(testListener, ":listener/", ":listener-rule/", 1) + "/default"),
		Priority: aws.String("default"), IsDefault: aws.Bool(true),
		Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}},
	})
	from := 0
	if m := aws.ToString(in.Marker); m != "" {
		var err error
		if from, err = strconv.Atoi(m); err != nil || from > len(all) {
			return nil, apiErr("ValidationError")
		}
	}
	to := len(all)
	if f.pageSize > 0 && from+f.pageSize < to {
		to = from + f.pageSize
	}
	out := &elbv2.DescribeRulesOutput{Rules: all[from:to]}
	if to < len(all) {
		out.NextMarker = aws.String(strconv.Itoa(to))
	}

	return out, nil
}

func (f *fakeELB) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	if err := f.call("DescribeTags"); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		if f.find(arn) < 0 {
			return nil, apiErr("RuleNotFound")
		}
		d := elbtypes.TagDescription{ResourceArn: aws.String(arn)}
		for _, k := range ownership.Keys(f.tags[arn]) {
			d.Tags = append(d.Tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(f.tags[arn][k])})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}

	return out, nil
}

func (f *fakeELB) CreateRule(_ context.Context, in *elbv2.CreateRuleInput, _ ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error) {
	f.creates = append(f.creates, in)
	if err := f.call("CreateRule"); err != nil {
		return nil, err
	}
	if aws.ToString(in.ListenerArn) != testListener {
		return nil, apiErr("ListenerNotFound")
	}
	p := int(aws.ToInt32(in.Priority))
	if p < MinPriority || p > MaxPriority {
		return nil, apiErr("ValidationError")
	}
	if f.taken[p] || slices.ContainsFunc(f.rules, func(r elbtypes.Rule) bool { return aws.ToString(r.Priority) == strconv.Itoa(p) }) {
		return nil, apiErr("PriorityInUse")
	}
	if len(in.Conditions) != 1 || in.Conditions[0].HostHeaderConfig == nil || len(in.Conditions[0].HostHeaderConfig.Values) != 1 {
		return nil, apiErr("ValidationError")
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	arn := f.add(in.Conditions[0].HostHeaderConfig.Values[0], p, tags)
	if f.noRuleInAnswer {
		return &elbv2.CreateRuleOutput{}, nil
	}

	return &elbv2.CreateRuleOutput{Rules: []elbtypes.Rule{f.rules[f.find(arn)]}}, nil
}

func (f *fakeELB) ModifyRule(_ context.Context, in *elbv2.ModifyRuleInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error) {
	if err := f.call("ModifyRule"); err != nil {
		return nil, err
	}
	i := f.find(aws.ToString(in.RuleArn))
	if i < 0 {
		return nil, apiErr("RuleNotFound")
	}
	f.rules[i].Actions = in.Actions

	return &elbv2.ModifyRuleOutput{Rules: []elbtypes.Rule{f.rules[i]}}, nil
}

func (f *fakeELB) DeleteRule(_ context.Context, in *elbv2.DeleteRuleInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error) {
	if err := f.call("DeleteRule"); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.RuleArn)
	i := f.find(arn)
	if i < 0 {
		return nil, apiErr("RuleNotFound")
	}
	f.deleted = append(f.deleted, arn)
	f.rules = slices.Delete(f.rules, i, i+1)
	delete(f.tags, arn)

	return &elbv2.DeleteRuleOutput{}, nil
}
