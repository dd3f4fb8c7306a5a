package localalb

import (
	"context"
	"errors"
	"sync"
	"time"
)

// snapshotCache keeps the last snapshot for ttl and lets one caller at a
// time read a new one: a burst of requests after the snapshot expired makes
// one set of Describe calls, every other request waits for its result.
// A failed read is not kept: the next request tries again.
type snapshotCache struct {
	ttl     time.Duration
	timeout time.Duration
	load    func(ctx context.Context) (*snapshot, error)
	now     func() time.Time

	mu     sync.Mutex
	snap   *snapshot
	at     time.Time
	flight *flight
}

// flight is a read under way; done is closed when snap and err are set.
type flight struct {
	done chan struct{}
	snap *snapshot
	err  error
}

// get returns a snapshot no older than ttl. A caller whose ctx ends while it
// waits for another caller's read returns ctx's error; the read goes on for
// the others.
func (c *snapshotCache) get(ctx context.Context) (*snapshot, error) {
	c.mu.Lock()
	if c.snap != nil && c.now().Sub(c.at) < c.ttl {
		s := c.snap
		c.mu.Unlock()
		return s, nil
	}
	if fl := c.flight; fl != nil {
		c.mu.Unlock()
		select {
		case <-fl.done:
			return fl.snap, fl.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	fl := &flight{done: make(chan struct{})}
	c.flight = fl
	c.mu.Unlock()

	c.run(ctx, fl)

	return fl.snap, fl.err
}

// run reads a snapshot for fl, detached from the cancellation of the
// request that started it (its waiters still need the answer), and
// publishes it.
func (c *snapshotCache) run(ctx context.Context, fl *flight) {
	defer func() {
		if fl.snap == nil && fl.err == nil {
			// load panicked: its waiters must not see a nil snapshot.
			fl.err = errors.New("reading the load balancer's configuration was aborted")
		}
		c.mu.Lock()
		if fl.err == nil {
			c.snap, c.at = fl.snap, c.now()
		}
		c.flight = nil
		c.mu.Unlock()
		close(fl.done)
	}()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	fl.snap, fl.err = c.load(ctx)
}
