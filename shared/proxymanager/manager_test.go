package proxymanager

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/autostop/autostop/shared/proxypage"
	"github.com/autostop/autostop/shared/rulestore"
)

func request(method, accept string, extra ...string) events.ALBTargetGroupRequest {
	h := map[string]string{"host": testHost + ":443", "accept": accept}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return events.ALBTargetGroupRequest{HTTPMethod: method, Path: "/orders", Headers: h}
}

var (
	browser = request("GET", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	apiJSON = request("POST", "application/json", "content-type", "application/json")
	poll    = request("GET", "*/*", "x-autostop-poll", "1")
)

func TestHandle(t *testing.T) {
	failed := testItem(rulestore.Stopped)
	failed.LastError = "targets never became healthy"
	hidden := testItem(rulestore.Stopped)
	hidden.Rule.HideProgressPage = true
	stopping := testItem(rulestore.Stopping)
	stopping.SleepRequestedAt = time.Now()
	staleStopping := testItem(rulestore.Stopping)
	staleStopping.SleepRequestedAt = time.Now().Add(-time.Hour)
	broken := testItem(rulestore.Stopped)
	broken.Broken = "instance i-0abc was terminated outside autostop"

	tests := []struct {
		name      string
		item      *rulestore.Item
		req       events.ALBTargetGroupRequest
		wakerErr  error
		wantCode  int
		wantWakes int32
		wantIn    []string // parts of the body
		wantHdr   map[string]string
		wantState rulestore.State
		// wantWakeWanted: the rule's sleep was asked to wake it.
		wantWakeWanted bool
	}{
		{name: "unknown host: 404, nothing woken", req: browser, wantCode: 404, wantIn: []string{"No AutoStopping rule"}},
		{name: "a rule being detached: 404, nothing woken", item: ptr(testItem(rulestore.Detaching)), req: apiJSON, wantCode: 404, wantState: rulestore.Detaching},
		{name: "browser wakes a stopped rule and gets the progress page", item: ptr(testItem(rulestore.Stopped)), req: browser,
			wantCode: 503, wantWakes: 1, wantIn: []string{"demo", "Starting instances"},
			wantHdr: map[string]string{"retry-after": "", "cache-control": "no-store", "x-autostop": "progress; phase=starting"}, wantState: rulestore.Starting},
		{name: "a stopping rule is not started under the sleep: its sleep is asked to wake it", item: &stopping, req: browser,
			wantCode: 503, wantIn: []string{"Starting instances"}, wantState: rulestore.Stopping, wantWakeWanted: true},
		{name: "a rule stopping for too long is woken", item: &staleStopping, req: browser, wantCode: 503, wantWakes: 1, wantState: rulestore.Starting},
		{name: "a broken rule is never woken: the page says why", item: &broken, req: browser, wantCode: 503,
			wantIn: []string{"cannot be started: instance i-0abc was terminated"}, wantState: rulestore.Stopped},
		{name: "a broken rule: API clients are told at once", item: &broken, req: apiJSON, wantCode: 503,
			wantIn: []string{"cannot be started"}, wantHdr: map[string]string{"content-type": "application/json"}, wantState: rulestore.Stopped},
		{name: "a starting rule is not woken again", item: ptr(testItem(rulestore.Starting)), req: browser, wantCode: 503, wantState: rulestore.Starting},
		{name: "a poll never wakes", item: ptr(testItem(rulestore.Stopped)), req: poll, wantCode: 503,
			wantHdr: map[string]string{"content-type": "application/json"}, wantState: rulestore.Stopped},
		{name: "a poll after a failed wake reports it", item: &failed, req: poll, wantCode: 503,
			wantIn: []string{`"phase":"failed"`, "targets never became healthy"}, wantState: rulestore.Stopped},
		{name: "a browser after a failed wake wakes again", item: ptr(failed), req: browser, wantCode: 503, wantWakes: 1, wantState: rulestore.Starting},
		{name: "API client held, not switched in time: 503 JSON, never HTML", item: ptr(testItem(rulestore.Stopped)), req: apiJSON,
			wantCode: 503, wantWakes: 1, wantIn: []string{`"rule":"demo"`, `"retryAfterSeconds"`}, wantHdr: map[string]string{"content-type": "application/json"}},
		{name: "hidden progress page: the browser is held like an API client", item: &hidden, req: browser,
			wantCode: 503, wantWakes: 1, wantHdr: map[string]string{"content-type": "text/plain; charset=utf-8"}},
		{name: "running rule reached the proxy: API client sent back with 307", item: ptr(testItem(rulestore.Running)), req: apiJSON,
			wantCode: 307, wantHdr: map[string]string{"location": "/orders"}},
		{name: "running rule reached the proxy: the browser sees switching", item: ptr(testItem(rulestore.Running)), req: browser,
			wantCode: 503, wantIn: []string{"Switching traffic"}},
		{name: "wake cannot start: the rule goes back to stopped with the reason", item: ptr(testItem(rulestore.Stopped)), req: browser,
			wakerErr: errBoom, wantCode: 503, wantWakes: 1, wantIn: []string{"the wake could not be started: boom"}, wantState: rulestore.Stopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := newFakeRules()
			if tt.item != nil {
				rules = newFakeRules(*tt.item)
			}
			waker := &fakeWaker{err: tt.wakerErr}
			resp := testManager(rules, waker).Handle(context.Background(), tt.req)

			if resp.StatusCode != tt.wantCode {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tt.wantCode, resp.Body)
			}
			if got := waker.wakes.Load(); got != tt.wantWakes {
				t.Errorf("%d wakes started, want %d", got, tt.wantWakes)
			}
			for _, w := range tt.wantIn {
				if !strings.Contains(resp.Body, w) {
					t.Errorf("body does not contain %q:\n%s", w, resp.Body)
				}
			}
			for k, v := range tt.wantHdr {
				got, ok := resp.Headers[k]
				if !ok || v != "" && !strings.HasPrefix(got, v) {
					t.Errorf("header %s = %q (present %v), want %q", k, got, ok, v)
				}
			}
			if strings.Contains(resp.Headers["content-type"], "html") && tt.req.Headers["accept"] == "application/json" {
				t.Errorf("an API client got HTML")
			}
			if tt.wantState != "" {
				if got := rules.item(testHost).State; got != tt.wantState {
					t.Errorf("rule state %s, want %s", got, tt.wantState)
				}
			}
			if tt.item != nil {
				if got := rules.item(testHost).WakeWanted; got != tt.wantWakeWanted {
					t.Errorf("wakeWanted %v, want %v", got, tt.wantWakeWanted)
				}
			}
		})
	}
}

