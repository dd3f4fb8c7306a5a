package idle_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autostop/autostop/shared/idle"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

const (
	lbARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/autostop-demo/50dc6c495c0c9188"
	lbDim = "app/autostop-demo/50dc6c495c0c9188"
)

func tgARN(name string) string {
	return "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/" + name + "/73e2d6bc24d8a067"
}

func tgDim(name string) string { return "targetgroup/" + name + "/73e2d6bc24d8a067" }

// at is a time on 2025-03-14 UTC, "15:04:05".
func at(clock string) time.Time {
	t, err := time.Parse(time.DateTime, "2025-03-14 "+clock)
	if err != nil {
		panic(err)
	}

	return t
}

// running is a running rule named name, ready at readyAt.
func running(name string, idleMinutes int, readyAt time.Time) rulestore.Item {
	return rulestore.Item{
		Host:            name + ".autostop.example.test",
		Rule:            rule.Rule{Name: name, IdleMinutes: idleMinutes},
		LoadBalancer:    "autostop-demo",
		LoadBalancerARN: lbARN,
		TargetGroupARN:  tgARN(name),
		State:           rulestore.Running,
		ReadyAt:         readyAt,
	}
}

func withState(it rulestore.Item, s rulestore.State) rulestore.Item {
	it.State = s

	return it
}

func TestWindow(t *testing.T) {
	local := idle.Config{Lag: 10 * time.Second, Period: 5 * time.Second, IdleUnit: time.Second}
	tests := []struct {
		name       string
		item       rulestore.Item
		now        time.Time
		cfg        idle.Config
		start, end time.Time
		ok         bool
	}{
		{name: "ends the default lag before now, aligned down to the minute",
			item: running("a", 15, at("10:00:00")), now: at("12:10:30"),
			start: at("11:52:00"), end: at("12:07:00"), ok: true},
		{name: "now on a period boundary",
			item: running("a", 15, at("10:00:00")), now: at("12:10:00"),
			start: at("11:52:00"), end: at("12:07:00"), ok: true},
		{name: "one second before the boundary: the previous period",
			item: running("a", 15, at("10:00:00")), now: at("12:09:59"),
			start: at("11:51:00"), end: at("12:06:00"), ok: true},
		{name: "a longer lag",
			item: running("a", 15, at("10:00:00")), now: at("12:10:30"), cfg: idle.Config{Lag: 5 * time.Minute},
			start: at("11:50:00"), end: at("12:05:00"), ok: true},
		{name: "idleMinutes 1, the smallest",
			item: running("a", rule.MinIdleMinutes, at("10:00:00")), now: at("12:10:30"),
			start: at("12:06:00"), end: at("12:07:00"), ok: true},
		{name: "idleMinutes 1440, the largest",
			item: running("a", rule.MaxIdleMinutes, at("00:00:00").Add(-48*time.Hour)), now: at("12:10:30"),
			start: at("12:07:00").Add(-24 * time.Hour), end: at("12:07:00"), ok: true},
		{name: "readyAt exactly at the window's start: judged",
			item: running("a", 15, at("11:52:00")), now: at("12:10:30"),
			start: at("11:52:00"), end: at("12:07:00"), ok: true},
		{name: "readyAt one second after a period's start is aligned up: not idle yet",
			item: running("a", 15, at("11:52:01")), now: at("12:10:30"),
			start: at("11:53:00"), end: at("12:07:00"), ok: false},
		{name: "readyAt a second before the window's start: aligned up onto it, judged",
			item: running("a", 15, at("11:51:59")), now: at("12:10:30"),
			start: at("11:52:00"), end: at("12:07:00"), ok: true},
		{name: "running exactly idleMinutes + lag: judged",
			item: running("a", 7, at("12:00:00")), now: at("12:10:00"),
			start: at("12:00:00"), end: at("12:07:00"), ok: true},
		{name: "a second short of idleMinutes + lag: not yet",
			item: running("a", 7, at("12:00:00")), now: at("12:09:59"),
			start: at("12:00:00"), end: at("12:06:00"), ok: false},
		{name: "readyAt inside the lag: nothing of the window run yet",
			item: running("a", 15, at("12:08:00")), now: at("12:10:30"),
			start: at("12:07:00"), end: at("12:07:00"), ok: false},
		{name: "local timings: seconds",
			item: running("a", 30, at("12:00:00")), now: at("12:10:12"), cfg: local,
			start: at("12:09:30"), end: at("12:10:00"), ok: true},
		{name: "local timings: idle not a whole number of periods is widened to whole periods",
			item: running("a", 12, at("12:00:00")), now: at("12:10:12"), cfg: local,
			start: at("12:09:45"), end: at("12:10:00"), ok: true},
		{name: "not running: stopped",
			item: func() rulestore.Item { it := running("a", 15, at("10:00:00")); it.State = rulestore.Stopped; return it }(),
			now:  at("12:10:30"), ok: false},
		{name: "not running: stopping",
			item: withState(running("a", 15, at("10:00:00")), rulestore.Stopping), now: at("12:10:30"), ok: false},
		{name: "running without readyAt",
			item: running("a", 15, time.Time{}), now: at("12:10:30"), ok: false},
		{name: "no idleMinutes",
			item: running("a", 0, at("10:00:00")), now: at("12:10:30"), ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, ok := idle.Window(tt.item, tt.now, tt.cfg)
			if !start.Equal(tt.start) || !end.Equal(tt.end) || ok != tt.ok {
				t.Errorf("Window = [%s, %s) %v, want [%s, %s) %v", start.Format(time.TimeOnly), end.Format(time.TimeOnly), ok,
					tt.start.Format(time.TimeOnly), tt.end.Format(time.TimeOnly), tt.ok)
			}
		})
	}
}

