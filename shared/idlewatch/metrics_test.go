package idlewatch

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autostop/autostop/shared/rulestore"
)

// many returns n running rules of region1, named <prefix>0000…, with the
// idle minutes cycling through a few values.
func many(prefix string, n int) []rulestore.Item {
	out := make([]rulestore.Item, n)
	for i := range out {
		out[i] = running(fmt.Sprintf("%s%04d", prefix, i))
		out[i].Rule.IdleMinutes = []int{5, 15, 60}[i%3]
	}

	return out
}

// Over 500 rules take several GetMetricData calls, each read to its last
// page; every rule is queried once and judged on its own datapoints.
func TestJudgeBatchesAndPages(t *testing.T) {
	tests := []struct {
		name         string
		rules        int
		pageSize     int
		partialFirst bool
		wantCalls    []int // queries of each GetMetricData call (page 1)
		wantPages    int
	}{
		{name: "500 rules: one call", rules: 500, wantCalls: []int{500}, wantPages: 1},
		{name: "1201 rules: three calls", rules: 1201, wantCalls: []int{500, 500, 201}, wantPages: 3},
		{name: "1201 rules, 200 queries a page: every page read", rules: 1201, pageSize: 200,
			wantCalls: []int{500, 500, 201}, wantPages: 3 + 3 + 2},
		{name: "datapoints split across pages (PartialData first)", rules: 501, partialFirst: true,
			wantCalls: []int{500, 1}, wantPages: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := many("r", tt.rules)
			w := newWorld(items...)
			w.cw[region1].pageSize = tt.pageSize
			w.cw[region1].partialFirst = tt.partialFirst
			// Every third rule is busy.
			idle := map[string]bool{}
			for i, it := range items {
				if i%3 == 1 {
					w.cw[region1].busy[it.Host] = true
				} else {
					idle[it.Host] = true
				}
			}
			// The idle ones lose their BeginSleep (cheap: no execution) so
			// that only the decisions are counted.
			w.rules.race = func(op, h string, items map[string]rulestore.Item) {
				it := items[h]
				it.ReadyAt = time.Time{}
				items[h] = it
			}
			rep, err := w.run(t)
			if err != nil {
				t.Fatal(err)
			}

			gets := w.cw[region1].gets
			if len(gets) != tt.wantPages {
				t.Errorf("%d GetMetricData requests (pages), want %d", len(gets), tt.wantPages)
			}
			var calls []int
			seen := map[string]int{}
			for _, in := range gets {
				if len(in.MetricDataQueries) > 500 {
					t.Errorf("a call of %d queries", len(in.MetricDataQueries))
				}
				if in.NextToken != nil {
					continue
				}
				calls = append(calls, len(in.MetricDataQueries))
				for _, q := range in.MetricDataQueries {
					seen[aws.ToString(q.Label)]++
				}
			}
			if !slices.Equal(calls, tt.wantCalls) {
				t.Errorf("calls of %v queries, want %v", calls, tt.wantCalls)
			}
			for _, it := range items {
				if seen[it.Host] != 1 {
					t.Errorf("%s queried %d times", it.Host, seen[it.Host])
				}
			}
			if rep.Judged != tt.rules || rep.Idle != len(idle) {
				t.Errorf("judged %d, idle %d; want %d, %d", rep.Judged, rep.Idle, tt.rules, len(idle))
			}
			for _, c := range w.rules.writes() {
				var h, reason string
				fmt.Sscanf(c, "BeginSleep %s %s", &h, &reason)
				if !idle[h] || reason != "idle" {
					t.Errorf("write %q: not an idle rule", c)
				}
			}
			if n := len(w.rules.writes()); n != len(idle) {
				t.Errorf("%d BeginSleep, want %d", n, len(idle))
			}
		})
	}
}

// A call that fails on a later page leaves its rules unjudged (its first
// page is not enough to call them idle); the other calls' rules are judged.
func TestJudgeFailedPageDropsTheCall(t *testing.T) {
	w := newWorld(many("r", 600)...)
	w.cw[region1].pageSize = 300
	w.cw[region1].failGet = 2 // the first call's second page
	rep, err := w.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Judged != 100 || rep.Idle != 100 || rep.Errors != 1 {
		t.Errorf("report %+v, want the second call's 100 rules judged and one error", counts(rep))
	}
	if n := len(w.rules.writes()); n != 100 {
		t.Errorf("%d BeginSleep, want 100", n)
	}
}

