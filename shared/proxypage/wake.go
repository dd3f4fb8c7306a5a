package proxypage

import (
	"strconv"
	"time"
)

// Phase is how far a rule's wake has come. Its value is what the answers
// write (X-Autostop, the poll's JSON, the page's data-phase attribute).
type Phase string

// The phases of a wake, in order; PhaseFailed ends a wake that did not
// complete. Any other value, the empty one included, reads as PhaseStarting.
const (
	// PhaseStarting: the rule's instances are being started.
	PhaseStarting Phase = "starting"
	// PhaseHealthCheck: the instances run; the ALB's health check of the
	// rule's target group has not passed yet (plus the grace period).
	PhaseHealthCheck Phase = "health-check"
	// PhaseSwitching: the host rule is being pointed back at the instances.
	PhaseSwitching Phase = "switching"
	// PhaseFailed: the wake did not complete (Wake.Error says why); the next
	// request to the rule retries it.
	PhaseFailed Phase = "failed"
)

// normal returns p, or PhaseStarting for a value that is not a phase.
func (p Phase) normal() Phase {
	switch p {
	case PhaseHealthCheck, PhaseSwitching, PhaseFailed:
		return p
	}

	return PhaseStarting
}

// Step is the phase's 1-based position among the steps the page shows
// (starting 1, health-check 2, switching 3), 0 for PhaseFailed.
func (p Phase) Step() int {
	switch p.normal() {
	case PhaseHealthCheck:
		return 2
	case PhaseSwitching:
		return 3
	case PhaseFailed:
		return 0
	}

	return 1
}

// Label is the phase as the page shows it, e.g. "Waiting for the health check".
func (p Phase) Label() string {
	switch p.normal() {
	case PhaseHealthCheck:
		return "Waiting for the health check"
	case PhaseSwitching:
		return "Switching traffic"
	case PhaseFailed:
		return "Wake failed"
	}

	return "Starting instances"
}

// DefaultRetryAfter is the Retry-After of answers whose Wake leaves it zero.
const DefaultRetryAfter = 5 * time.Second

// PollInterval is how often the progress page polls its URL.
const PollInterval = 2 * time.Second

// Wake is what the proxy knows of a rule's wake when it answers a request
// for the rule's host; every answer of this package but NotFound and
// Redirect reads it. The host and path shown come from the request.
type Wake struct {
	// Rule is the AutoStopping rule's name, shown to the client.
	Rule string
	// Phase is how far the wake has come.
	Phase Phase
	// Started is when the wake began: the page counts the elapsed time from
	// it. Zero shows 0 s.
	Started time.Time
	// Now is the proxy's clock when answering; zero means time.Now(). The
	// page counts on from Now-Started with the browser's clock, so the two
	// clocks need not agree.
	Now time.Time
	// Error says why the wake failed, with PhaseFailed; shown to the client,
	// so keep secrets out of it.
	Error string
	// RetryAfter is how soon clients should retry, sent as Retry-After in
	// whole seconds (rounded up); zero means DefaultRetryAfter.
	RetryAfter time.Duration
}

// retryAfterSeconds is RetryAfter in whole seconds, at least 1.
func (w Wake) retryAfterSeconds() int {
	d := w.RetryAfter
	if d <= 0 {
		d = DefaultRetryAfter
	}

	return int(max(1, (d+time.Second-1)/time.Second))
}

// retryAfter is the Retry-After header's value.
func (w Wake) retryAfter() string {
	return strconv.Itoa(w.retryAfterSeconds())
}

// elapsedSeconds is the wake's age in whole seconds, at least 0.
func (w Wake) elapsedSeconds() int {
	if w.Started.IsZero() {
		return 0
	}
	now := w.Now
	if now.IsZero() {
		now = time.Now()
	}

	return int(max(0, now.Sub(w.Started)/time.Second))
}

// errorText is the failure shown for PhaseFailed, never empty.
func (w Wake) errorText() string {
	if w.Error == "" {
		return "The wake did not complete."
	}

	return w.Error
}

// autostopValue is the X-Autostop header's value, e.g. "progress; phase=starting".
func (w Wake) autostopValue(answer string) string {
	return answer + "; phase=" + string(w.Phase.normal())
}
