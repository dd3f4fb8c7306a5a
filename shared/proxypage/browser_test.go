package proxypage

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/chromedp/chromedp"

	"github.com/autostop/autostop/shared/browsertest"
)

// appInstance names the instance the simulated app answers from.
const appInstance = "i-0abc123def4567890"

// TestProgressPageInChromium serves the progress page through an httptest
// server that plays the ALB and the proxy (ALB events in, ALB answers out),
// opens it in headless Chromium and checks what a visitor sees: the rule and
// phase, the phase following the polls, hostile values shown as text, no
// console error, no request off the page's origin, and the page turning into
// the app by itself once the "switch" is done. It writes screenshots of the
// progress page (light and dark) and of the failed state to
// .build/screenshots/.
func TestProgressPageInChromium(t *testing.T) {
	ctx := browsertest.New(t)
	shots := browsertest.ScreenshotDir(t)
	watch := browsertest.WatchPage(t, ctx)
	started := time.Now().Add(-37 * time.Second)

	// A wake in three phases: the navigation gets the page (starting), the
	// polls see health-check then switching, then the app answers.
	const rule = "demo <b>bold</b>"
	var mu sync.Mutex
	answers := 0
	wake := httptest.NewServer(albHandler(t, true, func(req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
		mu.Lock()
		defer mu.Unlock()
		phases := []Phase{PhaseStarting, PhaseHealthCheck, PhaseSwitching}
		if answers >= len(phases) {
			return appPage(req)
		}
		w := Wake{Rule: rule, Phase: phases[answers], Started: started}
		answers++
		switch Classify(req) {
		case KindBrowser:
			return Progress(req, w)
		case KindPoll:
			return Poll(req, w)
		}
		t.Errorf("unexpected API request %s %s", req.HTTPMethod, req.Path)

		return Unavailable(req, w)
	}))
	defer wake.Close()

	// The browser percent-encodes the markup in the path; the page shows it
	// decoded, as text.
	const hostilePath = "/<script>alert(1)</script>"
	browsertest.Run(t, ctx, chromedp.Navigate(wake.URL+hostilePath))
	for _, c := range []struct{ sel, want string }{
		{"#rule", rule},
		{".path", hostilePath},
		{"#verb", "Starting"},
		{"li.active .label", "Starting instances"},
		{"#status", "Step 1 of 3: Starting instances"},
	} {
		if got := browsertest.Value(t, ctx, chromedp.TextContent(chromedp.CSS(c.sel))); got != c.want {
			t.Errorf("%s shows %q, want %q", c.sel, got, c.want)
		}
	}
	if injected := browsertest.Value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#rule b, .path script, body script").length`)); injected != 1 {
		t.Errorf("%d elements where only the page's own script should be: markup was not escaped", injected)
	}

	elapsedAtLoad := browsertest.Value(t, ctx, chromedp.TextContent(chromedp.ID("elapsed")))
	if !strings.HasPrefix(elapsedAtLoad, "0:3") {
		t.Errorf("elapsed %q at load, want about 0:37", elapsedAtLoad)
	}

	// The first poll moves the page to the health check without reloading,
	// while the elapsed time counts on.
	browsertest.Run(t, ctx, chromedp.WaitReady(chromedp.CSS(`#wake[data-phase="health-check"]`)))
	if got := browsertest.Value(t, ctx, chromedp.TextContent(chromedp.ID("elapsed"))); got <= elapsedAtLoad {
		t.Errorf("elapsed %q two seconds after %q", got, elapsedAtLoad)
	}
	if got := browsertest.Value(t, ctx, chromedp.TextContent(chromedp.CSS("li.active .label"))); got != "Waiting for the health check" {
		t.Errorf("active step after a poll: %q", got)
	}
	if done := browsertest.Value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.done").length`)); done != 1 {
		t.Errorf("%d steps done, want 1", done)
	}
	browsertest.Screenshot(t, ctx, filepath.Join(shots, "progress.png"))
	browsertest.Dark(t, ctx, true)
	browsertest.Screenshot(t, ctx, filepath.Join(shots, "progress-dark.png"))
	browsertest.Dark(t, ctx, false)

	// Once the switch is done, the page reloads itself onto the app.
	browsertest.Run(t, ctx, chromedp.WaitReady(chromedp.CSS("#app")))
	if got := browsertest.Value(t, ctx, chromedp.TextContent(chromedp.CSS("#app"))); !strings.Contains(got, "served by "+appInstance) {
		t.Errorf("app page shows %q", got)
	}
	if loc := browsertest.Value(t, ctx, chromedp.Location()); loc != wake.URL+"/%3Cscript%3Ealert(1)%3C/script%3E" {
		t.Errorf("the reload moved the page to %s", loc)
	}

	// A failed wake shows its error, escaped, and says the next request retries.
	const failure = "InsufficientInstanceCapacity: We currently do not have sufficient t3.large capacity in the Availability Zone you requested (us-east-1a). <i>Try</i> another zone."
	failed := httptest.NewServer(albHandler(t, false, func(req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
		w := Wake{Rule: "orders-api", Phase: PhaseFailed, Started: started, Error: failure, RetryAfter: 10 * time.Second}
		if Classify(req) == KindPoll {
			return Poll(req, w)
		}

		return Progress(req, w)
	}))
	defer failed.Close()
	browsertest.Run(t, ctx, chromedp.Navigate(failed.URL+"/checkout?cart=42"))
	browsertest.Run(t, ctx, chromedp.WaitVisible(chromedp.ID("failure")))
	for _, c := range []struct{ sel, want string }{
		{"#error", failure},
		{"#verb", "Could not start"},
		{".retry span", "The next request retries it."},
	} {
		if got := browsertest.Value(t, ctx, chromedp.TextContent(chromedp.CSS(c.sel))); got != c.want {
			t.Errorf("%s shows %q, want %q", c.sel, got, c.want)
		}
	}
	browsertest.Screenshot(t, ctx, filepath.Join(shots, "failed.png"))

	for _, u := range watch.Requests() {
		if !strings.HasPrefix(u, wake.URL+"/") && !strings.HasPrefix(u, failed.URL+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page fetched %s", u)
		}
	}
	for _, p := range watch.Problems() {
		t.Errorf("browser: %s", p)
	}
}