func TestDryRunMetricAndLog(t *testing.T) {
	items := []rulestore.Item{dryRun(running("dry")), running("real"), dryRun(running("busy"))}
	w := newWorld(items...)
	w.cw[region1].busy[host("busy")] = true
	rep, err := w.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.rules.writes(); !slices.Equal(got, []string{"BeginSleep real.autostop.example.test idle"}) {
		t.Errorf("writes %q: a dry-run rule must not be written", got)
	}
	if rep.WouldStop != 1 || rep.SleepsStarted != 1 || rep.Idle != 2 {
		t.Errorf("report %+v", counts(rep))
	}

	puts := w.cw[region1].puts
	if len(puts) != 1 {
		t.Fatalf("%d PutMetricData calls, want 1", len(puts))
	}
	if ns := aws.ToString(puts[0].Namespace); ns != "Autostop" {
		t.Errorf("namespace %q", ns)
	}
	if len(puts[0].MetricData) != 1 {
		t.Fatalf("datums %+v", puts[0].MetricData)
	}
	d := puts[0].MetricData[0]
	if aws.ToString(d.MetricName) != "WouldStop" || aws.ToFloat64(d.Value) != 1 || d.Unit != cwtypes.StandardUnitCount ||
		len(d.Dimensions) != 1 || aws.ToString(d.Dimensions[0].Name) != "Rule" || aws.ToString(d.Dimensions[0].Value) != "dry" ||
		!aws.ToTime(d.Timestamp).Equal(testNow) {
		t.Errorf("datum %+v", d)
	}

	lines := w.lines(t, "would stop")
	if len(lines) != 1 {
		t.Fatalf("%d \"would stop\" lines, want 1: %s", len(lines), w.logs.String())
	}
	l := lines[0]
	want := map[string]any{
		"level": "INFO", "action": "would-stop", "outcome": "logged", "host": host("dry"), "rule": "dry", "region": region1,
		// now 12:10:30, lag 3 min: the window ends at 12:07, 15 minutes.
		"windowStart": "2026-03-14T11:52:00Z", "windowEnd": "2026-03-14T12:07:00Z",
		"requests": 0.0, "laterRequests": 0.0, "lag": "3m0s", "idleMinutes": 15.0,
	}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, l[k], l[k], v)
		}
	}
	if r, _ := l["reason"].(string); r == "" {
		t.Errorf("no reason in %v", l)
	}
	// Not idle: debug only.
	for _, l := range w.lines(t, "not idle") {
		if l["level"] != "DEBUG" || l["host"] != host("busy") {
			t.Errorf("not idle line %v", l)
		}
	}
}

func TestWouldStopBatchedPerRegion(t *testing.T) {
	var items []rulestore.Item
	for _, it := range many("d", 1001) {
		items = append(items, dryRun(it))
	}
	items = append(items, dryRun(inRegion(running("far"), region2)))
	w := newWorld(items...)
	rep, err := w.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if rep.WouldStop != 1002 || len(w.rules.writes()) != 0 {
		t.Errorf("report %+v, writes %d", counts(rep), len(w.rules.writes()))
	}
	var sizes []int
	for _, p := range w.cw[region1].puts {
		sizes = append(sizes, len(p.MetricData))
	}
	if !slices.Equal(sizes, []int{1000, 1}) {
		t.Errorf("region1 PutMetricData of %v datums, want [1000 1]", sizes)
	}
	if p := w.cw[region2].puts; len(p) != 1 || len(p[0].MetricData) != 1 || aws.ToString(p[0].MetricData[0].Dimensions[0].Value) != "far" {
		t.Errorf("region2 PutMetricData %+v", p)
	}
	if n := len(w.lines(t, "would stop")); n != 1002 {
		t.Errorf("%d would-stop lines", n)
	}
	// One client per service and region.
	for k, n := range w.made {
		if n != 1 {
			t.Errorf("%d %s clients", n, k)
		}
	}
}

func TestWouldStopPutFails(t *testing.T) {
	w := newWorld(dryRun(running("dry")))
	w.cw[region1].putErr = errBoom
	rep, err := w.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if rep.WouldStop != 1 || rep.Errors != 1 {
		t.Errorf("report %+v", counts(rep))
	}
}
