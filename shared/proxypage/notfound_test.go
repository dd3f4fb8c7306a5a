package proxypage

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestNotFound(t *testing.T) {
	tests := []struct {
		name        string
		req         events.ALBTargetGroupRequest
		wantInBody  string
		notInBody   string
		multiValued bool
		wantType    string
	}{
		{name: "single-value headers", req: browserGetHeaders(map[string]string{"host": "app.autostop.example.test"}), wantInBody: "app.autostop.example.test", wantType: "text/html"},
		{name: "multi-value headers", req: events.ALBTargetGroupRequest{HTTPMethod: "GET", MultiValueHeaders: map[string][]string{"host": {"x.example.test"}, "accept": {"text/html"}}},
			wantInBody: "x.example.test", multiValued: true, wantType: "text/html"},
		{name: "host is escaped", req: browserGetHeaders(map[string]string{"host": "<script>alert(1)</script>"}), wantInBody: "&lt;script&gt;", notInBody: "<script>", wantType: "text/html"},
		{name: "no host", req: browserGetHeaders(map[string]string{}), wantInBody: "(no Host header)", wantType: "text/html"},
		{name: "curl: text, never HTML", req: events.ALBTargetGroupRequest{HTTPMethod: "GET", Headers: map[string]string{"host": "<b>x</b>", "accept": "*/*"}},
			wantInBody: "no AutoStopping rule for host <b>x</b>\n", wantType: "text/plain"},
		{name: "an API client preferring JSON", req: events.ALBTargetGroupRequest{HTTPMethod: "POST", Headers: map[string]string{"host": "api.example.test", "accept": "application/json"}},
			wantInBody: `{"error":"no AutoStopping rule for host api.example.test","host":"api.example.test"}`, wantType: "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := NotFound(tt.req)
			if resp.StatusCode != 404 || resp.StatusDescription != "404 Not Found" {
				t.Errorf("status %d %q", resp.StatusCode, resp.StatusDescription)
			}
			if !strings.Contains(resp.Body, tt.wantInBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantInBody, resp.Body)
			}
			if tt.notInBody != "" && strings.Contains(resp.Body, tt.notInBody) {
				t.Errorf("body contains unescaped %q", tt.notInBody)
			}
			ct := resp.Headers["content-type"]
			if tt.multiValued {
				if resp.Headers != nil || len(resp.MultiValueHeaders["content-type"]) != 1 {
					t.Fatalf("multi-value request must get multi-value headers only: %+v", resp)
				}
				ct = resp.MultiValueHeaders["content-type"][0]
			}
			if !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("content-type %q, want %s", ct, tt.wantType)
			}
			if got := respHeader(t, resp, "x-autostop"); got != "not-found" {
				t.Errorf("x-autostop %q", got)
			}
			if got := respHeader(t, resp, "cache-control"); got != "no-store" {
				t.Errorf("cache-control %q", got)
			}
		})
	}
}

func browserGetHeaders(h map[string]string) events.ALBTargetGroupRequest {
	h["accept"] = "text/html,application/xhtml+xml"
	return events.ALBTargetGroupRequest{HTTPMethod: "GET", Headers: h}
}
