package localalb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

func TestDecodeLambdaResponse(t *testing.T) {
	tests := []struct {
		name       string
		payload    string
		multiValue bool
		wantErr    bool
		status     int
		header     http.Header
		body       string
	}{
		{name: "single-value headers", payload: `{"statusCode":201,"statusDescription":"201 Created","headers":{"Content-Type":"text/plain","x-a":"1"},"multiValueHeaders":{"x-b":["ignored"]},"body":"made"}`,
			status: 201, header: http.Header{"Content-Type": {"text/plain"}, "X-A": {"1"}}, body: "made"},
		{name: "multi-value headers", multiValue: true, payload: `{"statusCode":200,"headers":{"x-a":"ignored"},"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"x"}`,
			status: 200, header: http.Header{"Set-Cookie": {"a=1", "b=2"}}, body: "x"},
		{name: "base64 body", payload: `{"statusCode":200,"isBase64Encoded":true,"body":"AAH/"}`, status: 200, header: http.Header{}, body: "\x00\x01\xff"},
		{name: "framing headers dropped", payload: `{"statusCode":200,"headers":{"Content-Length":"999","Transfer-Encoding":"chunked"},"body":"x"}`,
			status: 200, header: http.Header{}, body: "x"},
		{name: "no statusCode", payload: `{"body":"x"}`, wantErr: true},
		{name: "statusCode a string", payload: `{"statusCode":"200"}`, wantErr: true},
		{name: "statusCode out of range", payload: `{"statusCode":99}`, wantErr: true},
		{name: "not an object", payload: `"hello"`, wantErr: true},
		{name: "not JSON", payload: `<html>`, wantErr: true},
		{name: "null", payload: `null`, wantErr: true},
		{name: "bad base64", payload: `{"statusCode":200,"isBase64Encoded":true,"body":"!!"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeLambdaResponse([]byte(tt.payload), tt.multiValue)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decoded %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.status != tt.status || !reflect.DeepEqual(got.header, tt.header) || string(got.body) != tt.body {
				t.Errorf("got %d %v %q, want %d %v %q", got.status, got.header, got.body, tt.status, tt.header, tt.body)
			}
		})
	}
}

// TestServeLambda runs requests through the front to a fake Lambda.
func TestServeLambda(t *testing.T) {
	okResponse := func(resp events.ALBTargetGroupResponse) func(context.Context, *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
		return func(context.Context, *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
			b, _ := json.Marshal(resp)
			return &lambda.InvokeOutput{StatusCode: 200, Payload: b}, nil
		}
	}
	tests := []struct {
		name       string
		multiValue bool
		health     []types.TargetHealthDescription
		invoke     func(context.Context, *lambda.InvokeInput) (*lambda.InvokeOutput, error)
		body       []byte
		header     http.Header
		wantStatus int
		wantHeader http.Header
		wantBody   string
		wantCalls  int64
	}{
		{
			name: "answer with headers and body",
			invoke: okResponse(events.ALBTargetGroupResponse{StatusCode: 202, Headers: map[string]string{"Content-Type": "text/plain", "X-Autostop": "starting"},
				Body: "hello"}),
			wantStatus: 202, wantHeader: http.Header{"Content-Type": {"text/plain"}, "X-Autostop": {"starting"}}, wantBody: "hello", wantCalls: 1,
		},
		{
			name: "multi-value answer and localized Location", multiValue: true,
			invoke: okResponse(events.ALBTargetGroupResponse{StatusCode: 307, MultiValueHeaders: map[string][]string{
				"Set-Cookie": {"a=1", "b=2"}, "Location": {"https://demo.autostop.example.test/again?x=1"}}}),
			wantStatus: 307, wantHeader: http.Header{"Set-Cookie": {"a=1", "b=2"}, "Location": {"http://demo.autostop.example.test.localhost:8123/again?x=1"}},
			wantCalls: 1,
		},
		{
			name: "base64 body decoded",
			invoke: okResponse(events.ALBTargetGroupResponse{StatusCode: 200, IsBase64Encoded: true, Body: "AAH/",
				Headers: map[string]string{"Content-Type": "application/octet-stream"}}),
			wantStatus: 200, wantBody: "\x00\x01\xff", wantCalls: 1,
		},
		{
			name: "request body of exactly 1 MB is passed", body: bytes.Repeat([]byte("a"), MaxLambdaRequestBody),
			header:     http.Header{"Content-Type": {"text/plain"}},
			wantStatus: 200, wantBody: "ok", wantCalls: 1,
		},
		{
			name: "request body over 1 MB: 413, no invocation", body: bytes.Repeat([]byte("a"), MaxLambdaRequestBody+1),
			wantStatus: 413, wantCalls: 0,
		},
		{
			name: "function error: 502",
			invoke: func(context.Context, *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
				return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"), Payload: []byte(`{"errorMessage":"boom"}`)}, nil
			},
			wantStatus: 502, wantCalls: 1,
		},
		{
			name:       "response over 1 MB: 502",
			invoke:     okResponse(events.ALBTargetGroupResponse{StatusCode: 200, Body: strings.Repeat("x", MaxLambdaResponse)}),
			wantStatus: 502, wantCalls: 1,
		},
		{
			name: "invalid response: 502",
			invoke: func(context.Context, *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
				return &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"hello":"world"}`)}, nil
			},
			wantStatus: 502, wantCalls: 1,
		},
		{
			name: "invocation fails: 502",
			invoke: func(context.Context, *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
				return nil, errors.New("ResourceNotFoundException")
			},
			wantStatus: 502, wantCalls: 1,
		},
		{
			name: "no target registered: 503", health: []types.TargetHealthDescription{},
			wantStatus: 503, wantCalls: 0,
		},
		{
			name: "target draining: 503", health: []types.TargetHealthDescription{healthState(testFunction, 0, types.TargetHealthStateEnumDraining)},
			wantStatus: 503, wantCalls: 0,
		},
		{
			name: "WebSocket upgrade: 400", header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}},
			wantStatus: 400, wantCalls: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFakeLB()
			if tt.multiValue {
				e.attrs[testLambdaTG] = []types.TargetGroupAttribute{{Key: aws.String(MultiValueHeadersAttr), Value: aws.String("true")}}
			}
			if tt.health != nil {
				e.health[testLambdaTG] = tt.health
			}
			var invoked []string
			l := &fakeLambda{fn: func(ctx context.Context, in *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
				invoked = append(invoked, aws.ToString(in.FunctionName))
				if tt.invoke != nil {
					return tt.invoke(ctx, in)
				}
				return &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
			}}
			f := newTestFront(t, e, l, nil)

			w := do(f, "POST", "/path", "demo.autostop.example.test.localhost:8123", bytes.NewReader(tt.body), tt.header)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %q", w.Code, tt.wantStatus, w.Body.String())
			}
			for k, want := range tt.wantHeader {
				if got := w.Header().Values(k); !reflect.DeepEqual(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if tt.wantBody != "" && w.Body.String() != tt.wantBody {
				t.Errorf("body %q, want %q", w.Body.String(), tt.wantBody)
			}
			if l.calls.Load() != tt.wantCalls {
				t.Errorf("%d invocations, want %d", l.calls.Load(), tt.wantCalls)
			}
			for _, fn := range invoked {
				if fn != testFunction {
					t.Errorf("invoked %q, want the registered (qualified) ARN %q", fn, testFunction)
				}
			}
			if tt.wantStatus >= 400 && w.Header().Get("Server") != "awselb/2.0" {
				t.Errorf("error page without the ALB's Server header: %v", w.Header())
			}
		})
	}
}

