package proxymanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

// fakeRules keeps items in memory with the table's conditional semantics
// (each write checks and changes under one lock, as DynamoDB does per item).
type fakeRules struct {
	mu      sync.Mutex
	items   map[string]rulestore.Item
	gets    atomic.Int32
	begins  atomic.Int32
	maxHeld atomic.Int32 // the most leases held at once, per the store
	getErr  error
	// onGet, when set, runs before each Get (to move a rule on).
	onGet func(*rulestore.Item)
}

func newFakeRules(items ...rulestore.Item) *fakeRules {
	f := &fakeRules{items: map[string]rulestore.Item{}}
	for _, it := range items {
		f.items[it.Host] = it
	}

	return f
}

func (f *fakeRules) Get(_ context.Context, host string, _ bool) (rulestore.Item, error) {
	f.gets.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return rulestore.Item{}, f.getErr
	}
	it, ok := f.items[host]
	if !ok {
		return rulestore.Item{}, fmt.Errorf("get rule %s: %w", host, rulestore.ErrNotFound)
	}
	if f.onGet != nil {
		f.onGet(&it)
		f.items[host] = it
	}

	return it, nil
}

func (f *fakeRules) BeginWake(_ context.Context, host string, staleBefore time.Time) (rulestore.Item, bool, error) {
	f.begins.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[host]
	if !ok {
		return rulestore.Item{}, false, rulestore.ErrNotFound
	}
	if it.Broken == "" && (it.State == rulestore.Stopped || it.State == rulestore.Stopping && it.SleepRequestedAt.Before(staleBefore) ||
		it.State == rulestore.Starting && it.WakeRequestedAt.Before(staleBefore)) {
		it.State, it.Phase, it.LastError, it.WakeRequestedAt = rulestore.Starting, rulestore.PhaseStarting, "", time.Now()
		it.Version++
		f.items[host] = it
		return it, true, nil
	}

	return it, false, nil
}

func (f *fakeRules) FailWake(_ context.Context, host string, at time.Time, reason string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[host]
	if it.State != rulestore.Starting || !it.WakeRequestedAt.Equal(at) {
		return false, nil
	}
	it.State, it.Phase, it.LastError = rulestore.Stopped, "", reason
	f.items[host] = it

	return true, nil
}

func (f *fakeRules) AcquireHold(_ context.Context, host string, lease rulestore.Lease, max int) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[host]
	if !ok {
		return false, rulestore.ErrNotFound
	}
	if len(it.Holds) >= max {
		return false, nil
	}
	it.Holds = append(it.Holds, lease)
	f.items[host] = it
	if n := int32(len(it.Holds)); n > f.maxHeld.Load() {
		f.maxHeld.Store(n)
	}

	return true, nil
}

func (f *fakeRules) ReleaseHold(_ context.Context, host string, lease rulestore.Lease) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[host]
	it.Holds = slices.DeleteFunc(it.Holds, func(l rulestore.Lease) bool { return l == lease })
	f.items[host] = it

	return nil
}

func (f *fakeRules) WantWake(_ context.Context, host string) (rulestore.Item, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[host]
	if !ok {
		return rulestore.Item{}, false, rulestore.ErrNotFound
	}
	if it.State != rulestore.Stopping {
		return it, false, nil
	}
	it.WakeWanted = true
	it.Version++
	f.items[host] = it

	return it, true, nil
}

func (f *fakeRules) set(host string, change func(*rulestore.Item)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it := f.items[host]
	change(&it)
	f.items[host] = it
}

func (f *fakeRules) item(host string) rulestore.Item {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.items[host]
}

// fakeWaker counts wakes; err fails them.
type fakeWaker struct {
	wakes atomic.Int32
	err   error
}

func (w *fakeWaker) StartWake(context.Context, rulestore.Item) error {
	w.wakes.Add(1)
	return w.err
}

var errBoom = errors.New("boom")

const testHost = "demo.autostop.example.test"

func testItem(state rulestore.State) rulestore.Item {
	r := rule.Rule{Name: "demo", InstanceIDs: []string{"i-0123456789abcdef0"}, Port: 8080, IdleMinutes: 5, HoldSeconds: 1, MaxHeldRequests: 50}.
		WithDefaults("autostop.example.test")

	it := rulestore.Item{Host: testHost, Rule: r, State: state, LoadBalancer: "autostop-demo"}
	if state == rulestore.Starting {
		it.WakeRequestedAt = time.Now()
	}

	return it
}

func testManager(rules Rules, waker Waker) *Manager {
	return New(rules, waker, Config{HoldPoll: 20 * time.Millisecond, RunningHold: 50 * time.Millisecond}, slog.New(slog.DiscardHandler))
}
