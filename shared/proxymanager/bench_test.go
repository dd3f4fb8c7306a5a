package proxymanager

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/autostop/autostop/shared/rulestore"
)

// BenchmarkHandleCached measures the proxy's own work per request for a
// rule in this instance's cache (the table and its network time excluded):
// the progress page for a browser, and the hold decision for an API client
// (here refused at once, the rule holding its cap already). Goal: p99 ≤ 1 ms
// and ≤ 50 allocations per request.
func BenchmarkHandleCached(b *testing.B) {
	cases := []struct {
		name string
		req  events.ALBTargetGroupRequest
	}{
		{"progress-page", browser},
		{"poll", poll},
		{"hold-decision", apiJSON},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			it := testItem(rulestore.Starting)
			it.Rule.MaxHeldRequests = 1
			it.Holds = []rulestore.Lease{rulestore.NewLease(time.Now().Add(time.Hour))}
			m := New(newFakeRules(it), &fakeWaker{}, Config{CacheTTL: time.Hour}, testManager(nil, nil).log)
			ctx := context.Background()
			m.Handle(ctx, c.req) // fill the cache

			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				resp := m.Handle(ctx, c.req)
				lat = append(lat, time.Since(start))
				if resp.StatusCode != 503 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
		})
	}
}