// TestServeLambdaNoContentTypeAdded: the front does not sniff a content type
// the function did not set.
func TestServeLambdaNoContentTypeAdded(t *testing.T) {
	l := &fakeLambda{fn: func(context.Context, *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
		return &lambda.InvokeOutput{Payload: []byte(`{"statusCode":200,"body":"<html>hi</html>"}`)}, nil
	}}
	srv := newServer(t, newTestFront(t, nil, l, nil))
	resp, err := http.Get(srv.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct, ok := resp.Header["Content-Type"]; ok {
		t.Errorf("Content-Type %q added", ct)
	}
}

// TestLambdaInvocationsAreConcurrent: several requests are in Invoke at the
// same time (no lock around the invocation).
func TestLambdaInvocationsAreConcurrent(t *testing.T) {
	const n = 8
	var inFlight, peak atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	l := &fakeLambda{fn: func(ctx context.Context, _ *lambda.InvokeInput) (*lambda.InvokeOutput, error) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		if cur == n {
			once.Do(func() { close(all) })
		}
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
		}
		return &lambda.InvokeOutput{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
	}}
	f := newTestFront(t, nil, l, nil)

	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if w := do(f, "GET", "/", "x.test", nil, nil); w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
		})
	}
	wg.Wait()
	if peak.Load() != n {
		t.Errorf("at most %d invocations at once, want %d", peak.Load(), n)
	}
}