// TestHeldRequestRedirectedOnceSwitched: a held API request is answered 307
// to the same URL as soon as the rule runs.
func TestHeldRequestRedirectedOnceSwitched(t *testing.T) {
	rules := newFakeRules(testItem(rulestore.Stopped))
	m := testManager(rules, &fakeWaker{})
	m.cfg.HoldPoll = 10 * time.Millisecond
	rules.set(testHost, func(it *rulestore.Item) { it.Rule.HoldSeconds = 10 })
	reads := 0
	rules.onGet = func(it *rulestore.Item) {
		if reads++; reads == 3 {
			it.State = rulestore.Running
		}
	}

	start := time.Now()
	resp := m.Handle(context.Background(), apiJSON)
	if resp.StatusCode != 307 || resp.Headers["location"] != "/orders" {
		t.Fatalf("status %d location %q, want 307 /orders", resp.StatusCode, resp.Headers["location"])
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %v: the switch was seen at the third read", d)
	}
	if held := rules.item(testHost).Holds; len(held) != 0 {
		t.Errorf("held-request slots left after the answer: %v", held)
	}
}

// TestHeldRequestSeesFailedWake: a wake that fails ends the hold at once.
func TestHeldRequestSeesFailedWake(t *testing.T) {
	rules := newFakeRules(testItem(rulestore.Stopped))
	rules.set(testHost, func(it *rulestore.Item) { it.Rule.HoldSeconds = 10 })
	rules.onGet = func(it *rulestore.Item) { it.State, it.LastError = rulestore.Stopped, "instances did not start" }
	start := time.Now()
	resp := testManager(rules, &fakeWaker{}).Handle(context.Background(), apiJSON)
	var body proxypage.UnavailableBody
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || resp.StatusCode != 503 || body.Phase != proxypage.PhaseFailed ||
		!strings.Contains(body.Error, "instances did not start") {
		t.Fatalf("status %d body %s (%v), want 503 naming the failure", resp.StatusCode, resp.Body, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("answered after %v, want at the first read after the failure", d)
	}
}

// TestBurstWakesOnce: 1,000 concurrent first requests, browsers, polls and
// API clients mixed, start exactly one wake; the held count never exceeds
// the cap; nobody waits longer than the hold time; API clients never get
// HTML.
func TestBurstWakesOnce(t *testing.T) {
	const n, maxHeld = 1000, 40
	it := testItem(rulestore.Stopped)
	it.Rule.MaxHeldRequests = maxHeld
	rules := newFakeRules(it)
	waker := &fakeWaker{}
	m := testManager(rules, waker)

	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	var slowest time.Duration
	for i := range n {
		req := [...]events.ALBTargetGroupRequest{browser, apiJSON, poll, request("GET", "*/*")}[i%4]
		wg.Go(func() {
			start := time.Now()
			resp := m.Handle(context.Background(), req)
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			codes[resp.Headers["x-autostop"]]++
			slowest = max(slowest, d)
			if req.Headers["accept"] != browser.Headers["accept"] && strings.Contains(resp.Headers["content-type"], "html") {
				t.Errorf("a non-browser request got HTML: %+v", resp.Headers)
			}
		})
	}
	wg.Wait()

	if got := waker.wakes.Load(); got != 1 {
		t.Errorf("%d wakes started by %d requests, want exactly 1", got, n)
	}
	if got := rules.maxHeld.Load(); got > maxHeld || got == 0 {
		t.Errorf("at most %d requests held at once, want 1–%d", got, maxHeld)
	}
	if held := rules.item(testHost).Holds; len(held) != 0 {
		t.Errorf("%d held-request slots left after the burst", len(held))
	}
	if slowest > 3*time.Second {
		t.Errorf("the slowest request took %v, want within its 1 s hold (plus scheduling)", slowest)
	}
	t.Logf("answers by X-Autostop: %v; slowest %v", codes, slowest)
	if codes["too-busy; phase=starting"] == 0 {
		t.Errorf("no request was refused at once beyond the cap of %d: %v", maxHeld, codes)
	}
}

// TestCache: within the TTL a host is read once; unknown hosts are cached
// too; a write this instance made is seen at once.
func TestCache(t *testing.T) {
	rules := newFakeRules(testItem(rulestore.Starting))
	m := New(rules, &fakeWaker{}, Config{CacheTTL: time.Hour}, nil)
	m.log = testManager(rules, nil).log
	for range 5 {
		m.Handle(context.Background(), poll)
		other := poll
		other.Headers = map[string]string{"host": "nothing.autostop.example.test", "x-autostop-poll": "1"}
		m.Handle(context.Background(), other)
	}
	if got := rules.gets.Load(); got != 2 {
		t.Errorf("%d reads for 10 requests on 2 hosts within the TTL, want 2", got)
	}
}

// TestStaleWakeIsRetried: a rule starting for longer than StaleWakeAfter
// is woken again.
func TestStaleWakeIsRetried(t *testing.T) {
	it := testItem(rulestore.Starting)
	it.WakeRequestedAt = time.Now().Add(-time.Hour)
	rules := newFakeRules(it)
	waker := &fakeWaker{}
	testManager(rules, waker).Handle(context.Background(), browser)
	if waker.wakes.Load() != 1 {
		t.Errorf("a wake started an hour ago was not retried")
	}
}

func ptr[T any](v T) *T { return &v }

func TestWithVersion(t *testing.T) {
	single := withVersion(events.ALBTargetGroupResponse{StatusCode: 404}, "7")
	multi := withVersion(events.ALBTargetGroupResponse{StatusCode: 404, MultiValueHeaders: map[string][]string{"content-type": {"text/html"}}}, "7")
	none := withVersion(events.ALBTargetGroupResponse{StatusCode: 404}, "")
	if single.Headers[VersionHeader] != "7" || len(multi.MultiValueHeaders[VersionHeader]) != 1 || multi.Headers != nil || none.Headers != nil {
		t.Errorf("single %v, multi %v / %v, none %v", single.Headers, multi.MultiValueHeaders, multi.Headers, none.Headers)
	}
}
