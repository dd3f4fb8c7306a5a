package localalb

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

func TestNewValidates(t *testing.T) {
	full := Clients{ELBv2: newFakeLB(), Lambda: &fakeLambda{}, EC2: &fakeEC2{}}
	tests := []struct {
		name    string
		clients Clients
		cfg     Config
	}{
		{"no load balancer", full, Config{}},
		{"no ELBv2 client", Clients{Lambda: &fakeLambda{}, EC2: &fakeEC2{}}, Config{LoadBalancerARN: testLB}},
		{"no Lambda client", Clients{ELBv2: newFakeLB(), EC2: &fakeEC2{}}, Config{LoadBalancerARN: testLB}},
	}
	for _, tt := range tests {
		if _, err := New(tt.clients, tt.cfg); err == nil {
			t.Errorf("%s: New accepted it", tt.name)
		}
	}
}

type observations struct {
	mu  sync.Mutex
	got []Observation
}

func (o *observations) ObserveRequest(ob Observation) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, ob)
}

// TestFrontRoutesAndObserves sends one request per route and checks the
// answer and the observation made of it.
func TestFrontRoutesAndObserves(t *testing.T) {
	port := upstream(t, "app")
	e := newFakeLB()
	e.health[testAppTG] = []types.TargetHealthDescription{healthy("i-app", port)}
	e.rules[testListener] = append([]types.Rule{hostRule("rule/teapot", "5", []string{"tea.example.test"}, fixed("418", "tea"))}, e.rules[testListener]...)
	ec := &fakeEC2{instances: map[string]ec2types.Instance{"i-app": instance("i-app", "10.0.0.1", "127.0.0.1")}}
	var proto string
	l := &fakeLambda{fn: func(_ context.Context, in *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
		var ev events.ALBTargetGroupRequest
		_ = json.Unmarshal(in.Payload, &ev)
		proto = ev.Headers["x-forwarded-proto"]
		return &lambda.InvokeOutput{Payload: []byte(`{"statusCode":503,"body":"starting"}`)}, nil
	}}
	obs := &observations{}
	f := newTestFront(t, e, l, ec, func(c *Config) { c.Observer = obs })

	tests := []struct {
		host       string
		wantStatus int
		want       Observation
	}{
		{"app.autostop.example.test.localhost:9999", 200, Observation{TargetGroupARN: testAppTG, TargetType: types.TargetTypeEnumInstance, Status: 200}},
		{"stopped.autostop.example.test", 503, Observation{TargetGroupARN: testLambdaTG, TargetType: types.TargetTypeEnumLambda, Status: 503}},
		{"tea.example.test", 418, Observation{Status: 418}},
	}
	for i, tt := range tests {
		w := do(f, "GET", "/", tt.host, nil, nil)
		if w.Code != tt.wantStatus {
			t.Fatalf("%s: status %d, want %d", tt.host, w.Code, tt.wantStatus)
		}
		obs.mu.Lock()
		if len(obs.got) != i+1 {
			t.Fatalf("%d observations after %d requests", len(obs.got), i+1)
		}
		got := obs.got[i]
		obs.mu.Unlock()
		if got.Duration <= 0 || got.Duration > 10*time.Second {
			t.Errorf("%s: duration %v", tt.host, got.Duration)
		}
		got.Duration = 0
		if got != tt.want {
			t.Errorf("%s: observed %+v, want %+v", tt.host, got, tt.want)
		}
	}
	if proto != "https" {
		t.Errorf("the Lambda saw x-forwarded-proto %q, want https (the HTTPS listener is evaluated)", proto)
	}
}

// TestFrontHTTPOnly: with only an HTTP:80 listener, its rules are evaluated
// and targets see http / 80.
func TestFrontHTTPOnly(t *testing.T) {
	e := newFakeLB()
	httpListener := testListener + "-80"
	e.listeners = []types.Listener{listener(httpListener, types.ProtocolEnumHttp, 80, forward(testLambdaTG))}
	e.rules = map[string][]types.Rule{httpListener: {defaultRule(forward(testLambdaTG))}}
	var headers map[string]string
	l := &fakeLambda{fn: func(_ context.Context, in *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
		var ev events.ALBTargetGroupRequest
		_ = json.Unmarshal(in.Payload, &ev)
		headers = ev.Headers
		return &lambda.InvokeOutput{Payload: []byte(`{"statusCode":200}`)}, nil
	}}
	f := newTestFront(t, e, l, nil)
	if w := do(f, "GET", "/", "x.test", nil, nil); w.Code != 200 {
		t.Fatalf("status %d", w.Code)
	}
	if headers["x-forwarded-proto"] != "http" || headers["x-forwarded-port"] != "80" {
		t.Errorf("forwarded headers %v, want http / 80", headers)
	}
}

func TestFrontErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *fakeELBv2)
		want   int
	}{
		{"no listener", func(e *fakeELBv2) { e.listeners = nil }, 503},
		{"only a TCP listener", func(e *fakeELBv2) {
			e.listeners = []types.Listener{listener("tcp", types.ProtocolEnumTcp, 80)}
		}, 503},
		{"forward to a target group that is gone", func(e *fakeELBv2) {
			e.rules[testListener] = []types.Rule{defaultRule(forward(testLambdaTG + "-gone"))}
		}, 503},
		{"rule without a terminal action", func(e *fakeELBv2) {
			e.rules[testListener] = []types.Rule{defaultRule(types.Action{Type: types.ActionTypeEnumAuthenticateCognito})}
		}, 500},
		{"load balancer gone", func(e *fakeELBv2) {
			e.failListeners = &types.LoadBalancerNotFoundException{Message: aws.String("gone")}
		}, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFakeLB()
			tt.change(e)
			if w := do(newTestFront(t, e, nil, nil), "GET", "/", "x.test", nil, nil); w.Code != tt.want {
				t.Errorf("status %d, want %d", w.Code, tt.want)
			}
		})
	}
}

// TestRequestPathLeavesNoGoroutine: after Lambda, instance and failing
// requests, and a client that leaves during an invocation, the goroutine
// count returns to where it was (once idle upstream connections close).
func TestRequestPathLeavesNoGoroutine(t *testing.T) {
	port := upstream(t, "app")
	e := newFakeLB()
	e.health[testAppTG] = []types.TargetHealthDescription{healthy("i-app", port)}
	ec := &fakeEC2{instances: map[string]ec2types.Instance{"i-app": instance("i-app", "127.0.0.1", "")}}
	l := &fakeLambda{fn: func(ctx context.Context, in *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
		var ev events.ALBTargetGroupRequest
		_ = json.Unmarshal(in.Payload, &ev)
		if ev.Path == "/hang" {
			<-ctx.Done() // until the client leaves
			return nil, ctx.Err()
		}
		return &lambda.InvokeOutput{Payload: []byte(`{"statusCode":200}`)}, nil
	}}
	transport := &http.Transport{}
	f := newTestFront(t, e, l, ec, func(c *Config) { c.Transport = transport })
	before := runtime.NumGoroutine()

	for range 3 {
		do(f, "GET", "/", "app.autostop.example.test", nil, nil)
		do(f, "GET", "/", "lambda.autostop.example.test", nil, nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	r := httptest.NewRequestWithContext(ctx, "GET", "/hang", nil)
	r.Host = "lambda.autostop.example.test"
	w := httptest.NewRecorder()
	f.ServeHTTP(w, r)
	cancel()
	if w.Code != http.StatusBadGateway {
		t.Errorf("abandoned invocation answered %d", w.Code)
	}

	transport.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