func TestDimensionValues(t *testing.T) {
	lbs := []struct{ arn, want string }{
		{lbARN, lbDim},
		{"arn:aws-us-gov:elasticloadbalancing:us-gov-west-1:123456789012:loadbalancer/app/my-lb/0123456789abcdef", "app/my-lb/0123456789abcdef"},
		{"arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/autostop-demo/1f0c3a2b-7d4e-4a", "app/autostop-demo/1f0c3a2b-7d4e-4a"}, // kumo's ids
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/my-nlb/50dc6c495c0c9188", ""},                                          // not an ALB
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/my-lb", ""},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/my-lb/id/extra", ""},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app//id", ""},
		{"app/my-lb/50dc6c495c0c9188", ""},
		{"", ""},
	}
	for _, tt := range lbs {
		got, err := idle.LoadBalancerDimensionValue(tt.arn)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("LoadBalancerDimensionValue(%q) = %q, %v; want %q", tt.arn, got, err, tt.want)
		}
	}
	tgs := []struct{ arn, want string }{
		{tgARN("app"), tgDim("app")},
		{"arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:targetgroup/autostop-proxy/0123456789abcdef", "targetgroup/autostop-proxy/0123456789abcdef"},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/my-tg", ""},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/my-tg/id/extra", ""},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup//id", ""},
		{lbARN, ""},
		{"", ""},
	}
	for _, tt := range tgs {
		got, err := idle.TargetGroupDimensionValue(tt.arn)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("TargetGroupDimensionValue(%q) = %q, %v; want %q", tt.arn, got, err, tt.want)
		}
	}
}

