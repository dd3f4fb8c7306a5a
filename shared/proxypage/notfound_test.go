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
	}{
		{name: "single-value headers", req: events.ALBTargetGroupRequest{Headers: map[string]string{"host": "app.autostop.example.test"}}, wantInBody: "app.autostop.example.test"},
		{name: "multi-value headers", req: events.ALBTargetGroupRequest{MultiValueHeaders: map[string][]string{"host": {"x.example.test"}}}, wantInBody: "x.example.test", multiValued: true},
		{name: "host is escaped", req: events.ALBTargetGroupRequest{Headers: map[string]string{"host": "<script>alert(1)</script>"}}, wantInBody: "&lt;script&gt;", notInBody: "<script>"},
		{name: "no host", req: events.ALBTargetGroupRequest{}, wantInBody: "(no Host header)"},
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
			if !strings.HasPrefix(ct, "text/html") {
				t.Errorf("content-type %q", ct)
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
