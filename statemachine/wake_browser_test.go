package statemachine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/autostop/autostop/shared/browsertest"
	"github.com/autostop/autostop/shared/localworkload"
)

// TestWakeInChromium opens a stopped rule in headless Chromium through the
// local ALB front at its .localhost name, as a person would: the progress
// page names the rule and its phase, markup in the path comes back as text,
// nothing errs in the console, and the page turns into the instance's page
// by itself once traffic is switched. Screenshots go to .build/screenshots.
func TestWakeInChromium(t *testing.T) {
	ctx := browsertest.New(t)
	watch := browsertest.WatchPage(t, ctx)
	shots := browsertest.ScreenshotDir(t)
	ww := newWakeWorld(t)
	it := ww.attachStopped(t, "web", localworkload.Spec{StartupDelay: 2 * time.Second})

	const hostilePath = "/%3Cscript%3Ealert(1)%3C/script%3E"
	url := "http://" + it.Host + ".localhost:" + ww.front[strings.LastIndex(ww.front, ":")+1:] + hostilePath
	browsertest.Run(t, ctx, chromedp.Navigate(url))
	browsertest.Run(t, ctx, chromedp.WaitVisible(chromedp.ID("wake")))
	if got := browsertest.Value(t, ctx, chromedp.TextContent(chromedp.ID("rule"))); got != "web" {
		t.Errorf("rule shown: %q, want web", got)
	}
	if got := browsertest.Value(t, ctx, chromedp.TextContent(chromedp.CSS("li.active .label"))); got == "" {
		t.Errorf("no phase shown")
	}
	if n := browsertest.Value(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("body script").length`)); n != 1 {
		t.Errorf("%d scripts in the page, want only its own: the path's markup was not escaped", n)
	}
	browsertest.Screenshot(t, ctx, filepath.Join(shots, "wake-progress.png"))

	// The page reloads itself onto the app once switched.
	deadline := time.Now().Add(60 * time.Second)
	for {
		// Read without failing: the page may be between documents
		// (reloading itself) when it is asked, and its nodes gone.
		readCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		body, err := chromedp.Run(readCtx, chromedp.Evaluate[string](`document.body ? document.body.textContent : ""`))
		cancel()
		if err == nil && strings.Contains(body, "served by "+it.Rule.InstanceIDs[0]) {
			break
		}
		if time.Now().After(deadline) {
			got, _ := ww.store.Get(context.Background(), it.Host, true)
			t.Fatalf("the page did not turn into the app within 60 s (rule %s %s %s); page: %.300s (%v)", got.State, got.Phase, got.LastError, body, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if loc := browsertest.Value(t, ctx, chromedp.Location()); loc != url {
		t.Errorf("the app page is at %s, want the URL the visitor opened (%s)", loc, url)
	}
	browsertest.Screenshot(t, ctx, filepath.Join(shots, "wake-served.png"))

	for _, p := range watch.Problems() {
		t.Errorf("browser: %s", p)
	}
}
