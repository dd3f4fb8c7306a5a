package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// definition is the part of the real state machine's definition the
// progress reads: its Wait states.
const definition = `{"StartAt":"Init","States":{
  "Init":{"Type":"Pass","Next":"Validate"},
  "WaitForLoadBalancer":{"Type":"Wait","SecondsPath":"$.timing.loadBalancerWaitSeconds","Next":"EnsureLoadBalancer"},
  "WaitForCertificate":{"Type":"Wait","SecondsPath":"$.results.certificate.nextWaitSeconds","Next":"EnsureCertificate"},
  "Fixed":{"Type":"Wait","Seconds":3,"End":true}}}`

const provisionedOutput = `{"name":"web","domain":"autostop.example.test","execution":"cli-web-20250102T150405Z-0a0b",
 "wildcard":"*.autostop.example.test","loadBalancerDnsName":"web-1.elb.localhost",
 "results":{
  "loadBalancer":{"arn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1","dnsName":"web-1.elb.localhost","state":"active",
    "resources":[{"kind":"security-group","id":"sg-1","action":"created"},{"kind":"load-balancer","id":"arn:lb","action":"created"}]},
  "proxyTarget":{"targetGroupArn":"arn:tg","resources":[{"kind":"target-group","id":"arn:tg","action":"created"},{"kind":"alias","id":"arn:alias","action":"updated"}]},
  "certificate":{"arn":"arn:aws:acm:us-east-1:123456789012:certificate/c1","status":"ISSUED","resources":[{"kind":"certificate","id":"arn:aws:acm:us-east-1:123456789012:certificate/c1","action":"adopted"}]},
  "listeners":{"httpsListenerArn":"arn:https","httpListenerArn":"arn:http","resources":[{"kind":"listener","id":"arn:https","action":"created"}]},
  "dns":{"wildcard":"*.autostop.example.test","records":[{"name":"*.autostop.example.test","type":"A","value":"ALIAS web-1.elb.localhost"}],
    "changeStatus":"INSYNC","resources":[{"kind":"record","id":"*.autostop.example.test A","action":"created"}]}}}`

const rollbackOutput = `{"error":{"Error":"AccessDenied","Cause":"{\"errorMessage\":\"create listener: not authorized\",\"errorType\":\"AccessDenied\"}"},
 "rollback":{"deleted":[{"kind":"load-balancer","id":"arn:lb","action":"deleted"},{"kind":"target-group","id":"arn:tg","action":"deleted"}],"left":[]}}`

const throttledCause = `{"errorMessage":"create load balancer web: api error Throttling: Rate exceeded","errorType":"Throttled"}`
const deniedCause = `{"errorMessage":"create listener: not authorized","errorType":"AccessDenied"}`

// successHistory: the ALB needs one wait; everything else succeeds at once.
func successHistory() *history {
	h := newHistory().
		enter("Pass", "Init", `{}`).exit("Pass", "Init", 0, `{}`).
		task("Validate", 300*time.Millisecond).
		task("EnsureLoadBalancer", 400*time.Millisecond).
		enter("Choice", "LoadBalancerActive?", `{}`).exit("Choice", "LoadBalancerActive?", 0, `{}`).
		enter("Wait", "WaitForLoadBalancer", `{"timing":{"loadBalancerWaitSeconds":15}}`).exit("Wait", "WaitForLoadBalancer", 15*time.Second, `{}`).
		task("EnsureLoadBalancer", 200*time.Millisecond).
		enter("Choice", "LoadBalancerActive?", `{}`).exit("Choice", "LoadBalancerActive?", 0, `{}`).
		task("EnsureProxyTarget", 1500*time.Millisecond).
		task("EnsureCertificate", 100*time.Millisecond).
		enter("Choice", "CertificateIssued?", `{}`).exit("Choice", "CertificateIssued?", 0, `{}`).
		task("EnsureListeners", 100*time.Millisecond).
		task("EnsureDNS", 100*time.Millisecond).
		enter("Choice", "DNSInSync?", `{}`).exit("Choice", "DNSInSync?", 0, `{}`).
		enter("Pass", "Provisioned", `{}`).exit("Pass", "Provisioned", 0, provisionedOutput)

	return h.succeeded(provisionedOutput)
}