// appPage is the woken app: a page naming the instance that served it.
func appPage(events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	return events.ALBTargetGroupResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"content-type": "text/html; charset=utf-8"},
		Body:       `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Orders</title><link rel="icon" href="data:,"></head><body><h1 id="app">Orders app, served by ` + appInstance + `</h1></body></html>`,
	}
}

// albHandler plays the ALB in front of a Lambda target: it turns each HTTP
// request into the ALB event (multi-value headers and query parameters when
// multi is set, as a target group with them enabled sends), calls answer,
// and writes its answer back.
func albHandler(t *testing.T, multi bool, answer func(events.ALBTargetGroupRequest) events.ALBTargetGroupResponse) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := albRequest(r, multi)
		if err != nil {
			t.Error(err)
			http.Error(w, err.Error(), http.StatusBadRequest)

			return
		}
		if err := writeALB(w, answer(req)); err != nil {
			t.Error(err)
		}
	})
}

// albRequest converts an HTTP request as the ALB does: path and query
// parameters as sent (not decoded), header names in lower case, the body
// base64-encoded unless it is UTF-8 text.
func albRequest(r *http.Request, multi bool) (events.ALBTargetGroupRequest, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return events.ALBTargetGroupRequest{}, err
	}
	req := events.ALBTargetGroupRequest{HTTPMethod: r.Method, Path: r.URL.EscapedPath(), Body: string(body)}
	if !utf8.Valid(body) {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	headers := map[string][]string{"host": {r.Host}}
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = vs
	}
	query := map[string][]string{}
	for _, kv := range strings.Split(r.URL.RawQuery, "&") {
		if kv != "" {
			k, v, _ := strings.Cut(kv, "=")
			query[k] = append(query[k], v)
		}
	}
	if multi {
		req.MultiValueHeaders, req.MultiValueQueryStringParameters = headers, query
	} else {
		req.Headers, req.QueryStringParameters = map[string]string{}, map[string]string{}
		for k, vs := range headers {
			req.Headers[k] = vs[len(vs)-1]
		}
		for k, vs := range query {
			req.QueryStringParameters[k] = vs[len(vs)-1]
		}
	}

	return req, nil
}

// writeALB writes an ALB answer as the ALB sends it to the client.
func writeALB(w http.ResponseWriter, resp events.ALBTargetGroupResponse) error {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		w.Header()[http.CanonicalHeaderKey(k)] = vs
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return err
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(body)
	if errors.Is(err, http.ErrBodyNotAllowed) {
		err = nil // HEAD
	}

	return err
}
