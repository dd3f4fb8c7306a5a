package statemachine

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/localworkload"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

// TestWakeBurst: 1,000 concurrent first requests to a stopped rule, through
// the front and the real proxy function (browsers, the page's polls and
// API clients mixed), start exactly one wake; the rule never holds more
// requests than its cap (the rest are refused at once); no request waits
// longer than its hold; no API client gets HTML.
func TestWakeBurst(t *testing.T) {
	const n, maxHeld, hold = 1000, 20, 8
	ww := newWakeWorld(t)
	it := ww.attachStopped(t, "burst", localworkload.Spec{StartupDelay: time.Second}, func(r *rule.Rule) {
		r.MaxHeldRequests, r.HoldSeconds = maxHeld, hold
	})
	ww.backend.Proxy().Reset()

	// Watch the rule's held-request slots while the burst runs.
	ctx, stop := context.WithCancel(context.Background())
	var mostHeld int
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for ctx.Err() == nil {
			if got, err := ww.store.Get(ctx, it.Host, true); err == nil {
				mostHeld = max(mostHeld, len(got.Holds))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	kinds := []struct {
		name, method, accept, body string
		header                     map[string]string
	}{
		{name: "browser", method: "GET", accept: browserAccept},
		{name: "poll", method: "GET", accept: "*/*", header: map[string]string{"X-Autostop-Poll": "1"}},
		{name: "api-json", method: "POST", accept: "application/json", body: `{"n":1}`},
		{name: "api-curl", method: "GET", accept: "*/*"},
	}
	transport := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}
	client := &http.Client{Transport: transport, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	var mu sync.Mutex
	answers := map[string]int{}
	var slowest time.Duration
	var wg sync.WaitGroup
	for i := range n {
		k := kinds[i%len(kinds)]
		wg.Go(func() {
			req, err := http.NewRequest(k.method, ww.front+"/items", strings.NewReader(k.body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Host = it.Host + ".localhost"
			req.Header.Set("Accept", k.accept)
			for h, v := range k.header {
				req.Header.Set(h, v)
			}
			if k.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			start := time.Now()
			resp, err := client.Do(req)
			took := time.Since(start)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			html := strings.Contains(resp.Header.Get("Content-Type"), "html")
			mu.Lock()
			defer mu.Unlock()
			answers[k.name+" "+resp.Status+" "+strings.SplitN(resp.Header.Get("X-Autostop"), ";", 2)[0]]++
			slowest = max(slowest, took)
			if k.name != "browser" && html {
				t.Errorf("%s got HTML: %s", k.name, resp.Status)
			}
			if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: 503 without Retry-After", k.name)
			}
		})
	}
	wg.Wait()
	stop()
	<-watched
	transport.CloseIdleConnections()

	t.Logf("answers: %v", answers)
	t.Logf("slowest request %v, most requests held at once %d (cap %d)", slowest, mostHeld, maxHeld)
	starts := 0
	for _, c := range ww.backend.Proxy().Calls() {
		if c.Operation == "StartInstances" && c.Status < 300 {
			starts++
			if c.Caller != app.NamePrefix+"wake-start-instances" {
				t.Errorf("StartInstances by %s", c.Caller)
			}
		}
	}
	if starts != 1 {
		t.Errorf("%d StartInstances for %d first requests, want exactly 1", starts, n)
	}
	if mostHeld > maxHeld {
		t.Errorf("%d requests held at once, cap %d", mostHeld, maxHeld)
	}
	tooBusy := 0
	for k, v := range answers {
		if strings.HasSuffix(k, "too-busy") {
			tooBusy += v
		}
	}
	if tooBusy == 0 {
		t.Errorf("no request was refused beyond the cap of %d held requests: %v", maxHeld, answers)
	}
	if bound := (hold + 10) * time.Second; slowest > bound {
		t.Errorf("a request took %v, past its %d s hold (+10 s for a loaded machine)", slowest, hold)
	}

	// The burst woke the rule once; it runs now.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got, err := ww.store.Get(context.Background(), it.Host, true)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == rulestore.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rule not running 60 s after the burst: %+v", got)
		}
	}
}