var successLines = []string{
	"  ✓ Init  0.0s",
	"  → Validate",
	"  ✓ Validate  0.3s",
	"  → EnsureLoadBalancer",
	"  ✓ EnsureLoadBalancer  0.4s",
	"  → LoadBalancerActive?",
	"  ✓ LoadBalancerActive?  0.0s",
	"  → WaitForLoadBalancer  (wait 15s)",
	"  ✓ WaitForLoadBalancer  15.0s",
	"  → EnsureLoadBalancer",
	"  ✓ EnsureLoadBalancer  0.2s",
	"  → LoadBalancerActive?",
	"  ✓ LoadBalancerActive?  0.0s",
	"  → EnsureProxyTarget",
	"  ✓ EnsureProxyTarget  1.5s",
	"  → EnsureCertificate",
	"  ✓ EnsureCertificate  0.1s",
	"  → CertificateIssued?",
	"  ✓ CertificateIssued?  0.0s",
	"  → EnsureListeners",
	"  ✓ EnsureListeners  0.1s",
	"  → EnsureDNS",
	"  ✓ EnsureDNS  0.1s",
	"  → DNSInSync?",
	"  ✓ DNSInSync?  0.0s",
	"  ✓ Provisioned  0.0s",
}

// retryHistory: EnsureLoadBalancer is throttled twice, then succeeds.
func retryHistory() *history {
	h := newHistory().
		enter("Pass", "Init", `{}`).exit("Pass", "Init", 0, `{}`).
		task("Validate", 300*time.Millisecond).
		enter("Task", "EnsureLoadBalancer", `{}`).
		attempt(100*time.Millisecond, "Throttled", throttledCause).
		attempt(100*time.Millisecond, "Throttled", throttledCause).
		attempt(300*time.Millisecond, "", "").
		exit("Task", "EnsureLoadBalancer", 0, `{}`).
		enter("Pass", "Provisioned", `{}`).exit("Pass", "Provisioned", 0, provisionedOutput)

	return h.succeeded(provisionedOutput)
}

var retryLines = []string{
	"  ✓ Init  0.0s",
	"  → Validate",
	"  ✓ Validate  0.3s",
	"  → EnsureLoadBalancer",
	"  ✗ EnsureLoadBalancer: Throttled: create load balancer web: api error Throttling: Rate exceeded (retrying)",
	"  ✗ EnsureLoadBalancer: Throttled: create load balancer web: api error Throttling: Rate exceeded (retrying)",
	"  ✓ EnsureLoadBalancer  0.5s",
	"  ✓ Provisioned  0.0s",
}

// rollbackHistory: EnsureListeners fails for good; the Catch runs the
// rollback, then the Fail state.
func rollbackHistory() *history {
	h := newHistory().
		enter("Pass", "Init", `{}`).exit("Pass", "Init", 0, `{}`).
		task("Validate", 300*time.Millisecond).
		task("EnsureLoadBalancer", 400*time.Millisecond).
		enter("Task", "EnsureListeners", `{}`).
		attempt(100*time.Millisecond, "AccessDenied", deniedCause).
		exit("Task", "EnsureListeners", 0, `{"error":{}}`).
		task("Rollback", 700*time.Millisecond)
	h.events[len(h.events)-1].StateExitedEventDetails.Output = &[]string{rollbackOutput}[0]

	return h.enter("Fail", "ProvisioningFailed", rollbackOutput).failed("AccessDenied", deniedCause)
}

var rollbackLines = []string{
	"  ✓ Init  0.0s",
	"  → Validate",
	"  ✓ Validate  0.3s",
	"  → EnsureLoadBalancer",
	"  ✓ EnsureLoadBalancer  0.4s",
	"  → EnsureListeners",
	"  ✗ EnsureListeners: AccessDenied: create listener: not authorized",
	"  → Rollback",
	"  ✓ Rollback  0.7s",
	"  ✗ ProvisioningFailed",
}

func TestProgressRendersHistory(t *testing.T) {
	tests := []struct {
		name    string
		history *history
		want    []string
	}{
		{"success with a wait loop", successHistory(), successLines},
		{"retry then success", retryHistory(), retryLines},
		{"failure with rollback", rollbackHistory(), rollbackLines},
		{
			"runtime error inside a state",
			newHistory().enter("Pass", "Init", `{}`).failed("States.Runtime", `execute state "Init": bad path`),
			[]string{`  ✗ Init: States.Runtime: execute state "Init": bad path`},
		},
		{
			"aborted while waiting",
			newHistory().enter("Wait", "WaitForDNS", `{}`).add("ExecutionAborted", time.Second, nil),
			[]string{"  → WaitForDNS", "  ✗ WaitForDNS: execution aborted"},
		},
		{
			"task fails without catch",
			newHistory().enter("Task", "EnsureDNS", `{}`).attempt(0, "Conflict", "record exists").failed("Conflict", "record exists"),
			[]string{"  → EnsureDNS", "  ✗ EnsureDNS: Conflict: record exists"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newProgress(&out, waitStates(definition))
			for _, e := range tt.history.events {
				p.event(e)
			}
			p.flush()
			assertLines(t, out.String(), tt.want)
		})
	}
}