func TestQueriesOneQueryPerRule(t *testing.T) {
	now := at("12:10:30")
	notRunning := running("stopped", 15, at("10:00:00"))
	notRunning.State = rulestore.Stopped
	badARN := running("bad", 15, at("10:00:00"))
	badARN.TargetGroupARN = "targetgroup/bad"
	items := []rulestore.Item{
		running("a", 15, at("10:00:00")),
		notRunning,
		running("young", 15, at("12:00:00")), // not idle yet: no query
		badARN,
		running("b", 60, at("10:00:00")),
	}
	batches := idle.Queries(items, now, idle.Config{})
	if len(batches) != 1 {
		t.Fatalf("%d calls, want 1", len(batches))
	}
	b := batches[0]
	// The earliest window first.
	if want := []int{4, 0}; !slices.Equal(b.Items, want) {
		t.Errorf("Items = %v, want %v", b.Items, want)
	}
	if got, want := aws.ToTime(b.Input.StartTime), at("11:07:00"); !got.Equal(want) {
		t.Errorf("StartTime = %s, want %s (the 60-minute window's start)", got, want)
	}
	if got, want := aws.ToTime(b.Input.EndTime), at("12:11:00"); !got.Equal(want) {
		t.Errorf("EndTime = %s, want %s (the end of the current period: the lag is read too)", got, want)
	}
	q := b.Input.MetricDataQueries[1]
	if aws.ToString(q.Id) != "r0" || aws.ToString(q.Label) != "a.autostop.example.test" || !aws.ToBool(q.ReturnData) {
		t.Errorf("query Id %q Label %q ReturnData %v", aws.ToString(q.Id), aws.ToString(q.Label), aws.ToBool(q.ReturnData))
	}
	s := q.MetricStat
	m := s.Metric
	if aws.ToString(m.Namespace) != "AWS/ApplicationELB" || aws.ToString(m.MetricName) != "RequestCount" ||
		aws.ToString(s.Stat) != "Sum" || aws.ToInt32(s.Period) != 60 {
		t.Errorf("metric %s %s %s %d", aws.ToString(m.Namespace), aws.ToString(m.MetricName), aws.ToString(s.Stat), aws.ToInt32(s.Period))
	}
	var dims []string
	for _, d := range m.Dimensions {
		dims = append(dims, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
	}
	if want := []string{"LoadBalancer=" + lbDim, "TargetGroup=" + tgDim("a")}; !slices.Equal(dims, want) {
		t.Errorf("dimensions %v, want %v", dims, want)
	}
	if got := aws.ToString(b.Input.MetricDataQueries[0].Id); got != "r4" {
		t.Errorf("first query Id %q, want r4", got)
	}
}

func TestQueriesBatching(t *testing.T) {
	now := at("12:10:30")
	for _, tt := range []struct {
		rules int
		calls []int // queries per call
	}{
		{0, nil}, {1, []int{1}}, {500, []int{500}}, {501, []int{500, 1}}, {1000, []int{500, 500}}, {1234, []int{500, 500, 234}},
	} {
		t.Run(fmt.Sprint(tt.rules), func(t *testing.T) {
			items := make([]rulestore.Item, tt.rules)
			for i := range items {
				// A mix of idleMinutes: windows of every length.
				items[i] = running(fmt.Sprintf("rule-%d", i), 1+i%90, at("00:00:00"))
			}
			batches := idle.Queries(items, now, idle.Config{})
			var sizes []int
			seen := map[string]bool{}
			for _, b := range batches {
				sizes = append(sizes, len(b.Input.MetricDataQueries))
				if len(b.Items) != len(b.Input.MetricDataQueries) {
					t.Errorf("%d items for %d queries", len(b.Items), len(b.Input.MetricDataQueries))
				}
				for k, q := range b.Input.MetricDataQueries {
					id := aws.ToString(q.Id)
					if id != idle.QueryID(b.Items[k]) || seen[id] {
						t.Errorf("query %q for item %d (duplicate: %v)", id, b.Items[k], seen[id])
					}
					seen[id] = true
					// The call's range covers the query's window.
					start, end, ok := idle.Window(items[b.Items[k]], now, idle.Config{})
					if !ok || start.Before(aws.ToTime(b.Input.StartTime)) || end.After(aws.ToTime(b.Input.EndTime)) {
						t.Errorf("%s: window [%s, %s) %v not within the call's [%s, %s)", id, start, end, ok,
							aws.ToTime(b.Input.StartTime), aws.ToTime(b.Input.EndTime))
					}
				}
			}
			if !slices.Equal(sizes, tt.calls) || len(seen) != tt.rules {
				t.Errorf("calls of %v queries (%d rules), want %v", sizes, len(seen), tt.calls)
			}
		})
	}
}

// metrics is a fake CloudWatch holding RequestCount datapoints per target
// group dimension, each readable from some time on.
type metrics struct {
	period time.Duration
	delay  time.Duration // after a period's end, until its datapoint is readable
	counts map[string]map[time.Time]float64
}

func newMetrics(period, delay time.Duration) *metrics {
	return &metrics{period: period, delay: delay, counts: map[string]map[time.Time]float64{}}
}

// request records requests to a target group at t.
func (m *metrics) request(tg string, t time.Time, n float64) {
	if m.counts[tg] == nil {
		m.counts[tg] = map[time.Time]float64{}
	}
	m.counts[tg][t.Truncate(m.period)] += n
}

// answer is GetMetricData at now: for every query, the datapoints of
// [StartTime, EndTime) readable at now, ascending, split into pages of at
// most pageSize datapoints (0: one page).
func (m *metrics) answer(t *testing.T, b idle.Batch, now time.Time, pageSize int) []cwtypes.MetricDataResult {
	t.Helper()
	var out []cwtypes.MetricDataResult
	for _, q := range b.Input.MetricDataQueries {
		var lb, tg string
		for _, d := range q.MetricStat.Metric.Dimensions {
			switch aws.ToString(d.Name) {
			case "LoadBalancer":
				lb = aws.ToString(d.Value)
			case "TargetGroup":
				tg = aws.ToString(d.Value)
			}
		}
		if lb != lbDim {
			t.Fatalf("query %s: LoadBalancer %q", aws.ToString(q.Id), lb)
		}
		var ts []time.Time
		for p := range m.counts[tg] {
			if !p.Before(aws.ToTime(b.Input.StartTime)) && p.Before(aws.ToTime(b.Input.EndTime)) && !p.Add(m.period+m.delay).After(now) {
				ts = append(ts, p)
			}
		}
		slices.SortFunc(ts, time.Time.Compare)
		page := cwtypes.MetricDataResult{Id: q.Id, StatusCode: cwtypes.StatusCodeComplete}
		for _, p := range ts {
			if pageSize > 0 && len(page.Timestamps) == pageSize {
				page.StatusCode = cwtypes.StatusCodePartialData
				out = append(out, page)
				page = cwtypes.MetricDataResult{Id: q.Id, StatusCode: cwtypes.StatusCodeComplete}
			}
			page.Timestamps = append(page.Timestamps, p)
			page.Values = append(page.Values, m.counts[tg][p])
		}
		out = append(out, page)
	}

	return out
}

// run is one watcher run at now: Queries, the fake's answers, Decide.
func (m *metrics) run(t *testing.T, items []rulestore.Item, now time.Time, cfg idle.Config, pageSize int) []idle.Decision {
	t.Helper()
	var results []cwtypes.MetricDataResult
	for _, b := range idle.Queries(items, now, cfg) {
		results = append(results, m.answer(t, b, now, pageSize)...)
	}

	return idle.Decide(items, results, now, cfg)
}

func TestDecide(t *testing.T) {
	now := at("12:10:30") // the 15-minute window: [11:52, 12:07); the lag: [12:07, 12:10:30)
	tests := []struct {
		name     string
		requests map[string]float64 // at clock → count
		delay    time.Duration
		pageSize int
		idle     bool
		inWindow float64
		later    float64
		reason   string
	}{
		{name: "no datapoint at all: idle", idle: true, reason: "idle: no requests in the window [2025-03-14T11:52:00Z, 2025-03-14T12:07:00Z)"},
		{name: "a request in the window", requests: map[string]float64{"12:00:10": 3}, inWindow: 3, reason: "3 requests in the window"},
		{name: "a request in the window's first period counts",
			requests: map[string]float64{"11:52:00": 1}, inWindow: 1},
		{name: "a request in the period before the window does not",
			requests: map[string]float64{"11:51:59": 1}, idle: true},
		{name: "a request long before the window does not",
			requests: map[string]float64{"10:30:00": 40}, idle: true},
		{name: "a request in the window's last period counts",
			requests: map[string]float64{"12:06:59": 2}, inWindow: 2},
		{name: "a request in the lag already published: kept running, not counted in the window",
			requests: map[string]float64{"12:07:00": 5}, later: 5, reason: "already visible after it"},
		{name: "a request in the lag not yet published: invisible",
			requests: map[string]float64{"12:08:00": 5}, delay: 2 * time.Minute, idle: true},
		{name: "requests in the window and the lag",
			requests: map[string]float64{"12:06:00": 1, "12:09:00": 2}, inWindow: 1, later: 2},
		{name: "a zero datapoint is no request",
			requests: map[string]float64{"12:00:00": 0}, idle: true},
		{name: "datapoints over several pages are summed",
			requests: map[string]float64{"11:55:00": 1, "11:56:00": 2, "11:57:00": 3, "12:08:00": 4}, pageSize: 2, inWindow: 6, later: 4},
		{name: "an idle rule over several pages",
			requests: map[string]float64{"10:55:00": 1, "10:56:00": 2, "10:57:00": 3}, pageSize: 1, idle: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMetrics(time.Minute, tt.delay)
			for clock, n := range tt.requests {
				m.request(tgDim("a"), at(clock), n)
			}
			// The 60-minute rule widens the call's range to 11:07.
			items := []rulestore.Item{running("a", 15, at("10:00:00")), running("long", 60, at("10:00:00"))}
			d := m.run(t, items, now, idle.Config{}, tt.pageSize)[0]
			if d.Host != "a.autostop.example.test" || d.Idle != tt.idle || d.Requests != tt.inWindow || d.LaterRequests != tt.later ||
				!d.WindowStart.Equal(at("11:52:00")) || !d.WindowEnd.Equal(at("12:07:00")) || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("Decision = %+v\nwant idle %v, requests %v, later %v, reason containing %q", d, tt.idle, tt.inWindow, tt.later, tt.reason)
			}
		})
	}
}

