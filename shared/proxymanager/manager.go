// Package proxymanager is the logic of the proxy-manager function, the
// target of every autostop load balancer's default rule. A request reaches it
// when no host rule forwards the request's host to instances: the host has
// no AutoStopping rule, or its rule's instances are stopped, starting, or
// stopping. Per request it
//
//   - looks the host's rule up in the rules table (cached for a few seconds
//     per function instance); an unknown host gets the 404 page and wakes
//     nothing;
//   - wakes a stopped (or stopping) rule: one conditional write moves it to
//     starting, and only the invocation that wins it starts the wake
//     workflow, so a burst of first requests starts the instances once;
//   - answers by kind of client (proxypage.Classify): a browser gets the
//     progress page at once, the page's polls get the wake's phase as JSON at
//     once (polls never wake anything, so a page left open on a failed wake
//     does not start one wake after another), every other request is held up
//     to the rule's holdSeconds, within its cap of held requests across every
//     invocation, and answered 307 to the same URL once the rule runs, else
//     503 with Retry-After — never an HTML page.
package proxymanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/autostop/autostop/shared/pause"
	"github.com/autostop/autostop/shared/proxypage"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

// Rules is the part of the rules table the manager uses
// (rulestore.Store).
type Rules interface {
	Get(ctx context.Context, host string, consistent bool) (rulestore.Item, error)
	BeginWake(ctx context.Context, host string, staleBefore time.Time) (rulestore.Item, bool, error)
	FailWake(ctx context.Context, host string, wakeRequestedAt time.Time, reason string) (bool, error)
	AcquireHold(ctx context.Context, host string, lease rulestore.Lease, max int) (bool, error)
	ReleaseHold(ctx context.Context, host string, lease rulestore.Lease) error
	WantWake(ctx context.Context, host string) (rulestore.Item, bool, error)
}

// Waker starts the wake of a rule this invocation moved to starting.
type Waker interface {
	StartWake(ctx context.Context, it rulestore.Item) error
}

// Config tunes the manager. Zero fields take the defaults below.
type Config struct {
	// Version is the function version this instance runs (Lambda's
	// AWS_LAMBDA_FUNCTION_VERSION), sent back in VersionHeader; empty:
	// no header.
	Version string
	// CacheTTL is how long a rule read from the table is reused by this
	// function instance (default 2 s). A rule that changed state is seen at
	// most this late; the manager's own writes update the cache at once.
	CacheTTL time.Duration
	// HoldPoll is how often a held request reads its rule again (default
	// 500 ms): the delay between the switch and a held request's 307.
	HoldPoll time.Duration
	// RunningHold bounds the hold of a request for a rule that is already
	// running (default 2 s): it reached the proxy because the switch is in
	// flight, and is answered 307 after it.
	RunningHold time.Duration
	// StaleWakeAfter: a rule starting or stopping for longer than this is
	// woken again by the next request (default 20 min, beyond the wake and
	// sleep workflows' own bounds).
	StaleWakeAfter time.Duration
}

// Defaults of Config.
const (
	DefaultCacheTTL       = 2 * time.Second
	DefaultHoldPoll       = 500 * time.Millisecond
	DefaultRunningHold    = 2 * time.Second
	DefaultStaleWakeAfter = 20 * time.Minute
)

func (c Config) withDefaults() Config {
	if c.CacheTTL <= 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.HoldPoll <= 0 {
		c.HoldPoll = DefaultHoldPoll
	}
	if c.RunningHold <= 0 {
		c.RunningHold = DefaultRunningHold
	}
	if c.StaleWakeAfter <= 0 {
		c.StaleWakeAfter = DefaultStaleWakeAfter
	}

	return c
}

