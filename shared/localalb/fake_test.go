package localalb

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

const (
	testLB       = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/demo/1"
	testListener = "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/demo/1/443"
	testLambdaTG = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/demo-proxy/1"
	testAppTG    = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/demo-app/2"
	testFunction = "arn:aws:lambda:us-east-1:000000000000:function:autostop-proxy:live"
)

// fakeELBv2 serves a fixed load balancer configuration and counts calls.
type fakeELBv2 struct {
	mu           sync.Mutex
	listeners    []types.Listener
	rules        map[string][]types.Rule // by listener ARN
	targetGroups []types.TargetGroup
	attrs        map[string][]types.TargetGroupAttribute // by target group ARN
	health       map[string][]types.TargetHealthDescription
	// delay makes DescribeListeners slow, to let requests pile up.
	delay time.Duration
	// failListeners fails DescribeListeners with this error.
	failListeners error

	calls         atomic.Int64 // every Describe call
	listenerCalls atomic.Int64
}

func (f *fakeELBv2) DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error) {
	f.calls.Add(1)
	f.listenerCalls.Add(1)
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failListeners != nil {
		return nil, f.failListeners
	}
	if aws.ToString(in.LoadBalancerArn) != testLB {
		return nil, &types.LoadBalancerNotFoundException{Message: aws.String("not found")}
	}

	return &elbv2.DescribeListenersOutput{Listeners: f.listeners}, nil
}

func (f *fakeELBv2) DescribeRules(_ context.Context, in *elbv2.DescribeRulesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()

	return &elbv2.DescribeRulesOutput{Rules: f.rules[aws.ToString(in.ListenerArn)]}, nil
}

func (f *fakeELBv2) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []types.TargetGroup
	for _, arn := range in.TargetGroupArns {
		found := false
		for _, tg := range f.targetGroups {
			if aws.ToString(tg.TargetGroupArn) == arn {
				out, found = append(out, tg), true
			}
		}
		if !found {
			return nil, &types.TargetGroupNotFoundException{Message: aws.String(arn)}
		}
	}

	return &elbv2.DescribeTargetGroupsOutput{TargetGroups: out}, nil
}

func (f *fakeELBv2) DescribeTargetGroupAttributes(_ context.Context, in *elbv2.DescribeTargetGroupAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()

	return &elbv2.DescribeTargetGroupAttributesOutput{Attributes: f.attrs[aws.ToString(in.TargetGroupArn)]}, nil
}

func (f *fakeELBv2) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()

	return &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: f.health[aws.ToString(in.TargetGroupArn)]}, nil
}

// setHealth replaces a target group's target health.
func (f *fakeELBv2) setHealth(tg string, d ...types.TargetHealthDescription) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.health[tg] = d
}

// fakeLambda answers Invoke with fn.
type fakeLambda struct {
	fn    func(ctx context.Context, in *lambda.InvokeInput) (*lambda.InvokeOutput, error)
	calls atomic.Int64
}

func (f *fakeLambda) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.calls.Add(1)
	if f.fn == nil {
		return &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
	}

	return f.fn(ctx, in)
}

// fakeEC2 knows instances by ID.
type fakeEC2 struct {
	instances map[string]ec2types.Instance
	calls     atomic.Int64
}

func (f *fakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.calls.Add(1)
	var res ec2types.Reservation
	for _, id := range in.InstanceIds {
		inst, ok := f.instances[id]
		if !ok {
			return nil, fmt.Errorf("InvalidInstanceID.NotFound: %s", id)
		}
		res.Instances = append(res.Instances, inst)
	}

	return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{res}}, nil
}

// Builders of ELBv2 shapes.

func listener(arn string, proto types.ProtocolEnum, port int32, def ...types.Action) types.Listener {
	return types.Listener{ListenerArn: aws.String(arn), LoadBalancerArn: aws.String(testLB), Protocol: proto, Port: aws.Int32(port), DefaultActions: def}
}

func forward(tg string) types.Action {
	return types.Action{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}
}

func fixed(status, body string) types.Action {
	return types.Action{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
		StatusCode: aws.String(status), ContentType: aws.String("text/plain"), MessageBody: aws.String(body),
	}}
}

func hostRule(arn, priority string, hosts []string, actions ...types.Action) types.Rule {
	return types.Rule{RuleArn: aws.String(arn), Priority: aws.String(priority), Actions: actions, Conditions: []types.RuleCondition{{
		Field: aws.String("host-header"), HostHeaderConfig: &types.HostHeaderConditionConfig{Values: hosts},
	}}}
}

func defaultRule(actions ...types.Action) types.Rule {
	return types.Rule{RuleArn: aws.String("rule/default"), Priority: aws.String("default"), IsDefault: aws.Bool(true), Actions: actions}
}

func healthy(id string, port int32) types.TargetHealthDescription {
	return healthState(id, port, types.TargetHealthStateEnumHealthy)
}

func healthState(id string, port int32, s types.TargetHealthStateEnum) types.TargetHealthDescription {
	return types.TargetHealthDescription{Target: &types.TargetDescription{Id: aws.String(id), Port: aws.Int32(port)}, TargetHealth: &types.TargetHealth{State: s}}
}

// newFakeLB is an HTTPS:443 listener whose default rule forwards to a
// Lambda target group (multi-value off) with the function registered, and
// an instance target group with no target yet.
func newFakeLB() *fakeELBv2 {
	return &fakeELBv2{
		listeners: []types.Listener{
			listener(testListener, types.ProtocolEnumHttps, 443, forward(testLambdaTG)),
			listener(testListener+"-80", types.ProtocolEnumHttp, 80, types.Action{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
				Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: types.RedirectActionStatusCodeEnumHttp301,
			}}),
		},
		rules: map[string][]types.Rule{testListener: {
			hostRule("rule/app", "10", []string{"app.autostop.example.test"}, forward(testAppTG)),
			defaultRule(forward(testLambdaTG)),
		}},
		targetGroups: []types.TargetGroup{
			{TargetGroupArn: aws.String(testLambdaTG), TargetType: types.TargetTypeEnumLambda},
			{TargetGroupArn: aws.String(testAppTG), TargetType: types.TargetTypeEnumInstance, Port: aws.Int32(8080)},
		},
		attrs: map[string][]types.TargetGroupAttribute{testLambdaTG: {{Key: aws.String(MultiValueHeadersAttr), Value: aws.String("false")}}},
		health: map[string][]types.TargetHealthDescription{
			testLambdaTG: {healthState(testFunction, 0, types.TargetHealthStateEnumUnavailable)},
		},
	}
}

// newTestFront builds a front over the fakes; a nil fake gets a default.
func newTestFront(t *testing.T, e *fakeELBv2, l *fakeLambda, ec *fakeEC2, mod ...func(*Config)) *Front {
	t.Helper()
	if e == nil {
		e = newFakeLB()
	}
	if l == nil {
		l = &fakeLambda{}
	}
	if ec == nil {
		ec = &fakeEC2{}
	}
	cfg := Config{LoadBalancerARN: testLB, CacheTTL: time.Minute, Logger: testLogger(t)}
	for _, m := range mod {
		m(&cfg)
	}
	f, err := New(Clients{ELBv2: e, Lambda: l, EC2: ec}, cfg)
	if err != nil {
		t.Fatal(err)
	}

	return f
}

// testLogger writes to the test log when -v is given, else nowhere.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	var w io.Writer = os.Stderr

	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// do sends a request through h and returns the recorded response.
func do(h http.Handler, method, target, host string, body io.Reader, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	if host != "" {
		r.Host = host
	}
	for k, vs := range header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)

	return w
}