func TestDecideResults(t *testing.T) {
	now := at("12:10:30")
	items := []rulestore.Item{running("a", 15, at("10:00:00"))}
	inWindow := at("12:00:00")
	tests := []struct {
		name    string
		results []cwtypes.MetricDataResult
		idle    bool
		reason  string
	}{
		{name: "no result for the query: not idle", reason: "no result for query r0"},
		{name: "results for other ids only", results: []cwtypes.MetricDataResult{
			{Id: aws.String("r1"), StatusCode: cwtypes.StatusCodeComplete},
			{Id: aws.String("r00"), StatusCode: cwtypes.StatusCodeComplete},
			{Id: aws.String("m0"), StatusCode: cwtypes.StatusCodeComplete},
		}, reason: "no result for query r0"},
		{name: "complete and empty: idle", results: []cwtypes.MetricDataResult{
			{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodeComplete},
		}, idle: true},
		{name: "without a status code (taken as complete)", results: []cwtypes.MetricDataResult{
			{Id: aws.String("r0")},
		}, idle: true},
		{name: "partial only: pages were not all read", results: []cwtypes.MetricDataResult{
			{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodePartialData},
		}, reason: "partial"},
		{name: "partial, then complete", results: []cwtypes.MetricDataResult{
			{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodePartialData},
			{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodeComplete},
		}, idle: true},
		{name: "internal error", results: []cwtypes.MetricDataResult{
			{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodeInternalError,
				Messages: []cwtypes.MessageData{{Code: aws.String("InternalError"), Value: aws.String("try again")}}},
		}, reason: "read failed: InternalError (InternalError: try again)"},
		{name: "forbidden beside a complete page", results: []cwtypes.MetricDataResult{
			{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodeComplete},
			{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodeForbidden},
		}, reason: "read failed: Forbidden"},
		{name: "requests beat a failed page", results: []cwtypes.MetricDataResult{
			{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodeForbidden},
			{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodePartialData, Timestamps: []time.Time{inWindow}, Values: []float64{1}},
		}, reason: "1 requests in the window"},
		{name: "a timestamp without a value is skipped", results: []cwtypes.MetricDataResult{
			{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodeComplete, Timestamps: []time.Time{inWindow}},
		}, idle: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := idle.Decide(items, tt.results, now, idle.Config{})[0]
			if d.Idle != tt.idle || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("Decision = %+v, want idle %v, reason containing %q", d, tt.idle, tt.reason)
			}
		})
	}
}

