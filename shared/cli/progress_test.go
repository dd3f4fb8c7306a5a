package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	"  ↻ WaitForLoadBalancer: waiting for the load balancer, check 1, next in 15s",
	"  ✓ WaitForLoadBalancer  15.2s",
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
			[]string{"  ↻ WaitForDNS: waiting for DNS, check 1", "  ✗ WaitForDNS: execution aborted"},
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

// pendingCertificate is EnsureCertificate's output while ACM waits for the
// validation record at the given DNS provider.
func pendingCertificate(provider string) string {
	return `{"spec":{"dns":{"provider":"` + provider + `"}},"results":{"certificate":{"arn":"arn:c","status":"PENDING_VALIDATION",
 "validationRecords":[{"name":"_x1.autostop.example.test.","type":"CNAME","value":"_y1.acm-validations.aws."}],"attempts":1,"nextWaitSeconds":30}}}`
}

// TestProgressTellsValidationRecordsEarly: with another DNS provider, the
// validation CNAME is printed as soon as EnsureCertificate reports it (once,
// however many times the wait loop turns); with Route 53 autostop writes it
// itself and nothing is printed.
func TestProgressTellsValidationRecordsEarly(t *testing.T) {
	issued := `{"spec":{"dns":{"provider":"other"}},"results":{"certificate":{"arn":"arn:c","status":"ISSUED",
 "validationRecords":[{"name":"_x1.autostop.example.test.","type":"CNAME","value":"_y1.acm-validations.aws."}]}}}`
	run := func(provider string) string {
		certificate := func(h *history, output string) *history {
			return h.enter("Task", "EnsureCertificate", `{}`).attempt(0, "", "").exit("Task", "EnsureCertificate", 0, output).
				enter("Choice", "CertificateIssued?", `{}`).exit("Choice", "CertificateIssued?", 0, output)
		}
		wait := func(h *history, seconds int) *history {
			return h.enter("Wait", "WaitForCertificate", fmt.Sprintf(`{"results":{"certificate":{"nextWaitSeconds":%d}}}`, seconds)).
				exit("Wait", "WaitForCertificate", time.Duration(seconds)*time.Second, `{}`)
		}
		h := certificate(newHistory(), pendingCertificate(provider))
		h = certificate(wait(h, 30), pendingCertificate(provider))
		h = certificate(wait(h, 60), issued).task("EnsureListeners", 0)
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
		"  → CertificateIssued?",
		"  ✓ CertificateIssued?  0.0s",
		"  ↻ WaitForCertificate: waiting for the certificate, check 1, next in 30s",
		"  ↻ WaitForCertificate: waiting for the certificate (EnsureCertificate), check 2, next in 60s",
		"  ✓ WaitForCertificate: done after 2 checks, 1m30s",
		"  → EnsureListeners",
		"  ✓ EnsureListeners  0.0s",
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

// The load balancer's wait loop: a check is EnsureLoadBalancer then
// LoadBalancerActive?, a turn WaitForLoadBalancer (15 s) then a check.
func lbActive(h *history) *history {
	return h.enter("Choice", "LoadBalancerActive?", `{}`).exit("Choice", "LoadBalancerActive?", 0, `{}`)
}

func lbWait(h *history) *history {
	return h.enter("Wait", "WaitForLoadBalancer", `{"timing":{"loadBalancerWaitSeconds":15}}`).exit("Wait", "WaitForLoadBalancer", 15*time.Second, `{}`)
}

func lbCheck(h *history, d time.Duration) *history {
	return lbActive(h.task("EnsureLoadBalancer", d))
}

// lbWaitLoop is the first check, then turns whose checks take 0.64 s
// each: three turns take 47.0 s from the first wait to the last check.
func lbWaitLoop(turns int) *history {
	h := lbCheck(newHistory(), 400*time.Millisecond)
	for range turns {
		lbCheck(lbWait(h), 640*time.Millisecond)
	}

	return h
}

// TestProgressShowsWaitLoopAsOneLine: from the Wait's first entry, a wait
// loop is one line per turn (rewritten in place on a terminal), then a line
// saying how long it took; failures inside a turn still show.
func TestProgressShowsWaitLoopAsOneLine(t *testing.T) {
	const (
		rewrite   = "\r\x1b[K"
		check1    = "  ↻ WaitForLoadBalancer: waiting for the load balancer, check 1, next in 15s"
		check2    = "  ↻ WaitForLoadBalancer: waiting for the load balancer (EnsureLoadBalancer), check 2, next in 15s"
		check3    = "  ↻ WaitForLoadBalancer: waiting for the load balancer (EnsureLoadBalancer), check 3, next in 15s"
		done3     = "  ✓ WaitForLoadBalancer: done after 3 checks, 47.0s"
		throttled = "  ✗ EnsureLoadBalancer: Throttled: create load balancer web: api error Throttling: Rate exceeded (retrying)"
		denied    = "  ✗ EnsureLoadBalancer: AccessDenied: create listener: not authorized"
	)
	firstCheck := lines(
		"  → EnsureLoadBalancer",
		"  ✓ EnsureLoadBalancer  0.4s",
		"  → LoadBalancerActive?",
		"  ✓ LoadBalancerActive?  0.0s",
	)
	next := lines("  → EnsureProxyTarget", "  ✓ EnsureProxyTarget  1.5s")

	// The second turn's check is throttled once, then succeeds (in 0.64 s
	// in all, like the others).
	retried := func() *history {
		h := lbWait(lbWaitLoop(1)).enter("Task", "EnsureLoadBalancer", `{}`).
			attempt(100*time.Millisecond, "Throttled", throttledCause).
			attempt(540*time.Millisecond, "", "").
			exit("Task", "EnsureLoadBalancer", 0, `{}`)

		return lbCheck(lbWait(lbActive(h)), 640*time.Millisecond).task("EnsureProxyTarget", 1500*time.Millisecond)
	}
	// The second turn's check fails for good: the Catch rolls back.
	denied2 := func() *history {
		return lbWait(lbWaitLoop(1)).enter("Task", "EnsureLoadBalancer", `{}`).
			attempt(100*time.Millisecond, "AccessDenied", deniedCause).
			exit("Task", "EnsureLoadBalancer", 0, `{"error":{}}`).
			task("Rollback", 700*time.Millisecond).
			enter("Fail", "ProvisioningFailed", `{}`).failed("AccessDenied", deniedCause)
	}
	// The load balancer is still not active at the bound: the Choice
	// goes on to LoadBalancerNotActive, which rolls back.
	gaveUp := func() *history {
		return lbWaitLoop(2).
			enter("Pass", "LoadBalancerNotActive", `{}`).exit("Pass", "LoadBalancerNotActive", 0, `{}`).
			task("Rollback", 700*time.Millisecond).
			enter("Fail", "ProvisioningFailed", `{}`).failed("Timeout", "the load balancer did not become active in time")
	}

	tests := []struct {
		name    string
		tty     bool
		history *history
		want    string // the whole output
	}{
		{
			"three turns", false,
			lbWaitLoop(3).task("EnsureProxyTarget", 1500*time.Millisecond),
			firstCheck + lines(check1, check2, check3, done3) + next,
		},
		{
			"three turns, on a terminal", true,
			lbWaitLoop(3).task("EnsureProxyTarget", 1500*time.Millisecond),
			firstCheck + rewrite + check1 + rewrite + check2 + rewrite + check3 + "\n" + lines(done3) + next,
		},
		{
			"retried failure in the second turn", false, retried(),
			firstCheck + lines(check1, check2, throttled, check3, done3) + next,
		},
		{
			"retried failure in the second turn, on a terminal", true, retried(),
			firstCheck + rewrite + check1 + rewrite + check2 + "\n" + lines(throttled) +
				rewrite + check3 + "\n" + lines(done3) + next,
		},
		{
			"loop gives up, the execution fails", false, gaveUp(),
			firstCheck + lines(check1, check2,
				"  ✓ WaitForLoadBalancer: done after 2 checks, 31.3s",
				"  ✓ LoadBalancerNotActive  0.0s",
				"  → Rollback",
				"  ✓ Rollback  0.7s",
				"  ✗ ProvisioningFailed",
			),
		},
		{
			// No "done" line: the failure says how the loop ended.
			"check fails for good in the second turn, on a terminal", true, denied2(),
			firstCheck + rewrite + check1 + rewrite + check2 + "\n" +
				lines(denied, "  → Rollback", "  ✓ Rollback  0.7s", "  ✗ ProvisioningFailed"),
		},
		{
			"aborted while waiting, on a terminal", true,
			lbWaitLoop(1).enter("Wait", "WaitForLoadBalancer", `{"timing":{"loadBalancerWaitSeconds":15}}`).
				add("ExecutionAborted", time.Second, nil),
			firstCheck + rewrite + check1 + rewrite + check2 + "\n" + lines("  ✗ WaitForLoadBalancer: execution aborted"),
		},
		{
			// flush ends the line: what follows the watch starts on its own.
			"watch stops while waiting, on a terminal", true,
			lbCheck(newHistory(), 400*time.Millisecond).enter("Wait", "WaitForLoadBalancer", `{"timing":{"loadBalancerWaitSeconds":15}}`),
			firstCheck + rewrite + check1 + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newProgress(&out, waitStates(definition))
			p.tty = tt.tty
			for _, e := range tt.history.events {
				p.event(e)
			}
			p.flush()
			if got := out.String(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s\n(got %q)", got, tt.want, got)
			}
		})
	}
}

// On a terminal, validation records a turn's check reports show below the
// loop's line, which the next turn starts again.
func TestProgressTellsValidationRecordsInsideWaitLoop(t *testing.T) {
	const rewrite = "\r\x1b[K"
	certificate := func(h *history, output string) *history {
		return h.enter("Task", "EnsureCertificate", `{}`).attempt(0, "", "").exit("Task", "EnsureCertificate", 0, output).
			enter("Choice", "CertificateIssued?", `{}`).exit("Choice", "CertificateIssued?", 0, output)
	}
	wait := func(h *history) *history {
		return h.enter("Wait", "WaitForCertificate", `{"results":{"certificate":{"nextWaitSeconds":30}}}`).
			exit("Wait", "WaitForCertificate", 30*time.Second, `{}`)
	}
	// ACM lists the validation record only from the second check on.
	h := certificate(newHistory(), `{"spec":{"dns":{"provider":"other"}},"results":{"certificate":{"arn":"arn:c","status":"PENDING_VALIDATION"}}}`)
	h = wait(certificate(wait(h), pendingCertificate("other")))
	var out bytes.Buffer
	p := newProgress(&out, waitStates(definition))
	p.tty = true
	for _, e := range h.events {
		p.event(e)
	}
	p.flush()

	want := lines("  → EnsureCertificate", "  ✓ EnsureCertificate  0.0s", "  → CertificateIssued?", "  ✓ CertificateIssued?  0.0s") +
		rewrite + "  ↻ WaitForCertificate: waiting for the certificate, check 1, next in 30s\n" +
		lines(
			"  ! Add this record at your DNS provider now: ACM issues the certificate once it sees it,",
			"    and the workflow waits for that (checking with growing intervals, up to about 24 hours):",
			"      _x1.autostop.example.test.  CNAME  _y1.acm-validations.aws.",
		) +
		rewrite + "  ↻ WaitForCertificate: waiting for the certificate (EnsureCertificate), check 2, next in 30s\n"
	if got := out.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s\n(got %q)", got, want, got)
	}
}

