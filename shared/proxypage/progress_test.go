package proxypage

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// browserGet is a browser navigation to host and path.
func browserGet(host, path string, multi bool) events.ALBTargetGroupRequest {
	req := events.ALBTargetGroupRequest{HTTPMethod: "GET", Path: path}
	if multi {
		req.MultiValueHeaders = map[string][]string{"host": {host}, "accept": {acceptChrome}}
	} else {
		req.Headers = map[string]string{"host": host, "accept": acceptChrome}
	}

	return req
}

// respHeader reads an answer's header from whichever map it filled, and
// fails when it filled the other one too or a value came twice.
func respHeader(t *testing.T, resp events.ALBTargetGroupResponse, name string) string {
	t.Helper()
	if resp.Headers != nil && resp.MultiValueHeaders != nil {
		t.Fatalf("both header maps filled: %+v", resp)
	}
	if resp.MultiValueHeaders != nil {
		vs := resp.MultiValueHeaders[name]
		if len(vs) > 1 {
			t.Fatalf("%s sent %d times", name, len(vs))
		}
		if len(vs) == 1 {
			return vs[0]
		}

		return ""
	}

	return resp.Headers[name]
}

func TestProgress(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		req        events.ALBTargetGroupRequest
		wake       Wake
		wantIn     []string
		notIn      []string
		retry      string
		autostop   string
		emptyBody  bool
		multiValue bool
	}{
		{
			name: "starting", req: browserGet("shop.autostop.example.test", "/cart", false),
			wake:     Wake{Rule: "shop", Phase: PhaseStarting, Started: now.Add(-12 * time.Second), Now: now, RetryAfter: 5 * time.Second},
			retry:    "5",
			autostop: "progress; phase=starting",
			wantIn: []string{
				"<title>Starting shop · autostop</title>", `data-phase="starting"`, `data-elapsed="12"`, `data-poll="2000"`,
				`<span id="rule" class="rule">shop</span>`, `<span class="host">shop.autostop.example.test</span><span class="path">/cart</span>`,
				`<li class="step active" data-step="starting" aria-current="step">`, `<li class="step todo" data-step="health-check">`,
				`<noscript><meta http-equiv="refresh" content="5"></noscript>`, `<span id="elapsed">0:12</span>`,
				"Step 1 of 3: Starting instances", `<div id="failure" class="alert" role="alert" hidden>`,
			},
		},
		{
			name: "health check, multi-value headers", req: browserGet("shop.autostop.example.test", "/", true), multiValue: true,
			wake:     Wake{Rule: "shop", Phase: PhaseHealthCheck, Started: now.Add(-95 * time.Second), Now: now, RetryAfter: 1500 * time.Millisecond},
			retry:    "2",
			autostop: "progress; phase=health-check",
			wantIn: []string{
				`<li class="step done" data-step="starting">`, `<span class="sr"> (done)</span>`,
				`<li class="step active" data-step="health-check" aria-current="step">`, `<span id="elapsed">1:35</span>`,
				"Step 2 of 3: Waiting for the health check",
			},
		},
		{
			name: "switching after an hour", req: browserGet("shop.autostop.example.test", "/", false),
			wake:     Wake{Rule: "shop", Phase: PhaseSwitching, Started: now.Add(-(time.Hour + 2*time.Minute + 3*time.Second)), Now: now},
			retry:    "5",
			autostop: "progress; phase=switching",
			wantIn:   []string{`<li class="step done" data-step="health-check">`, `<li class="step active" data-step="switching" aria-current="step">`, `<span id="elapsed">1:02:03</span>`},
		},
		{
			name: "failed", req: browserGet("shop.autostop.example.test", "/", false),
			wake:     Wake{Rule: "shop", Phase: PhaseFailed, Now: now, Error: "InsufficientInstanceCapacity: no t3.large in us-east-1a", RetryAfter: 10 * time.Second},
			retry:    "10",
			autostop: "progress; phase=failed",
			wantIn: []string{
				"<title>Could not start shop · autostop</title>", `data-phase="failed"`, `<div id="failure" class="alert" role="alert">`,
				`<p id="error" class="error">InsufficientInstanceCapacity: no t3.large in us-east-1a</p>`, "The next request retries it.",
				`<li class="step todo" data-step="starting">`, `content="10"`,
			},
			notIn: []string{`aria-current="step"`, `class="step done"`},
		},
		{
			name: "failed without a reason", req: browserGet("x.example.test", "/", false),
			wake:     Wake{Rule: "x", Phase: PhaseFailed},
			retry:    "5",
			autostop: "progress; phase=failed",
			wantIn:   []string{"The wake did not complete."},
		},
		{
			name: "every dynamic value escaped", req: browserGet(`"><script>alert(1)</script>`, "/%3Cscript%3Ealert(2)%3C/script%3E", false),
			wake:     Wake{Rule: "demo <b>bold</b>", Phase: PhaseFailed, Error: `<img src=x onerror="alert(3)">`, Now: now},
			retry:    "5",
			autostop: "progress; phase=failed",
			wantIn: []string{
				"demo &lt;b&gt;bold&lt;/b&gt;", "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
				"/&lt;script&gt;alert(2)&lt;/script&gt;", "&lt;img src=x onerror=&#34;alert(3)&#34;&gt;",
			},
			notIn: []string{"<b>", "<script>alert", "<img"},
		},
		{
			name: "unknown phase reads as starting", req: browserGet("x.example.test", "", false),
			wake:     Wake{Rule: "", Phase: "sleeping"},
			retry:    "5",
			autostop: "progress; phase=starting",
			wantIn:   []string{`data-phase="starting"`, "(unnamed rule)", `<span class="path">/</span>`, `data-elapsed="0"`},
			notIn:    []string{"sleeping"},
		},
		{
			name: "no Host header", req: events.ALBTargetGroupRequest{HTTPMethod: "GET", Path: "/"},
			wake:     Wake{Rule: "x"},
			retry:    "5",
			autostop: "progress; phase=starting",
			wantIn:   []string{"(no Host header)"},
		},
		{
			name: "clock behind the wake start", req: browserGet("x.example.test", "/", false),
			wake:     Wake{Rule: "x", Started: now.Add(time.Minute), Now: now},
			retry:    "5",
			autostop: "progress; phase=starting",
			wantIn:   []string{`data-elapsed="0"`, `<span id="elapsed">0:00</span>`},
		},
		{
			name: "HEAD gets the headers only", req: events.ALBTargetGroupRequest{HTTPMethod: "HEAD", Path: "/", Headers: map[string]string{"accept": "text/html"}},
			wake:      Wake{Rule: "x", Phase: PhaseHealthCheck},
			retry:     "5",
			autostop:  "progress; phase=health-check",
			emptyBody: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := Progress(tt.req, tt.wake)
			if resp.StatusCode != 503 || resp.StatusDescription != "503 Service Unavailable" {
				t.Errorf("status %d %q", resp.StatusCode, resp.StatusDescription)
			}
			if tt.multiValue != (resp.MultiValueHeaders != nil) {
				t.Errorf("multi-value request %v, multi-value answer %v", tt.multiValue, resp.MultiValueHeaders != nil)
			}
			for name, want := range map[string]string{
				"content-type":  "text/html; charset=utf-8",
				"cache-control": "no-store",
				"retry-after":   tt.retry,
				"x-autostop":    tt.autostop,
			} {
				if got := respHeader(t, resp, name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if tt.emptyBody {
				if resp.Body != "" {
					t.Errorf("HEAD answered with a %d-byte body", len(resp.Body))
				}

				return
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(resp.Body, s) {
					t.Errorf("body lacks %s", s)
				}
			}
			for _, s := range tt.notIn {
				if strings.Contains(resp.Body, s) {
					t.Errorf("body has %s", s)
				}
			}
			checkSelfContained(t, resp)
		})
	}
}

