package localalb

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCacheSingleFlight: a burst of 1,000 concurrent requests on a cold cache
// makes one set of Describe calls; after the TTL the next request makes one
// more; a failed read is not cached.
func TestCacheSingleFlight(t *testing.T) {
	e := newFakeLB()
	e.delay = 50 * time.Millisecond // the burst piles up behind the first read
	f := newTestFront(t, e, nil, nil, func(c *Config) { c.CacheTTL = 200 * time.Millisecond })

	const burst = 1000
	var wg sync.WaitGroup
	var bad atomic.Int64
	for range burst {
		wg.Go(func() {
			if w := do(f, "GET", "/", "x.test", nil, nil); w.Code != 200 {
				bad.Add(1)
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of %d requests failed", bad.Load(), burst)
	}
	// One read: DescribeListeners, DescribeRules, DescribeTargetGroups, and
	// per target group (Lambda, instance) attributes (Lambda only) and
	// health.
	const perRead = 6
	if n, l := e.calls.Load(), e.listenerCalls.Load(); l != 1 || n != perRead {
		t.Fatalf("%d Describe calls (%d DescribeListeners) for a burst of %d, want %d (1)", n, l, burst, perRead)
	}

	do(f, "GET", "/", "x.test", nil, nil)
	if l := e.listenerCalls.Load(); l != 1 {
		t.Fatalf("%d DescribeListeners within the TTL, want 1", l)
	}
	time.Sleep(250 * time.Millisecond)
	do(f, "GET", "/", "x.test", nil, nil)
	if l := e.listenerCalls.Load(); l != 2 {
		t.Fatalf("%d DescribeListeners after the TTL, want 2", l)
	}

	time.Sleep(250 * time.Millisecond)
	e.mu.Lock()
	e.failListeners = errors.New("Throttling")
	e.mu.Unlock()
	if w := do(f, "GET", "/", "x.test", nil, nil); w.Code != 503 {
		t.Fatalf("status %d while ELBv2 fails, want 503", w.Code)
	}
	e.mu.Lock()
	e.failListeners = nil
	e.mu.Unlock()
	if w := do(f, "GET", "/", "x.test", nil, nil); w.Code != 200 {
		t.Fatalf("status %d after ELBv2 recovered, want 200 (the failure must not be cached)", w.Code)
	}
}

// TestCacheWaiterLeaves: a request that gives up while another one reads
// returns at once; the read still completes for the others.
func TestCacheWaiterLeaves(t *testing.T) {
	release := make(chan struct{})
	var loads atomic.Int64
	c := &snapshotCache{ttl: time.Minute, timeout: time.Second, now: time.Now, load: func(ctx context.Context) (*snapshot, error) {
		loads.Add(1)
		<-release
		return &snapshot{}, nil
	}}

	first := make(chan error, 1)
	go func() { _, err := c.get(context.Background()); first <- err }()
	for {
		c.mu.Lock()
		started := c.flight != nil
		c.mu.Unlock()
		if started {
			break
		}
		time.Sleep(time.Millisecond)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiter with a cancelled context: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if s, err := c.get(context.Background()); err != nil || s == nil || loads.Load() != 1 {
		t.Fatalf("cached get: %v %v, %d loads", s, err, loads.Load())
	}
}

// TestCacheLoadPanics: waiters get an error, not a nil snapshot.
func TestCacheLoadPanics(t *testing.T) {
	c := &snapshotCache{ttl: time.Minute, timeout: time.Second, now: time.Now, load: func(context.Context) (*snapshot, error) {
		panic("boom")
	}}
	func() {
		defer func() { _ = recover() }()
		_, _ = c.get(context.Background())
	}()
	c.load = func(context.Context) (*snapshot, error) { return &snapshot{}, nil }
	if s, err := c.get(context.Background()); err != nil || s == nil {
		t.Fatalf("after a panicked load: %v %v, want a fresh read", s, err)
	}
}
