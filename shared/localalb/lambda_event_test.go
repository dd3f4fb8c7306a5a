package localalb

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestALBEvent(t *testing.T) {
	https := listenerView{protocol: types.ProtocolEnumHttps, port: 443}
	http80 := listenerView{protocol: types.ProtocolEnumHttp, port: 80}
	single := &targetGroup{arn: testLambdaTG, targetType: types.TargetTypeEnumLambda}
	multi := &targetGroup{arn: testLambdaTG, targetType: types.TargetTypeEnumLambda, multiValue: true}

	type req struct {
		method, target, host string
		header               http.Header
		body                 string
	}
	tests := []struct {
		name     string
		in       req
		listener listenerView
		tg       *targetGroup
		check    func(t *testing.T, ev events.ALBTargetGroupRequest)
	}{
		{
			name: "single-value: last value of headers and query, names lower-cased, HTTPS forwarded headers",
			in: req{method: "GET", target: "/a%20b/c?x=1&x=2&flag&enc=a%2Fb", host: "demo.autostop.example.test.localhost:8123",
				header: http.Header{"Accept": {"text/html"}, "X-Multi": {"one", "two"}, "User-Agent": {"test"}}},
			listener: https, tg: single,
			check: func(t *testing.T, ev events.ALBTargetGroupRequest) {
				if ev.HTTPMethod != "GET" || ev.Path != "/a%20b/c" || ev.RequestContext.ELB.TargetGroupArn != testLambdaTG {
					t.Errorf("method/path/arn = %q %q %q", ev.HTTPMethod, ev.Path, ev.RequestContext.ELB.TargetGroupArn)
				}
				wantQuery := map[string]string{"x": "2", "flag": "", "enc": "a%2Fb"}
				if !reflect.DeepEqual(ev.QueryStringParameters, wantQuery) || ev.MultiValueQueryStringParameters != nil {
					t.Errorf("query = %v / %v, want %v", ev.QueryStringParameters, ev.MultiValueQueryStringParameters, wantQuery)
				}
				h := ev.Headers
				if ev.MultiValueHeaders != nil {
					t.Errorf("multi-value headers set: %v", ev.MultiValueHeaders)
				}
				for k, want := range map[string]string{
					"accept": "text/html", "x-multi": "two", "user-agent": "test", "host": "demo.autostop.example.test",
					"x-forwarded-for": "192.0.2.1", "x-forwarded-proto": "https", "x-forwarded-port": "443",
				} {
					if h[k] != want {
						t.Errorf("header %s = %q, want %q", k, h[k], want)
					}
				}
				if !regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`).MatchString(h["x-amzn-trace-id"]) {
					t.Errorf("x-amzn-trace-id = %q", h["x-amzn-trace-id"])
				}
				if ev.Body != "" || ev.IsBase64Encoded {
					t.Errorf("body = %q (base64 %v), want empty", ev.Body, ev.IsBase64Encoded)
				}
			},
		},
		{
			name: "multi-value: every value, HTTP listener, client's X-Forwarded-For and trace id kept",
			in: req{method: "POST", target: "/submit?x=1&x=2", host: "demo.autostop.example.test",
				header: http.Header{"X-Multi": {"one", "two"}, "X-Forwarded-For": {"203.0.113.9"}, "X-Amzn-Trace-Id": {"Root=1-00000000-000000000000000000000001"},
					"Content-Type": {"application/json"}},
				body: `{"a":1}`},
			listener: http80, tg: multi,
			check: func(t *testing.T, ev events.ALBTargetGroupRequest) {
				if ev.Headers != nil || ev.QueryStringParameters != nil {
					t.Errorf("single-value maps set: %v %v", ev.Headers, ev.QueryStringParameters)
				}
				if !reflect.DeepEqual(ev.MultiValueQueryStringParameters, map[string][]string{"x": {"1", "2"}}) {
					t.Errorf("multi-value query = %v", ev.MultiValueQueryStringParameters)
				}
				h := ev.MultiValueHeaders
				for k, want := range map[string][]string{
					"x-multi": {"one", "two"}, "x-forwarded-for": {"203.0.113.9, 192.0.2.1"}, "x-forwarded-proto": {"http"},
					"x-forwarded-port": {"80"}, "x-amzn-trace-id": {"Root=1-00000000-000000000000000000000001"}, "host": {"demo.autostop.example.test"},
				} {
					if !reflect.DeepEqual(h[k], want) {
						t.Errorf("header %s = %q, want %q", k, h[k], want)
					}
				}
				if ev.Body != `{"a":1}` || ev.IsBase64Encoded {
					t.Errorf("JSON body = %q (base64 %v), want as is", ev.Body, ev.IsBase64Encoded)
				}
			},
		},
		{
			name:     "binary content type: base64",
			in:       req{method: "PUT", target: "/bin", host: "h.test", header: http.Header{"Content-Type": {"application/octet-stream"}}, body: "\x00\x01\xff"},
			listener: https, tg: single,
			check: func(t *testing.T, ev events.ALBTargetGroupRequest) {
				if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString([]byte("\x00\x01\xff")) {
					t.Errorf("body = %q (base64 %v)", ev.Body, ev.IsBase64Encoded)
				}
			},
		},
		{
			name: "text content but gzip-encoded: base64",
			in: req{method: "POST", target: "/", host: "h.test", header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Encoding": {"gzip"}},
				body: "pretend gzip"},
			listener: https, tg: single,
			check: func(t *testing.T, ev events.ALBTargetGroupRequest) {
				if !ev.IsBase64Encoded {
					t.Errorf("body = %q, want base64", ev.Body)
				}
			},
		},
		{
			name:     "form post (not a text type for the ALB): base64",
			in:       req{method: "POST", target: "/", host: "h.test", header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, body: "a=1"},
			listener: https, tg: single,
			check: func(t *testing.T, ev events.ALBTargetGroupRequest) {
				if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString([]byte("a=1")) {
					t.Errorf("body = %q (base64 %v)", ev.Body, ev.IsBase64Encoded)
				}
			},
		},
		{
			name:     "text/html with charset: as is",
			in:       req{method: "POST", target: "/", host: "h.test", header: http.Header{"Content-Type": {"Text/HTML; charset=utf-8"}}, body: "<p>hé</p>"},
			listener: https, tg: single,
			check: func(t *testing.T, ev events.ALBTargetGroupRequest) {
				if ev.IsBase64Encoded || ev.Body != "<p>hé</p>" {
					t.Errorf("body = %q (base64 %v)", ev.Body, ev.IsBase64Encoded)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.in.method, tt.in.target, strings.NewReader(tt.in.body))
			r.Host = tt.in.host
			for k, vs := range tt.in.header {
				r.Header[k] = vs
			}
			tt.check(t, albEvent(newRequest(r, tt.listener), tt.tg, []byte(tt.in.body)))
		})
	}
}