func TestDecideRulesNotJudged(t *testing.T) {
	now := at("12:10:30")
	item := func(change func(*rulestore.Item)) rulestore.Item {
		it := running("a", 15, at("10:00:00"))
		change(&it)

		return it
	}
	tests := []struct {
		name   string
		item   rulestore.Item
		reason string
	}{
		{"stopped", item(func(it *rulestore.Item) { it.State = rulestore.Stopped }), "not running (state stopped)"},
		{"starting", item(func(it *rulestore.Item) { it.State = rulestore.Starting }), "not running (state starting)"},
		{"stopping", item(func(it *rulestore.Item) { it.State = rulestore.Stopping }), "not running (state stopping)"},
		{"detaching", item(func(it *rulestore.Item) { it.State = rulestore.Detaching }), "not running (state detaching)"},
		{"no state", item(func(it *rulestore.Item) { it.State = "" }), `not running (state "")`},
		{"ready too recently", item(func(it *rulestore.Item) { it.ReadyAt = at("11:55:00") }),
			"not idle yet: ready at 2025-03-14T11:55:00Z, a window of 15m0s plus the lag of 3m0s is first judged at 2025-03-14T12:13:00Z"},
		{"no readyAt", item(func(it *rulestore.Item) { it.ReadyAt = time.Time{} }), "without readyAt"},
		{"no idle time", item(func(it *rulestore.Item) { it.Rule.IdleMinutes = 0 }), "idleMinutes is 0"},
		{"not an ALB", item(func(it *rulestore.Item) {
			it.LoadBalancerARN = strings.Replace(lbARN, "/app/", "/net/", 1)
		}), "cannot read its metric: load balancer"},
		{"no target group", item(func(it *rulestore.Item) { it.TargetGroupARN = "" }), "cannot read its metric: target group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := []rulestore.Item{tt.item}
			if b := idle.Queries(items, now, idle.Config{}); len(b) != 0 {
				t.Errorf("%d calls for a rule not judged", len(b))
			}
			// Even with a (stray) empty complete result, never idle.
			d := idle.Decide(items, []cwtypes.MetricDataResult{{Id: aws.String("r0"), StatusCode: cwtypes.StatusCodeComplete}}, now, idle.Config{})[0]
			if d.Idle || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("Decision = %+v, want not idle, reason containing %q", d, tt.reason)
			}
		})
	}
}

