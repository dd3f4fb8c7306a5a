package proxypage

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestHeaderLookup(t *testing.T) {
	tests := []struct {
		name  string
		req   events.ALBTargetGroupRequest
		value string
		list  string
	}{
		{"single-value", events.ALBTargetGroupRequest{Headers: map[string]string{"accept": "a"}}, "a", "a"},
		{"single-value, other case", events.ALBTargetGroupRequest{Headers: map[string]string{"Accept": "a"}}, "a", "a"},
		{"multi-value", events.ALBTargetGroupRequest{MultiValueHeaders: map[string][]string{"accept": {"a", "b"}}}, "b", "a,b"},
		{"multi-value, other case", events.ALBTargetGroupRequest{MultiValueHeaders: map[string][]string{"ACCEPT": {"a"}}}, "a", "a"},
		{"absent", events.ALBTargetGroupRequest{Headers: map[string]string{"host": "h"}}, "", ""},
		{"no headers", events.ALBTargetGroupRequest{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := headerValue(tt.req, "accept"); got != tt.value {
				t.Errorf("headerValue = %q, want %q", got, tt.value)
			}
			if got := headerList(tt.req, "accept"); got != tt.list {
				t.Errorf("headerList = %q, want %q", got, tt.list)
			}
		})
	}
}

func TestRespondFollowsTheRequestsHeaderMap(t *testing.T) {
	for _, multi := range []bool{false, true} {
		req := events.ALBTargetGroupRequest{}
		if multi {
			req.MultiValueHeaders = map[string][]string{}
		}
		resp := respond(req, 503, "b", header{"x-a", "1"}, header{"x-b", "2"})
		want := map[string]string{"cache-control": "no-store", "x-content-type-options": "nosniff", "x-a": "1", "x-b": "2"}
		n := len(resp.Headers)
		if multi {
			n = len(resp.MultiValueHeaders)
			if resp.Headers != nil {
				t.Errorf("multi-value request got single-value headers")
			}
		} else if resp.MultiValueHeaders != nil {
			t.Errorf("single-value request got multi-value headers")
		}
		if n != len(want) {
			t.Errorf("multi=%v: %d headers, want %d", multi, n, len(want))
		}
		for k, v := range want {
			if got := respHeader(t, resp, k); got != v {
				t.Errorf("multi=%v: %s = %q, want %q", multi, k, got, v)
			}
		}
		if resp.StatusDescription != "503 Service Unavailable" {
			t.Errorf("status %q", resp.StatusDescription)
		}
	}
	if got := statusDescription(418); got != "418 I'm a teapot" {
		t.Errorf("statusDescription(418) = %q", got)
	}
}
