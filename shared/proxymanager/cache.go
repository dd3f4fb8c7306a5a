package proxymanager

import (
	"sync"
	"time"

	"github.com/autostop/autostop/shared/rulestore"
)

// cache keeps the rules this function instance read, by host, for a short
// time: a browser polls every 2 s and a burst asks for one host many times,
// while the rule changes state a few times per wake. A host without a rule
// is cached too, so unknown hosts cost no more than known ones.
type cache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	item rulestore.Item
	err  error
	at   time.Time
}

// maxCacheEntries bounds the cache: hosts are client input.
const maxCacheEntries = 1024

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, entries: map[string]cacheEntry{}}
}

// get returns a fresh entry.
func (c *cache) get(host string, now time.Time) (rulestore.Item, error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[host]
	if !ok || now.Sub(e.at) >= c.ttl {
		return rulestore.Item{}, nil, false
	}

	return e.item, e.err, true
}

// store keeps a lookup's result.
func (c *cache) store(host string, it rulestore.Item, err error, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCacheEntries {
		for h, e := range c.entries {
			if now.Sub(e.at) >= c.ttl {
				delete(c.entries, h)
			}
		}
		if len(c.entries) >= maxCacheEntries {
			clear(c.entries)
		}
	}
	c.entries[host] = cacheEntry{item: it, err: err, at: now}
}

// put replaces a host's rule with a newer one this instance read or wrote,
// keeping its age: a write seen is no reason to trust the entry longer.
func (c *cache) put(host string, it rulestore.Item) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[host]; ok {
		e.item, e.err = it, nil
		c.entries[host] = e
	}
}
