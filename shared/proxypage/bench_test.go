package proxypage

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// A typical request of each kind, as the ALB sends it with multi-value
// headers enabled (the heavier of the two shapes).
var (
	benchBrowser = events.ALBTargetGroupRequest{
		HTTPMethod: "GET", Path: "/orders/42",
		MultiValueQueryStringParameters: map[string][]string{"tab": {"items"}},
		MultiValueHeaders: map[string][]string{
			"host": {"shop.autostop.example.com"}, "accept": {acceptChrome}, "accept-encoding": {"gzip, deflate, br"},
			"user-agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"},
			"x-forwarded-for": {"203.0.113.7"}, "x-forwarded-proto": {"https"}, "x-forwarded-port": {"443"},
		},
	}
	benchPoll = events.ALBTargetGroupRequest{
		HTTPMethod: "GET", Path: "/orders/42",
		MultiValueHeaders: map[string][]string{"host": {"shop.autostop.example.com"}, "accept": {"*/*"}, "x-autostop-poll": {"1"}},
	}
	benchAPI = events.ALBTargetGroupRequest{
		HTTPMethod: "POST", Path: "/v1/orders",
		MultiValueQueryStringParameters: map[string][]string{"dry_run": {"false"}, "idempotency": {"b7c1%2Fx"}},
		MultiValueHeaders: map[string][]string{
			"host": {"api.autostop.example.com"}, "accept": {"application/json"}, "content-type": {"application/json"},
			"user-agent": {"python-requests/2.32"},
		},
		Body: `{"sku":"A-1","qty":2}`,
	}
	benchWake = Wake{
		Rule: "shop", Phase: PhaseHealthCheck,
		Started: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Now: time.Date(2026, 12, 2, 10, 0, 42, 0, time.UTC),
		RetryAfter: 5 * time.Second,
	}
)

// benchAnswer runs answer b.N times, timing each call, and reports the 99th
// percentile as p99-ns next to ns/op and allocs/op.
func benchAnswer(b *testing.B, answer func() events.ALBTargetGroupResponse) {
	b.ReportAllocs()
	lat := make([]time.Duration, 0, 1<<16)
	size := 0
	for b.Loop() {
		start := time.Now()
		resp := answer()
		d := time.Since(start)
		if len(lat) < cap(lat) {
			lat = append(lat, d)
		}
		size = len(resp.Body)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100]), "p99-ns")
	b.ReportMetric(float64(size), "body-bytes")
}

func BenchmarkProgress(b *testing.B) {
	benchAnswer(b, func() events.ALBTargetGroupResponse { return Progress(benchBrowser, benchWake) })
}

func BenchmarkPoll(b *testing.B) {
	benchAnswer(b, func() events.ALBTargetGroupResponse { return Poll(benchPoll, benchWake) })
}

func BenchmarkUnavailable(b *testing.B) {
	benchAnswer(b, func() events.ALBTargetGroupResponse { return Unavailable(benchAPI, benchWake) })
}

func BenchmarkTooBusy(b *testing.B) {
	benchAnswer(b, func() events.ALBTargetGroupResponse { return TooBusy(benchAPI, benchWake) })
}

func BenchmarkRedirect(b *testing.B) {
	benchAnswer(b, func() events.ALBTargetGroupResponse { return Redirect(benchAPI) })
}

func BenchmarkClassify(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if Classify(benchBrowser) != KindBrowser || Classify(benchAPI) != KindAPI || Classify(benchPoll) != KindPoll {
			b.Fatal("misclassified")
		}
	}
}
