// Package browsertest drives headless Chromium (Debian's chromium package)
// for the tests that check what a person sees: start it, run actions with
// deadlines, write screenshots under .build/screenshots, and record console
// errors, exceptions and requests. Test support only.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// New starts headless Chromium for the test and returns a context
// with a tab in it. It skips the test without Chromium, unless
// AUTOSTOP_REQUIRE_CHROMIUM=1 (CI: .ci/run installs it).
func New(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("AUTOSTOP_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("Chromium is required (apt-get install chromium): %v", err)
		}
		t.Skipf("no Chromium at %s (apt-get install chromium); CI runs this test", ChromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(ChromiumPath),
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

// Run runs browser actions with a deadline, failing the test on error.
func Run(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// Value runs one browser action with a deadline and returns its value.
func Value[T any](t *testing.T, ctx context.Context, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatal(err)
	}

	return v
}

// Screenshot writes a full-page PNG.
func Screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png := Value(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// Dark turns the emulated prefers-color-scheme: dark on or off.
func Dark(t *testing.T, ctx context.Context, on bool) {
	t.Helper()
	params := emulation.SetEmulatedMediaParams{}
	if on {
		params.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, params); err != nil {
		t.Fatal(err)
	}
}

// ScreenshotDir is .build/screenshots under the repository root (the
// directory holding go.mod), created if needed.
func ScreenshotDir(t *testing.T) string {
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

// Watch records what the tab did that the test checks at the end.
type Watch struct {
	mu    sync.Mutex
	urls  []string
	found []string
}

// WatchPage records every request the tab sends, and every console error,
// uncaught exception, browser log error (the network's own, such as the
// expected 503s, aside) and JavaScript dialog, which it dismisses.
func WatchPage(t *testing.T, ctx context.Context) *Watch {
	t.Helper()
	w := &Watch{}
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

// Requests are the URLs the tab requested.
func (w *Watch) Requests() []string {
	w.mu.Lock()
	defer w.mu.Unlock()

	return append([]string(nil), w.urls...)
}

// Problems are the console errors, exceptions, log errors and dialogs seen.
func (w *Watch) Problems() []string {
	w.mu.Lock()
	defer w.mu.Unlock()

	return append([]string(nil), w.found...)
}
