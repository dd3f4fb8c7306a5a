package localalb

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestRedirectLocation(t *testing.T) {
	https := listenerView{protocol: types.ProtocolEnumHttps, port: 443}
	http80 := listenerView{protocol: types.ProtocolEnumHttp, port: 80}
	tests := []struct {
		name     string
		listener listenerView
		target   string
		cfg      *types.RedirectActionConfig
		want     string
	}{
		{
			name: "HTTP to HTTPS, as the port-80 listener does", listener: http80, target: "/a/b?x=1&y=%20",
			cfg:  &types.RedirectActionConfig{Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: types.RedirectActionStatusCodeEnumHttp301},
			want: "https://demo.example.test:443/a/b?x=1&y=%20",
		},
		{
			name: "every part a placeholder", listener: https, target: "/p?q=1",
			cfg: &types.RedirectActionConfig{Protocol: aws.String("#{protocol}"), Host: aws.String("#{host}"), Port: aws.String("#{port}"),
				Path: aws.String("/#{path}"), Query: aws.String("#{query}")},
			want: "https://demo.example.test:443/p?q=1",
		},
		{
			name: "placeholders inside other text", listener: https, target: "/old/x?k=v",
			cfg: &types.RedirectActionConfig{Host: aws.String("www.#{host}"), Path: aws.String("/new/#{path}"),
				Query: aws.String("from=#{host}&#{query}")},
			want: "https://www.demo.example.test:443/new/old/x?from=demo.example.test&k=v",
		},
		{
			name: "no query: no question mark", listener: https, target: "/",
			cfg:  &types.RedirectActionConfig{Host: aws.String("other.example.test"), Port: aws.String("8443")},
			want: "https://other.example.test:8443/",
		},
		{
			name: "fixed query replaces the request's", listener: http80, target: "/x?a=1",
			cfg:  &types.RedirectActionConfig{Protocol: aws.String("HTTP"), Query: aws.String("b=2")},
			want: "http://demo.example.test:80/x?b=2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			r.Host = "demo.example.test"
			if got := redirectLocation(newRequest(r, tt.listener), tt.cfg); got != tt.want {
				t.Errorf("location = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRedirectAndFixedResponseThroughFront: status codes, and a redirect
// to the evaluated host is made followable for a .localhost client.
func TestRedirectAndFixedResponseThroughFront(t *testing.T) {
	e := newFakeLB()
	e.rules[testListener] = []types.Rule{
		hostRule("r1", "1", []string{"moved.example.test"}, types.Action{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
			Path: aws.String("/new/#{path}"), StatusCode: types.RedirectActionStatusCodeEnumHttp301}}),
		hostRule("r2", "2", []string{"away.example.test"}, types.Action{Type: types.ActionTypeEnumRedirect, RedirectConfig: &types.RedirectActionConfig{
			Host: aws.String("elsewhere.example.org"), StatusCode: types.RedirectActionStatusCodeEnumHttp302}}),
		hostRule("r3", "3", []string{"teapot.example.test"}, fixed("418", "short and stout")),
		defaultRule(forward(testLambdaTG)),
	}
	f := newTestFront(t, e, nil, nil)

	tests := []struct {
		name, host, target string
		status             int
		location, body     string
	}{
		{"301 with placeholders", "moved.example.test", "/x?y=1", 301, "https://moved.example.test:443/new/x?y=1", ""},
		{"301 localized for a .localhost client", "moved.example.test.localhost:8123", "/x?y=1", 301, "http://moved.example.test.localhost:8123/new/x?y=1", ""},
		{"302 to another host is not localized", "away.example.test.localhost:8123", "/x", 302, "https://elsewhere.example.org:443/x", ""},
		{"fixed response", "teapot.example.test", "/", 418, "", "short and stout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(f, "GET", tt.target, tt.host, nil, nil)
			if w.Code != tt.status || w.Header().Get("Location") != tt.location || w.Body.String() != tt.body {
				t.Errorf("got %d Location %q body %q; want %d %q %q", w.Code, w.Header().Get("Location"), w.Body.String(), tt.status, tt.location, tt.body)
			}
			if tt.body != "" && w.Header().Get("Content-Type") != "text/plain" {
				t.Errorf("Content-Type = %q", w.Header().Get("Content-Type"))
			}
		})
	}
}

func TestTerminalActionAndForwardTargetGroup(t *testing.T) {
	auth := types.Action{Type: types.ActionTypeEnumAuthenticateOidc, Order: aws.Int32(1)}
	fwd := forward("tg-a")
	fwd.Order = aws.Int32(2)
	if got := terminalAction([]types.Action{fwd, auth}); got == nil || got.Type != types.ActionTypeEnumForward {
		t.Fatalf("terminal action = %+v, want the forward", got)
	}
	if got := terminalAction([]types.Action{auth}); got != nil {
		t.Fatalf("terminal action of authenticate only = %+v, want none", got)
	}

	tests := []struct {
		name string
		a    types.Action
		want string
	}{
		{"TargetGroupArn", forward("tg-a"), "tg-a"},
		{"ForwardConfig with one target group", types.Action{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
			TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: aws.String("tg-b")}}}}, "tg-b"},
		{"ForwardConfig: weight 0 never chosen", types.Action{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
			TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: aws.String("tg-zero"), Weight: aws.Int32(0)}, {TargetGroupArn: aws.String("tg-c"), Weight: aws.Int32(5)}}}}, "tg-c"},
	}
	for _, tt := range tests {
		for range 20 {
			if got := forwardTargetGroup(&tt.a); got != tt.want {
				t.Fatalf("%s: forward to %q, want %q", tt.name, got, tt.want)
			}
		}
	}
}

func TestErrorPage(t *testing.T) {
	w := httptest.NewRecorder()
	writeError(w, http.StatusServiceUnavailable)
	if w.Code != 503 || w.Header().Get("Server") != "awselb/2.0" || w.Header().Get("Content-Type") != "text/html" ||
		!strings.Contains(w.Body.String(), "<title>503 Service Temporarily Unavailable</title>") {
		t.Errorf("503 page: %d %v %q", w.Code, w.Header(), w.Body.String())
	}
}
