package listener

import (
	"context"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// fakeELB holds the listeners of load balancers in memory and records calls.
// Like AWS, it returns a forward action with a ForwardConfig wrapping its
// target group, and fills in a redirect's omitted components.
type fakeELB struct {
	lbs       map[string]bool // load balancers that exist
	listeners []types.Listener
	tags      map[string]map[string]string
	fail      map[string]error // operation → error
	calls     []string
	next      int
}

func newFake(lbs ...string) *fakeELB {
	f := &fakeELB{lbs: map[string]bool{}, tags: map[string]map[string]string{}, fail: map[string]error{}}
	for _, lb := range lbs {
		f.lbs[lb] = true
	}

	return f
}

// add puts a listener in place, as if created earlier, and returns its ARN.
func (f *fakeELB) add(lb string, port int32, proto types.ProtocolEnum, certARN, policy string, action types.Action, tags map[string]string) string {
	f.next++
	arn := fmt.Sprintf("%s/listener-%d", lb, f.next)
	l := types.Listener{
		ListenerArn: aws.String(arn), LoadBalancerArn: aws.String(lb), Port: aws.Int32(port), Protocol: proto,
		DefaultActions: []types.Action{action},
	}
	if certARN != "" {
		l.Certificates = []types.Certificate{{CertificateArn: aws.String(certARN)}}
	}
	if policy != "" {
		l.SslPolicy = aws.String(policy)
	}
	f.listeners = append(f.listeners, l)
	f.tags[arn] = maps.Clone(tags)

	return arn
}

func (f *fakeELB) mutating() []string {
	var out []string
	for _, c := range f.calls {
		switch c {
		case "DescribeListeners", "DescribeTags":
		default:
			out = append(out, c)
		}
	}

	return out
}

func (f *fakeELB) find(arn string) int {
	for i, l := range f.listeners {
		if aws.ToString(l.ListenerArn) == arn {
			return i
		}
	}

	return -1
}

func (f *fakeELB) byPort(lb string, port int32) (types.Listener, bool) {
	for _, l := range f.listeners {
		if aws.ToString(l.LoadBalancerArn) == lb && aws.ToInt32(l.Port) == port {
			return l, true
		}
	}

	return types.Listener{}, false
}

func (f *fakeELB) call(op string) error {
	f.calls = append(f.calls, op)

	return f.fail[op]
}

// awsShape returns actions as AWS describes them.
func awsShape(actions []types.Action) []types.Action {
	out := make([]types.Action, 0, len(actions))
	for i, a := range actions {
		a.Order = aws.Int32(int32(i + 1))
		if a.Type == types.ActionTypeEnumForward && a.TargetGroupArn != nil && a.ForwardConfig == nil {
			a.ForwardConfig = &types.ForwardActionConfig{
				TargetGroups:                []types.TargetGroupTuple{{TargetGroupArn: a.TargetGroupArn, Weight: aws.Int32(1)}},
				TargetGroupStickinessConfig: &types.TargetGroupStickinessConfig{Enabled: aws.Bool(false)},
			}
		}
		if rc := a.RedirectConfig; rc != nil {
			c := *rc
			def := func(p **string, v string) {
				if aws.ToString(*p) == "" {
					*p = aws.String(v)
				}
			}
			def(&c.Protocol, "#{protocol}")
			def(&c.Port, "#{port}")
			def(&c.Host, "#{host}")
			def(&c.Path, "/#{path}")
			def(&c.Query, "#{query}")
			a.RedirectConfig = &c
		}
		out = append(out, a)
	}

	return out
}

func (f *fakeELB) DescribeListeners(_ context.Context, in *elbv2.DescribeListenersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error) {
	if err := f.call("DescribeListeners"); err != nil {
		return nil, err
	}
	lb := aws.ToString(in.LoadBalancerArn)
	if !f.lbs[lb] {
		return nil, &types.LoadBalancerNotFoundException{Message: aws.String("load balancer " + lb + " not found")}
	}
	out := &elbv2.DescribeListenersOutput{}
	for _, l := range f.listeners {
		if aws.ToString(l.LoadBalancerArn) == lb {
			l.DefaultActions = awsShape(l.DefaultActions)
			out.Listeners = append(out.Listeners, l)
		}
	}

	return out, nil
}

func (f *fakeELB) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	if err := f.call("DescribeTags"); err != nil {
		return nil, err
	}
	if len(in.ResourceArns) > maxTagARNs {
		return nil, fmt.Errorf("too many ARNs: %d", len(in.ResourceArns))
	}
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		if f.find(arn) < 0 {
			return nil, &types.ListenerNotFoundException{Message: aws.String("listener " + arn + " not found")}
		}
		d := types.TagDescription{ResourceArn: aws.String(arn)}
		for k, v := range f.tags[arn] {
			d.Tags = append(d.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}

	return out, nil
}

func (f *fakeELB) CreateListener(_ context.Context, in *elbv2.CreateListenerInput, _ ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error) {
	if err := f.call("CreateListener"); err != nil {
		return nil, err
	}
	lb := aws.ToString(in.LoadBalancerArn)
	if _, used := f.byPort(lb, aws.ToInt32(in.Port)); used {
		return nil, &types.DuplicateListenerException{Message: aws.String("port in use")}
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	var cert string
	if len(in.Certificates) > 0 {
		cert = aws.ToString(in.Certificates[0].CertificateArn)
	}
	arn := f.add(lb, aws.ToInt32(in.Port), in.Protocol, cert, aws.ToString(in.SslPolicy), in.DefaultActions[0], tags)
	l := f.listeners[f.find(arn)]

	return &elbv2.CreateListenerOutput{Listeners: []types.Listener{l}}, nil
}

func (f *fakeELB) ModifyListener(_ context.Context, in *elbv2.ModifyListenerInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error) {
	if err := f.call("ModifyListener"); err != nil {
		return nil, err
	}
	i := f.find(aws.ToString(in.ListenerArn))
	if i < 0 {
		return nil, &types.ListenerNotFoundException{Message: in.ListenerArn}
	}
	l := &f.listeners[i]
	if in.Protocol != "" {
		l.Protocol = in.Protocol
		if in.Protocol == types.ProtocolEnumHttp {
			l.Certificates, l.SslPolicy = nil, nil
		}
	}
	if in.Certificates != nil {
		l.Certificates = in.Certificates
	}
	if in.SslPolicy != nil {
		l.SslPolicy = in.SslPolicy
	}
	if in.DefaultActions != nil {
		l.DefaultActions = in.DefaultActions
	}

	return &elbv2.ModifyListenerOutput{Listeners: []types.Listener{*l}}, nil
}

func (f *fakeELB) DeleteListener(_ context.Context, in *elbv2.DeleteListenerInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteListenerOutput, error) {
	if err := f.call("DeleteListener"); err != nil {
		return nil, err
	}
	i := f.find(aws.ToString(in.ListenerArn))
	if i < 0 {
		return nil, &types.ListenerNotFoundException{Message: in.ListenerArn}
	}
	f.listeners = append(f.listeners[:i], f.listeners[i+1:]...)

	return &elbv2.DeleteListenerOutput{}, nil
}

func (f *fakeELB) AddTags(_ context.Context, in *elbv2.AddTagsInput, _ ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error) {
	if err := f.call("AddTags"); err != nil {
		return nil, err
	}
	for _, arn := range in.ResourceArns {
		if f.find(arn) < 0 {
			return nil, &types.ListenerNotFoundException{Message: aws.String(arn)}
		}
		if f.tags[arn] == nil {
			f.tags[arn] = map[string]string{}
		}
		for _, t := range in.Tags {
			f.tags[arn][aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}

	return &elbv2.AddTagsOutput{}, nil
}

func (f *fakeELB) RemoveTags(_ context.Context, in *elbv2.RemoveTagsInput, _ ...func(*elbv2.Options)) (*elbv2.RemoveTagsOutput, error) {
	if err := f.call("RemoveTags"); err != nil {
		return nil, err
	}
	for _, arn := range in.ResourceArns {
		if f.find(arn) < 0 {
			return nil, &types.ListenerNotFoundException{Message: aws.String(arn)}
		}
		for _, k := range in.TagKeys {
			delete(f.tags[arn], k)
		}
	}

	return &elbv2.RemoveTagsOutput{}, nil
}