func TestRulesSharingAWindow(t *testing.T) {
	now := at("12:10:30")
	m := newMetrics(time.Minute, 0)
	items := []rulestore.Item{
		running("quiet", 15, at("10:00:00")),
		running("busy", 15, at("10:00:00")),
		running("late", 15, at("11:00:00")),
		running("long", 60, at("10:00:00")), // the same call, a longer window
		running("short", 5, at("10:00:00")),
	}
	m.request(tgDim("busy"), at("11:58:30"), 7)
	m.request(tgDim("late"), at("12:08:10"), 1)
	m.request(tgDim("quiet"), at("11:30:00"), 9)  // before its window; inside long's range
	m.request(tgDim("long"), at("11:30:00"), 2)   // inside long's window
	m.request(tgDim("short"), at("11:58:00"), 4)  // inside quiet's window, not short's [12:02, 12:07)
	m.request(tgDim("other"), at("12:00:00"), 99) // another rule's target group

	batches := idle.Queries(items, now, idle.Config{})
	if len(batches) != 1 || len(batches[0].Input.MetricDataQueries) != 5 {
		t.Fatalf("%d calls, want 1 of 5 queries", len(batches))
	}
	got := map[string]string{}
	for _, d := range m.run(t, items, now, idle.Config{}, 0) {
		got[strings.TrimSuffix(d.Host, ".autostop.example.test")] = fmt.Sprintf("idle=%v requests=%v later=%v", d.Idle, d.Requests, d.LaterRequests)
	}
	want := map[string]string{
		"quiet": "idle=true requests=0 later=0",
		"busy":  "idle=false requests=7 later=0",
		"late":  "idle=false requests=0 later=1",
		"long":  "idle=false requests=2 later=0",
		"short": "idle=true requests=0 later=0",
	}
	for host, w := range want {
		if got[host] != w {
			t.Errorf("%s: %s, want %s", host, got[host], w)
		}
	}
}