// checkSelfContained checks that a progress page loads nothing (no src, no
// link but the inline icon), stays small, and that its CSP allows exactly its
// own style and script.
func checkSelfContained(t *testing.T, resp events.ALBTargetGroupResponse) {
	t.Helper()
	body := resp.Body
	if len(body) > 16<<10 {
		t.Errorf("page is %d bytes, want a few KB", len(body))
	}
	if tag := regexp.MustCompile(`<[a-z]+\s[^>]*\b(src|srcset|action|poster)=`).FindString(body); tag != "" {
		t.Errorf("page may fetch something: %s", tag)
	}
	for _, s := range []string{"@import", "url(", `href="http`, `rel="stylesheet`} {
		if strings.Contains(body, s) {
			t.Errorf("page may fetch something: has %q", s)
		}
	}
	if !strings.Contains(body, `<link rel="icon" href="data:image/svg+xml,`) {
		t.Error("no inline favicon: the browser would fetch /favicon.ico from the proxy")
	}
	csp := respHeader(t, resp, "content-security-policy")
	for _, el := range []string{"style", "script"} {
		m := regexp.MustCompile(`(?s)<`+el+`>(.*?)</`+el+`>`).FindAllStringSubmatch(body, -1)
		if len(m) != 1 {
			t.Fatalf("%d <%s> elements", len(m), el)
		}
		sum := sha256.Sum256([]byte(m[0][1]))
		if want := el + "-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %s", csp, want)
		}
	}
	if !strings.HasPrefix(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
}

func TestPhase(t *testing.T) {
	tests := []struct {
		phase Phase
		step  int
		label string
	}{
		{PhaseStarting, 1, "Starting instances"},
		{PhaseHealthCheck, 2, "Waiting for the health check"},
		{PhaseSwitching, 3, "Switching traffic"},
		{PhaseFailed, 0, "Wake failed"},
		{"", 1, "Starting instances"},
		{"nonsense", 1, "Starting instances"},
	}
	for _, tt := range tests {
		if got := tt.phase.Step(); got != tt.step {
			t.Errorf("%q.Step() = %d, want %d", tt.phase, got, tt.step)
		}
		if got := tt.phase.Label(); got != tt.label {
			t.Errorf("%q.Label() = %q, want %q", tt.phase, got, tt.label)
		}
	}
}

// The script's header names must be the ones the Go side reads and writes.
func TestScriptHeaders(t *testing.T) {
	for _, h := range []string{`"` + HeaderPoll + `": "1"`, `r.headers.get("` + HeaderAutostop + `")`, "r.status !== 503"} {
		if !strings.Contains(progressScript, h) {
			t.Errorf("script lacks %s", h)
		}
	}
}