// TestProgressTellsValidationRecordsEarly: with another DNS provider, the
// validation CNAME is printed as soon as EnsureCertificate reports it (once,
// however many times the wait loop turns); with Route 53 autostop writes it
// itself and nothing is printed.
func TestProgressTellsValidationRecordsEarly(t *testing.T) {
	pending := func(provider string) string {
		return `{"spec":{"dns":{"provider":"` + provider + `"}},"results":{"certificate":{"arn":"arn:c","status":"PENDING_VALIDATION",
 "validationRecords":[{"name":"_x1.autostop.example.test.","type":"CNAME","value":"_y1.acm-validations.aws."}],"attempts":1,"nextWaitSeconds":30}}}`
	}
	issued := `{"spec":{"dns":{"provider":"other"}},"results":{"certificate":{"arn":"arn:c","status":"ISSUED",
 "validationRecords":[{"name":"_x1.autostop.example.test.","type":"CNAME","value":"_y1.acm-validations.aws."}]}}}`
	run := func(provider string) string {
		h := newHistory().
			enter("Task", "EnsureCertificate", `{}`).attempt(0, "", "").exit("Task", "EnsureCertificate", 0, pending(provider)).
			enter("Wait", "WaitForCertificate", `{"results":{"certificate":{"nextWaitSeconds":30}}}`).exit("Wait", "WaitForCertificate", 30*time.Second, `{}`).
			enter("Task", "EnsureCertificate", `{}`).attempt(0, "", "").exit("Task", "EnsureCertificate", 0, pending(provider)).
			enter("Task", "EnsureCertificate", `{}`).attempt(0, "", "").exit("Task", "EnsureCertificate", 0, issued)
		var out bytes.Buffer
		p := newProgress(&out, waitStates(definition))
		for _, e := range h.events {
			p.event(e)
		}

		return out.String()
	}

	assertLines(t, run("other"), []string{
		"  → EnsureCertificate",
		"  ✓ EnsureCertificate  0.0s",
		"  ! Add this record at your DNS provider now: ACM issues the certificate once it sees it,",
		"    and the workflow waits for that (checking with growing intervals, up to about 24 hours):",
		"      _x1.autostop.example.test.  CNAME  _y1.acm-validations.aws.",
		"  → WaitForCertificate  (wait 30s)",
		"  ✓ WaitForCertificate  30.0s",
		"  → EnsureCertificate",
		"  ✓ EnsureCertificate  0.0s",
		"  → EnsureCertificate",
		"  ✓ EnsureCertificate  0.0s",
	})
	if got := run("route53"); strings.Contains(got, "DNS provider") {
		t.Errorf("Route 53: the user was asked to add a record:\n%s", got)
	}
}

// A failure that is the last event seen for a while is shown without
// waiting for the retry; the retry then gets its own line.
func TestProgressShowsHeldFailureWhenIdle(t *testing.T) {
	h := newHistory().enter("Task", "EnsureDNS", `{}`).attempt(0, "Throttled", throttledCause)
	var out bytes.Buffer
	p := newProgress(&out, nil)
	for _, e := range h.events {
		p.event(e)
	}
	p.idle()
	h.attempt(0, "", "").exit("Task", "EnsureDNS", 0, `{}`)
	for _, e := range h.events[len(h.events)-4:] {
		p.event(e)
	}
	assertLines(t, out.String(), []string{
		"  → EnsureDNS",
		"  ✗ EnsureDNS: Throttled: create load balancer web: api error Throttling: Rate exceeded",
		"  ↻ EnsureDNS: retrying",
		"  ✓ EnsureDNS  0.0s",
	})
}

func TestWaitDescribe(t *testing.T) {
	waits := waitStates(definition)
	tests := []struct {
		state, input, want string
	}{
		{"WaitForLoadBalancer", `{"timing":{"loadBalancerWaitSeconds":15}}`, "wait 15s"},
		{"WaitForCertificate", `{"results":{"certificate":{"nextWaitSeconds":60}}}`, "wait 60s"},
		{"WaitForCertificate", `{"results":{}}`, ""},
		{"Fixed", `{}`, "wait 3s"},
		{"Unknown", `{}`, ""},
	}
	for _, tt := range tests {
		if got := waits[tt.state].describe(tt.input); got != tt.want {
			t.Errorf("%s with %s: %q, want %q", tt.state, tt.input, got, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := map[time.Duration]string{
		0: "0.0s", 420 * time.Millisecond: "0.4s", 59 * time.Second: "59.0s", 185 * time.Second: "3m05s", -time.Second: "0.0s",
	}
	for d, want := range tests {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func assertLines(t *testing.T, got string, want []string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