func TestWaitSubject(t *testing.T) {
	tests := map[string]string{
		"WaitForLoadBalancer": "the load balancer",
		"WaitForCertificate":  "the certificate",
		"WaitForDNS":          "DNS",
		"WaitForDNSChange":    "the DNS change",
		"RollbackWait":        "rollback",
		"WaitForS3Bucket":     "the S3 bucket",
		"Wait":                "",
		"Fixed":               "fixed",
	}
	for name, want := range tests {
		if got := waitSubject(name); got != want {
			t.Errorf("waitSubject(%q) = %q, want %q", name, got, want)
		}
	}
}

// Only a terminal gets its loop line rewritten in place.
func TestNewProgressDetectsTerminal(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "progress.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, out := range map[string]io.Writer{"buffer": &bytes.Buffer{}, "file": file, "pipe": w} {
		if newProgress(out, nil).tty {
			t.Errorf("%s taken for a terminal", name)
		}
	}
	// A character device, as a terminal is.
	if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		defer null.Close()
		if info, err := null.Stat(); err == nil && info.Mode()&os.ModeCharDevice != 0 && !newProgress(null, nil).tty {
			t.Errorf("%s not taken for a terminal", os.DevNull)
		}
	}
}

// lines is the output of the given lines.
func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }

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

// TestProgressShowsPollingLoopAsOneLine: a Task its Choice runs again
// without a Wait (the wake's WaitReady) is a loop too.
func TestProgressShowsPollingLoopAsOneLine(t *testing.T) {
	h := newHistory().task("StartInstances", 100*time.Millisecond)
	for range 3 {
		h = h.task("WaitReady", 5*time.Second).enter("Choice", "Ready?", `{}`).exit("Choice", "Ready?", 0, `{}`)
	}
	h = h.task("SwitchTraffic", 100*time.Millisecond)
	var out bytes.Buffer
	p := newProgress(&out, nil)
	for _, e := range h.events {
		p.event(e)
	}
	p.flush()
	assertLines(t, out.String(), []string{
		"  → StartInstances",
		"  ✓ StartInstances  0.1s",
		"  → WaitReady",
		"  ✓ WaitReady  5.0s",
		"  → Ready?",
		"  ✓ Ready?  0.0s",
		"  ↻ WaitReady: not yet (Ready?), check 2",
		"  ↻ WaitReady: not yet (Ready?), check 3",
		"  ✓ WaitReady: done after 3 checks, 15.1s",
		"  → SwitchTraffic",
		"  ✓ SwitchTraffic  0.1s",
	})
}