// TestSimulatedTraffic runs the watcher every minute over hours of traffic,
// with CloudWatch publishing every period delay after it ends: with a lag
// at least the delay, traffic whose gaps are shorter than idleMinutes never
// stops the rule, and the rule is stopped between idleMinutes + lag and
// idleMinutes + lag + a period + the watcher's interval after the last
// request; with a lag below the delay, the rule is stopped while traffic
// flows.
func TestSimulatedTraffic(t *testing.T) {
	const idleMinutes = 5
	start := at("08:00:00")
	readyAt := start.Add(17 * time.Second)
	tests := []struct {
		name       string
		lag, delay time.Duration
		gap        time.Duration // between requests, while traffic flows
		safe       bool
	}{
		{"lag above the delay, gaps just below idleMinutes", 3 * time.Minute, 2 * time.Minute, idleMinutes*time.Minute - time.Second, true},
		{"lag equal to the delay", 3 * time.Minute, 3 * time.Minute, 4*time.Minute + 30*time.Second, true},
		{"steady traffic", 3 * time.Minute, 3 * time.Minute, 20 * time.Second, true},
		{"no lag configured against a 2-minute delay: stops under traffic", time.Nanosecond, 2 * time.Minute, 4 * time.Minute, false},
		{"lag below the delay: stops under traffic", 3 * time.Minute, 5 * time.Minute, 4 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := idle.Config{Lag: tt.lag}
			m := newMetrics(time.Minute, tt.delay)
			items := []rulestore.Item{running("app", idleMinutes, readyAt)}
			// Traffic from ready until 11:00, then none.
			last := readyAt
			for r := readyAt.Add(tt.gap); r.Before(at("11:00:00")); r = r.Add(tt.gap) {
				m.request(tgDim("app"), r, 1)
				last = r
			}
			var stoppedAt time.Time
			for now := start.Add(20 * time.Second); now.Before(at("12:00:00")); now = now.Add(time.Minute) {
				if d := m.run(t, items, now, cfg, 0)[0]; d.Idle {
					stoppedAt = now
					if now.Before(last) && tt.safe {
						t.Fatalf("stopped at %s while traffic flows (last request %s): %s", now.Format(time.TimeOnly), last.Format(time.TimeOnly), d.Reason)
					}

					break
				}
			}
			if !tt.safe {
				if stoppedAt.IsZero() || !stoppedAt.Before(last) {
					t.Fatalf("stopped at %s, want a stop while traffic flows (until %s): this lag should be unsafe", stoppedAt.Format(time.TimeOnly), last.Format(time.TimeOnly))
				}

				return
			}
			silence := stoppedAt.Sub(last)
			lo := idleMinutes*time.Minute + cfg.WithDefaults().Lag
			hi := lo + time.Minute + time.Minute // a period's alignment + the watcher's interval
			if stoppedAt.IsZero() || silence <= lo || silence > hi {
				t.Errorf("stopped at %s, %s after the last request (%s); want within (%s, %s]", stoppedAt.Format(time.TimeOnly), silence, last.Format(time.TimeOnly), lo, hi)
			}
		})
	}
}

// TestLateDatapoint: a datapoint CloudWatch publishes late, within the lag,
// never stops the rule: before it is readable its period is not yet in a
// judged window; once readable it keeps the rule running, and later runs
// count it in their window.
func TestLateDatapoint(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Minute, 3 * time.Minute /* as late as the default lag allows */} {
		t.Run(delay.String(), func(t *testing.T) {
			items := []rulestore.Item{running("app", 5, at("08:00:00"))}
			m := newMetrics(time.Minute, delay)
			m.request(tgDim("app"), at("10:00:40"), 1) // one request after a long silence
			readableAt := at("10:01:00").Add(delay)
			var later, counted, idleAfter int
			for now := at("10:00:20"); now.Before(at("10:12:00")); now = now.Add(time.Minute) {
				d := m.run(t, items, now, idle.Config{}, 0)[0]
				inWindow := !d.WindowEnd.Before(at("10:01:00")) && !d.WindowStart.After(at("10:00:00"))
				switch {
				case now.Before(readableAt):
					// Not readable yet: its period is after every
					// window judged so far, so a stop now rests on
					// a whole window of silence before it.
					if d.WindowEnd.After(at("10:00:00")) {
						t.Errorf("%s: the window [%s, %s) covers the request's period before it is readable", now.Format(time.TimeOnly),
							d.WindowStart.Format(time.TimeOnly), d.WindowEnd.Format(time.TimeOnly))
					}
				case inWindow:
					counted++
					if d.Idle || d.Requests != 1 {
						t.Errorf("%s: %+v, want the request counted in the window", now.Format(time.TimeOnly), d)
					}
				case d.WindowEnd.Before(at("10:01:00")):
					later++
					if d.Idle || d.Requests != 0 || d.LaterRequests != 1 {
						t.Errorf("%s: %+v, want the readable request after the window to keep the rule running", now.Format(time.TimeOnly), d)
					}
				default: // the window has moved past the request
					idleAfter++
					if !d.Idle {
						t.Errorf("%s: %+v, want idle once the window has moved past the request", now.Format(time.TimeOnly), d)
					}
				}
			}
			// Readable within the lag: kept running by it first, for
			// as many runs as it was early.
			if wantLater := int((idle.DefaultLag - delay) / time.Minute); later != wantLater || counted != 5 || idleAfter == 0 {
				t.Errorf("%d runs kept by the request after the window (want %d), %d counting it in the window (want 5), %d idle after",
					later, wantLater, counted, idleAfter)
			}
		})
	}
}
