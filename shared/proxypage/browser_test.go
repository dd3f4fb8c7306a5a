package proxypage

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

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
	ctx := newBrowser(t)
	shots := screenshotDir(t)
	watch := watchPage(t, ctx)
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
	run(t, ctx, chromedp.Navigate(wake.URL+hostilePath))
	for _, c := range []struct{ sel, want string }{
		{"#rule", rule},
		{".path", hostilePath},
		{"#verb", "Starting"},
		{"li.active .label", "Starting instances"},
		{"#status", "Step 1 of 3: Starting instances"},
	} {
		if got := runValue(t, ctx, chromedp.TextContent(chromedp.CSS(c.sel))); got != c.want {
			t.Errorf("%s shows %q, want %q", c.sel, got, c.want)
		}
	}
	if injected := runValue(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#rule b, .path script, body script").length`)); injected != 1 {
		t.Errorf("%d elements where only the page's own script should be: markup was not escaped", injected)
	}

	elapsedAtLoad := runValue(t, ctx, chromedp.TextContent(chromedp.ID("elapsed")))
	if !strings.HasPrefix(elapsedAtLoad, "0:3") {
		t.Errorf("elapsed %q at load, want about 0:37", elapsedAtLoad)
	}

	// The first poll moves the page to the health check without reloading,
	// while the elapsed time counts on.
	run(t, ctx, chromedp.WaitReady(chromedp.CSS(`#wake[data-phase="health-check"]`)))
	if got := runValue(t, ctx, chromedp.TextContent(chromedp.ID("elapsed"))); got <= elapsedAtLoad {
		t.Errorf("elapsed %q two seconds after %q", got, elapsedAtLoad)
	}
	if got := runValue(t, ctx, chromedp.TextContent(chromedp.CSS("li.active .label"))); got != "Waiting for the health check" {
		t.Errorf("active step after a poll: %q", got)
	}
	if done := runValue(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.done").length`)); done != 1 {
		t.Errorf("%d steps done, want 1", done)
	}
	screenshot(t, ctx, filepath.Join(shots, "progress.png"))
	dark(t, ctx, true)
	screenshot(t, ctx, filepath.Join(shots, "progress-dark.png"))
	dark(t, ctx, false)

	// Once the switch is done, the page reloads itself onto the app.
	run(t, ctx, chromedp.WaitReady(chromedp.CSS("#app")))
	if got := runValue(t, ctx, chromedp.TextContent(chromedp.CSS("#app"))); !strings.Contains(got, "served by "+appInstance) {
		t.Errorf("app page shows %q", got)
	}
	if loc := runValue(t, ctx, chromedp.Location()); loc != wake.URL+"/%3Cscript%3Ealert(1)%3C/script%3E" {
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
	run(t, ctx, chromedp.Navigate(failed.URL+"/checkout?cart=42"))
	run(t, ctx, chromedp.WaitVisible(chromedp.ID("failure")))
	for _, c := range []struct{ sel, want string }{
		{"#error", failure},
		{"#verb", "Could not start"},
		{".retry span", "The next request retries it."},
	} {
		if got := runValue(t, ctx, chromedp.TextContent(chromedp.CSS(c.sel))); got != c.want {
			t.Errorf("%s shows %q, want %q", c.sel, got, c.want)
		}
	}
	screenshot(t, ctx, filepath.Join(shots, "failed.png"))

	for _, u := range watch.requests() {
		if !strings.HasPrefix(u, wake.URL+"/") && !strings.HasPrefix(u, failed.URL+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page fetched %s", u)
		}
	}
	for _, p := range watch.problems() {
		t.Errorf("browser: %s", p)
	}
}

// newBrowser starts headless Chromium for the test and returns a context
// with a tab in it. It skips the test without Chromium, unless
// AUTOSTOP_REQUIRE_CHROMIUM=1 (CI: .ci/run installs it).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("AUTOSTOP_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("Chromium is required (apt-get install chromium): %v", err)
		}
		t.Skipf("no Chromium at %s (apt-get install chromium); CI runs this test", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// Cleanups run last-in first-out: the browser ends before its
	// user-data-dir is removed.
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}

	return ctx
}

// run runs browser actions with a deadline, failing the test on error.
func run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// runValue runs one browser action with a deadline and returns its value.
func runValue[T any](t *testing.T, ctx context.Context, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatal(err)
	}

	return v
}

// screenshot writes a full-page PNG.
func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png := runValue(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// dark turns the emulated prefers-color-scheme: dark on or off.
func dark(t *testing.T, ctx context.Context, on bool) {
	t.Helper()
	params := emulation.SetEmulatedMediaParams{}
	if on {
		params.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, params); err != nil {
		t.Fatal(err)
	}
}

// screenshotDir is .build/screenshots under the repository root (the
// directory holding go.mod), created if needed.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
	dir = filepath.Join(dir, ".build", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	return dir
}

// pageWatch records what the tab did that the test checks at the end.
type pageWatch struct {
	mu    sync.Mutex
	urls  []string
	found []string
}

// watchPage records every request the tab sends, and every console error,
// uncaught exception, browser log error (the network's own, such as the
// expected 503s, aside) and JavaScript dialog, which it dismisses.
func watchPage(t *testing.T, ctx context.Context) *pageWatch {
	t.Helper()
	w := &pageWatch{}
	dialogs := make(chan struct{}, 8)
	err := chromedp.Listen(ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			w.urls = append(w.urls, ev.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				w.found = append(w.found, "console.error: "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			w.found = append(w.found, "exception: "+msg)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError && ev.Entry.Source != log.EntrySourceNetwork {
				w.found = append(w.found, fmt.Sprintf("log %s: %s (%s)", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *page.EventJavascriptDialogOpening:
			w.found = append(w.found, fmt.Sprintf("dialog %s: %q", ev.Type, ev.Message))
			select {
			case dialogs <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// A dialog blocks the page: dismiss it (outside the listener, which
	// must not run commands).
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-dialogs:
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}
		}
	}()

	return w
}

func (w *pageWatch) requests() []string {
	w.mu.Lock()
	defer w.mu.Unlock()

	return append([]string(nil), w.urls...)
}

func (w *pageWatch) problems() []string {
	w.mu.Lock()
	defer w.mu.Unlock()

	return append([]string(nil), w.found...)
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