// Manager answers the requests of the default rule.
type Manager struct {
	rules Rules
	waker Waker
	cfg   Config
	log   *slog.Logger
	cache *cache
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a manager.
func New(rules Rules, waker Waker, cfg Config, log *slog.Logger) *Manager {
	cfg = cfg.withDefaults()

	return &Manager{
		rules: rules, waker: waker, cfg: cfg, log: log,
		cache: newCache(cfg.CacheTTL),
		now:   time.Now,
		sleep: sleepCtx,
	}
}

// Handle answers one request. It never returns an error: every failure is
// an answer (503 with Retry-After), so the ALB never shows its own 502.
func (m *Manager) Handle(ctx context.Context, req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	return withVersion(m.handle(ctx, req), m.cfg.Version)
}

// VersionHeader names the function version that answered, on every
// answer of the proxy: an operator (and the code update's checks) can tell
// which build serves.
const VersionHeader = "X-Autostop-Proxy-Version"

// withVersion adds VersionHeader to an answer, in the header map the
// answer uses (multi-value headers when the target group has them on).
func withVersion(resp events.ALBTargetGroupResponse, version string) events.ALBTargetGroupResponse {
	if version == "" {
		return resp
	}
	if resp.MultiValueHeaders != nil {
		resp.MultiValueHeaders[VersionHeader] = []string{version}
		return resp
	}
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	resp.Headers[VersionHeader] = version

	return resp
}

func (m *Manager) handle(ctx context.Context, req events.ALBTargetGroupRequest) events.ALBTargetGroupResponse {
	host := requestHost(req)
	it, err := m.lookup(ctx, host)
	switch {
	case errors.Is(err, rulestore.ErrNotFound):
		return proxypage.NotFound(req)
	case err != nil:
		m.log.ErrorContext(ctx, "read rule", "host", host, "error", err.Error())
		return proxypage.Unavailable(req, proxypage.Wake{Rule: host, Phase: proxypage.PhaseFailed,
			Error: "autostop could not read this host's rule; retry in a moment"})
	}

	if it.State == rulestore.Detaching {
		// The rule is being removed: the host has none any more.
		return proxypage.NotFound(req)
	}

	kind := proxypage.Classify(req)
	if kind == proxypage.KindBrowser && it.Rule.HideProgressPage {
		kind = proxypage.KindAPI
	}

	// Polls only read: a page left open on a failed wake must not start
	// one wake after another. A broken rule is never woken: the answers
	// say why.
	stale := m.now().Add(-m.cfg.StaleWakeAfter)
	switch {
	case kind == proxypage.KindPoll || it.Broken != "":
	case it.State == rulestore.Stopped,
		it.State == rulestore.Starting && it.WakeRequestedAt.Before(stale),
		it.State == rulestore.Stopping && it.SleepRequestedAt.Before(stale):
		it = m.wake(ctx, it)
	case it.State == rulestore.Stopping && !it.WakeWanted:
		// The idle watcher is stopping the instances: starting them now
		// would race the stop. The sleep wakes the rule as soon as they
		// are stopped.
		it = m.wantWake(ctx, it)
	}

	switch kind {
	case proxypage.KindPoll:
		return proxypage.Poll(req, m.wakeView(it))
	case proxypage.KindBrowser:
		return proxypage.Progress(req, m.wakeView(it))
	default:
		return m.hold(ctx, req, it)
	}
}

// wake moves the rule to starting and, when this invocation won that
// write, starts the wake workflow (BeginWake). It returns the rule as it is
// now.
func (m *Manager) wake(ctx context.Context, it rulestore.Item) rulestore.Item {
	log := m.log.With("host", it.Host, "rule", it.Rule.Name)
	now, won, err := BeginWake(ctx, m.rules, m.waker, it.Host, m.now().Add(-m.cfg.StaleWakeAfter))
	switch {
	case err != nil && !won:
		log.ErrorContext(ctx, "begin wake", "error", err.Error())
		return it
	case err != nil:
		log.ErrorContext(ctx, "start wake", "error", err.Error())
	case won:
		log.InfoContext(ctx, "waking rule", "instances", now.Rule.InstanceIDs, "version", now.Version)
	}
	m.cache.put(now.Host, now)

	return now
}

// wantWake asks the sleep under way to wake the rule once its instances
// are stopped. It returns the rule as it is now.
func (m *Manager) wantWake(ctx context.Context, it rulestore.Item) rulestore.Item {
	now, set, err := m.rules.WantWake(ctx, it.Host)
	if err != nil {
		m.log.ErrorContext(ctx, "ask for a wake after the sleep", "host", it.Host, "error", err.Error())
		return it
	}
	switch {
	case set:
		m.log.InfoContext(ctx, "wake wanted after the sleep", "host", it.Host, "rule", it.Rule.Name)
	case now.State == rulestore.Stopped && now.Broken == "":
		// The sleep finished between the read and the write: wake it.
		return m.wake(ctx, now)
	}
	m.cache.put(now.Host, now)

	return now
}

// hold keeps an API request until the rule runs (307 to the same URL), its
// wake fails, or its hold time ends (503 with Retry-After). The request
// takes one of the rule's held-request slots for as long as it is held.
func (m *Manager) hold(ctx context.Context, req events.ALBTargetGroupRequest, it rulestore.Item) events.ALBTargetGroupResponse {
	limit := time.Duration(it.Rule.HoldSeconds) * time.Second
	if limit <= 0 {
		limit = time.Duration(rule.DefaultHoldSeconds) * time.Second
	}
	deadline := m.now().Add(limit)
	if d, ok := ctx.Deadline(); ok && d.Add(-time.Second).Before(deadline) {
		// Answer before the function times out.
		deadline = d.Add(-time.Second)
	}

	// The lease outlives the hold a little: if this invocation dies, the
	// slot frees itself soon after.
	lease := rulestore.NewLease(deadline.Add(5 * time.Second))
	maxHeld := it.Rule.MaxHeldRequests
	if maxHeld <= 0 {
		maxHeld = rule.DefaultMaxHeldRequests
	}
	ok, err := m.rules.AcquireHold(ctx, it.Host, lease, maxHeld)
	if err != nil {
		m.log.ErrorContext(ctx, "hold request", "host", it.Host, "error", err.Error())
		return proxypage.Unavailable(req, m.wakeView(it))
	}
	if !ok {
		return proxypage.TooBusy(req, m.wakeView(it))
	}
	defer func() {
		if err := m.rules.ReleaseHold(context.WithoutCancel(ctx), it.Host, lease); err != nil {
			m.log.ErrorContext(ctx, "release held request", "host", it.Host, "error", err.Error())
		}
	}()

	if it.State == rulestore.Running {
		// The rule was switched already: this request reached the proxy
		// while the new host rule takes effect. Give it a moment, then
		// send the client back.
		_ = m.sleep(ctx, min(m.cfg.RunningHold, deadline.Sub(m.now())))
		return proxypage.Redirect(req)
	}

	for {
		switch {
		case it.State == rulestore.Running:
			// Switched meanwhile: the repeat goes to the instances.
			return proxypage.Redirect(req)
		case it.State == rulestore.Stopped && it.LastError != "", it.Broken != "":
			return proxypage.Unavailable(req, m.wakeView(it))
		}
		wait := min(m.cfg.HoldPoll, deadline.Sub(m.now()))
		if wait <= 0 || m.sleep(ctx, wait) != nil {
			return proxypage.Unavailable(req, m.wakeView(it))
		}
		next, err := m.rules.Get(ctx, it.Host, true)
		if err != nil {
			m.log.ErrorContext(ctx, "read rule while holding", "host", it.Host, "error", err.Error())
			continue
		}
		m.cache.put(next.Host, next)
		it = next
	}
}

// wakeView is what the answers show of the rule's wake.
func (m *Manager) wakeView(it rulestore.Item) proxypage.Wake {
	w := proxypage.Wake{Rule: it.Rule.Name, Started: it.WakeRequestedAt, Now: m.now()}
	switch {
	case it.Broken != "":
		w.Phase, w.Error = proxypage.PhaseFailed, "this app cannot be started: "+it.Broken
	case it.State == rulestore.Stopped && it.LastError != "":
		w.Phase, w.Error = proxypage.PhaseFailed, it.LastError
	case it.State == rulestore.Running:
		w.Phase = proxypage.PhaseSwitching
	case it.State == rulestore.Starting:
		w.Phase = proxypage.Phase(it.Phase)
	default:
		w.Phase = proxypage.PhaseStarting
	}

	return w
}

// lookup returns the host's rule, from the cache when it is fresh.
func (m *Manager) lookup(ctx context.Context, host string) (rulestore.Item, error) {
	if it, err, ok := m.cache.get(host, m.now()); ok {
		return it, err
	}
	it, err := m.rules.Get(ctx, host, false)
	if err != nil && !errors.Is(err, rulestore.ErrNotFound) {
		return it, fmt.Errorf("look up rule of %s: %w", host, err)
	}
	m.cache.store(host, it, err, m.now())

	return it, err
}

// requestHost is the request's host without its port, normalized.
func requestHost(req events.ALBTargetGroupRequest) string {
	h := req.Headers["host"]
	if h == "" {
		if vs := req.MultiValueHeaders["host"]; len(vs) > 0 {
			h = vs[len(vs)-1]
		}
	}
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}

	return rule.NormalizeHost(strings.TrimSpace(h))
}

func sleepCtx(ctx context.Context, d time.Duration) error { return pause.For(ctx, d) }
