package proxypage

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestUnavailableAndTooBusy(t *testing.T) {
	api := func(method, accept, contentType string) events.ALBTargetGroupRequest {
		h := map[string]string{"host": "api.example.test"}
		if accept != "" {
			h["accept"] = accept
		}
		if contentType != "" {
			h["content-type"] = contentType
		}

		return events.ALBTargetGroupRequest{HTTPMethod: method, Path: "/v1/orders", Headers: h}
	}
	waking := Wake{Rule: "orders", Phase: PhaseHealthCheck, RetryAfter: 3 * time.Second}
	failed := Wake{Rule: "orders", Phase: PhaseFailed, Error: "instance i-0abc terminated"}
	tests := []struct {
		name     string
		answer   func(events.ALBTargetGroupRequest, Wake) events.ALBTargetGroupResponse
		req      events.ALBTargetGroupRequest
		wake     Wake
		json     bool
		message  string
		autostop string
		retry    string
	}{
		{"curl gets text", Unavailable, api("GET", "*/*", ""), waking, false,
			`the app behind rule "orders" is waking up (waiting for the health check); retry after 3 seconds`, "unavailable; phase=health-check", "3"},
		{"JSON client", Unavailable, api("GET", "application/json", ""), waking, true,
			`the app behind rule "orders" is waking up (waiting for the health check); retry after 3 seconds`, "unavailable; phase=health-check", "3"},
		{"JSON request body", Unavailable, api("POST", "*/*", "application/json"), waking, true,
			`the app behind rule "orders" is waking up (waiting for the health check); retry after 3 seconds`, "unavailable; phase=health-check", "3"},
		{"browser POST never gets HTML", Unavailable, api("POST", acceptChrome, "application/x-www-form-urlencoded"), waking, false,
			`the app behind rule "orders" is waking up (waiting for the health check); retry after 3 seconds`, "unavailable; phase=health-check", "3"},
		{"no Accept", Unavailable, api("DELETE", "", ""), waking, false,
			`the app behind rule "orders" is waking up (waiting for the health check); retry after 3 seconds`, "unavailable; phase=health-check", "3"},
		{"failed wake", Unavailable, api("GET", "application/json", ""), failed, true,
			`waking the app behind rule "orders" failed: instance i-0abc terminated; the next request retries`, "unavailable; phase=failed", "5"},
		{"too busy, text", TooBusy, api("PUT", "*/*", ""), waking, false,
			`too many requests are waiting for the app behind rule "orders" to wake up; retry after 3 seconds`, "too-busy; phase=health-check", "3"},
		{"too busy, JSON", TooBusy, api("PUT", "application/problem+json", ""), Wake{Rule: "orders"}, true,
			`too many requests are waiting for the app behind rule "orders" to wake up; retry after 5 seconds`, "too-busy; phase=starting", "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.answer(tt.req, tt.wake)
			if resp.StatusCode != 503 || resp.StatusDescription != "503 Service Unavailable" {
				t.Errorf("status %d %q", resp.StatusCode, resp.StatusDescription)
			}
			for name, want := range map[string]string{"cache-control": "no-store", "x-autostop": tt.autostop, "retry-after": tt.retry, "x-content-type-options": "nosniff"} {
				if got := respHeader(t, resp, name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			ct := respHeader(t, resp, "content-type")
			if !tt.json {
				if ct != "text/plain; charset=utf-8" || resp.Body != tt.message+"\n" {
					t.Errorf("%s %q, want text %q", ct, resp.Body, tt.message)
				}

				return
			}
			if ct != "application/json" {
				t.Errorf("content-type %q", ct)
			}
			var got UnavailableBody
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			want := UnavailableBody{Error: tt.message, Rule: tt.wake.Rule, Phase: tt.wake.Phase.normal(), RetryAfterSeconds: tt.wake.retryAfterSeconds()}
			if got != want {
				t.Errorf("body %+v, want %+v", got, want)
			}
			if !strings.HasPrefix(resp.Body, `{"error":`) || !strings.Contains(resp.Body, `"retryAfterSeconds":`) {
				t.Errorf("JSON shape %s", resp.Body)
			}
		})
	}
}

func TestUnavailableHeadAndMultiValue(t *testing.T) {
	req := events.ALBTargetGroupRequest{HTTPMethod: "HEAD", Path: "/", MultiValueHeaders: map[string][]string{"accept": {"application/json"}}}
	for _, resp := range []events.ALBTargetGroupResponse{Unavailable(req, Wake{Rule: "r"}), TooBusy(req, Wake{Rule: "r"})} {
		if resp.Body != "" || resp.Headers != nil || resp.MultiValueHeaders["content-type"][0] != "application/json" {
			t.Errorf("HEAD, multi-value: %+v", resp)
		}
	}
}
