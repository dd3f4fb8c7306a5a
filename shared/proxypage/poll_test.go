package proxypage

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestPoll(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	single := events.ALBTargetGroupRequest{HTTPMethod: "GET", Path: "/", Headers: map[string]string{"accept": "*/*", "x-autostop-poll": "1"}}
	multi := events.ALBTargetGroupRequest{HTTPMethod: "GET", Path: "/", MultiValueHeaders: map[string][]string{"accept": {"*/*"}, "x-autostop-poll": {"1"}}}
	tests := []struct {
		name     string
		req      events.ALBTargetGroupRequest
		wake     Wake
		want     PollStatus
		autostop string
	}{
		{"starting", single, Wake{Rule: "shop", Phase: PhaseStarting, Started: now.Add(-3 * time.Second), Now: now},
			PollStatus{Rule: "shop", Phase: PhaseStarting, ElapsedSeconds: 3}, "poll; phase=starting"},
		{"health check, multi-value", multi, Wake{Rule: "shop", Phase: PhaseHealthCheck, Started: now.Add(-61 * time.Second), Now: now},
			PollStatus{Rule: "shop", Phase: PhaseHealthCheck, ElapsedSeconds: 61}, "poll; phase=health-check"},
		{"error only once failed", single, Wake{Rule: "shop", Phase: PhaseSwitching, Error: "stale", Started: now, Now: now},
			PollStatus{Rule: "shop", Phase: PhaseSwitching}, "poll; phase=switching"},
		{"failed", single, Wake{Rule: "<b>shop</b>", Phase: PhaseFailed, Error: "no capacity", Started: now.Add(-time.Minute), Now: now},
			PollStatus{Rule: "<b>shop</b>", Phase: PhaseFailed, ElapsedSeconds: 60, Error: "no capacity"}, "poll; phase=failed"},
		{"failed without a reason", single, Wake{Rule: "shop", Phase: PhaseFailed},
			PollStatus{Rule: "shop", Phase: PhaseFailed, Error: "The wake did not complete."}, "poll; phase=failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := Poll(tt.req, tt.wake)
			if resp.StatusCode != 503 || resp.StatusDescription != "503 Service Unavailable" {
				t.Errorf("status %d %q", resp.StatusCode, resp.StatusDescription)
			}
			if (tt.req.MultiValueHeaders != nil) != (resp.MultiValueHeaders != nil) {
				t.Errorf("header maps do not follow the request's: %+v", resp)
			}
			for name, want := range map[string]string{"content-type": "application/json", "cache-control": "no-store", "x-autostop": tt.autostop, "retry-after": "5"} {
				if got := respHeader(t, resp, name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			var got PollStatus
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			if got != tt.want {
				t.Errorf("poll %+v, want %+v", got, tt.want)
			}
			var fields map[string]any
			_ = json.Unmarshal([]byte(resp.Body), &fields)
			for _, k := range []string{"rule", "phase", "elapsedSeconds", "error"} {
				if _, ok := fields[k]; !ok {
					t.Errorf("JSON lacks %q: %s", k, resp.Body)
				}
			}
		})
	}
}
