package idlewatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkRun: one watcher run over 1,000 running rules with traffic (none
// idle: the steady state), against in-memory AWS. It reports the run's own
// cost (the Lambda time it spends besides waiting on AWS) and the AWS calls
// it makes: one GetMetricData per 500 rules, one DescribeInstances per
// region, one DescribeTargetHealth per running rule.
func BenchmarkRun(b *testing.B) {
	const rules = 1000
	w := newWorld()
	for i := range rules {
		it := running(fmt.Sprintf("r%04d", i))
		w.add(it)
		w.cw[region1].busy[it.Host] = true
	}
	wt, err := New(testConfig(), w.deps(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := wt.Run(context.Background())
		if err != nil || r.Judged != rules || r.Idle != 0 {
			b.Fatalf("run: %d judged, %d idle, %v", r.Judged, r.Idle, err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(len(w.cw[region1].gets))/n, "getmetricdata-calls/run")
	b.ReportMetric(float64(len(w.ec2[region1].calls))/n, "describeinstances-calls/run")
}
