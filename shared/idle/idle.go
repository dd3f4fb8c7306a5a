package idle

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autostop/autostop/shared/rulestore"
)

// The metric a rule is judged by, as the Application Load Balancer publishes
// it (and shared/localalb's front locally).
const (
	Namespace             = "AWS/ApplicationELB"
	MetricName            = "RequestCount"
	LoadBalancerDimension = "LoadBalancer"
	TargetGroupDimension  = "TargetGroup"
	// Stat: a datapoint is the number of requests of its period.
	Stat = "Sum"
)

// MaxQueriesPerCall is CloudWatch's limit of MetricDataQueries in one
// GetMetricData call.
const MaxQueriesPerCall = 500

// Defaults of Config.
const (
	// DefaultLag: CloudWatch makes the ALB's RequestCount of a minute
	// readable a minute or two after the minute ends; 3 minutes leaves a
	// margin. See the package documentation for what it guards and costs.
	DefaultLag = 3 * time.Minute
	// DefaultPeriod is the ALB's: one datapoint per minute.
	DefaultPeriod = time.Minute
	// DefaultIdleUnit: a rule's idleMinutes are minutes.
	DefaultIdleUnit = time.Minute
)

// Config configures the idle decision. The zero value is AWS's: every zero
// field takes its default.
type Config struct {
	// Lag is how long before now the idle window ends: the part of the
	// recent past the watcher does not judge because CloudWatch may not
	// have published it yet. It must be at least CloudWatch's publication
	// delay (from a period's end to its datapoint being readable), or a
	// rule can be stopped while traffic flows; every sleep costs it in
	// instance time (a rule runs idleMinutes + Lag after its last
	// request, at least). Default DefaultLag (3 minutes).
	Lag time.Duration
	// Period is the length of one datapoint, the MetricStat's Period, and
	// what window bounds are aligned to. Default DefaultPeriod (60 s, the
	// ALB's); shorter only on the local backend, whose front can publish
	// shorter periods (shared/localalb MetricsConfig.Period). Whole seconds.
	Period time.Duration
	// IdleUnit is what one of a rule's idleMinutes lasts. Default
	// DefaultIdleUnit (a minute); the local backend shortens it to see a
	// rule go to sleep within seconds.
	IdleUnit time.Duration
}

// WithDefaults returns the configuration with its zero (or negative)
// fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Lag <= 0 {
		c.Lag = DefaultLag
	}
	if c.Period < time.Second {
		c.Period = DefaultPeriod
	}
	c.Period = c.Period.Truncate(time.Second)
	if c.IdleUnit <= 0 {
		c.IdleUnit = DefaultIdleUnit
	}

	return c
}

// Window returns the idle window of a running rule at now: it ends Lag
// before now, aligned down to the period, and spans the rule's idleMinutes.
// ok is false, and the rule is not to be judged, when the rule is not
// running or has no idleMinutes, or when the window would start before its
// readyAt aligned up to the period (the rule has not run for idleMinutes +
// Lag since traffic was switched to it); start and end then bound the part
// of the window the rule has run for (start == end when none).
func Window(it rulestore.Item, now time.Time, cfg Config) (start, end time.Time, ok bool) {
	w := window(it, now, cfg.WithDefaults())

	return w.start, w.end, w.reason == ""
}

// span is a rule's window and, when it is not to be judged, why.
type span struct {
	start, end time.Time
	reason     string // empty: judged
}

func window(it rulestore.Item, now time.Time, cfg Config) span {
	if it.State != rulestore.Running {
		return span{reason: fmt.Sprintf("not running (state %s): only running rules go to sleep", orNone(string(it.State)))}
	}
	if it.Rule.IdleMinutes <= 0 {
		return span{reason: fmt.Sprintf("idleMinutes is %d: the rule has no idle time", it.Rule.IdleMinutes)}
	}
	if it.ReadyAt.IsZero() {
		return span{reason: "running without readyAt: when it started serving is unknown"}
	}
	end := now.Add(-cfg.Lag).Truncate(cfg.Period)
	// Aligned down too, for an IdleUnit that is not a whole number of
	// periods (local timings): the window covers whole periods, at least
	// idleMinutes.
	start := end.Add(-time.Duration(it.Rule.IdleMinutes) * cfg.IdleUnit).Truncate(cfg.Period)
	ready := alignUp(it.ReadyAt, cfg.Period)
	if start.Before(ready) {
		earliest := ready.Add(end.Sub(start)).Add(cfg.Lag)
		w := span{start: ready, end: end}
		if ready.After(end) {
			w.start = end
		}
		w.reason = fmt.Sprintf("not idle yet: ready at %s, a window of %s plus the lag of %s is first judged at %s",
			it.ReadyAt.UTC().Format(time.RFC3339), end.Sub(start), cfg.Lag, earliest.UTC().Format(time.RFC3339))

		return w
	}

	return span{start: start, end: end}
}

// alignUp rounds t up to a multiple of d.
func alignUp(t time.Time, d time.Duration) time.Time {
	if down := t.Truncate(d); !down.Equal(t) {
		return down.Add(d)
	}

	return t
}

func orNone(s string) string {
	if s == "" {
		return `""`
	}

	return s
}

// LoadBalancerDimensionValue is the LoadBalancer dimension of a load
// balancer's ARN (arn:…:loadbalancer/app/<name>/<id>): app/<name>/<id>.
func LoadBalancerDimensionValue(arn string) (string, error) {
	_, suffix, ok := strings.Cut(arn, ":loadbalancer/")
	if !ok || !strings.HasPrefix(arn, "arn:") || !strings.HasPrefix(suffix, "app/") || !twoPartsAfter(suffix, "app/") {
		return "", fmt.Errorf("%q is not an application load balancer ARN (arn:…:loadbalancer/app/<name>/<id>)", arn)
	}

	return suffix, nil
}

// TargetGroupDimensionValue is the TargetGroup dimension of a target group
// ARN (arn:…:targetgroup/<name>/<id>): targetgroup/<name>/<id>.
func TargetGroupDimensionValue(arn string) (string, error) {
	_, suffix, ok := strings.Cut(arn, ":targetgroup/")
	if !ok || !strings.HasPrefix(arn, "arn:") || !twoPartsAfter(suffix, "") {
		return "", fmt.Errorf("%q is not a target group ARN (arn:…:targetgroup/<name>/<id>)", arn)
	}

	return "targetgroup/" + suffix, nil
}

// twoPartsAfter: s is prefix + "<name>/<id>", neither empty.
func twoPartsAfter(s, prefix string) bool {
	name, id, ok := strings.Cut(strings.TrimPrefix(s, prefix), "/")

	return ok && name != "" && id != "" && !strings.Contains(id, "/")
}

// QueryID is the Id of the MetricDataQuery of items[i]: "r<i>".
func QueryID(i int) string { return "r" + strconv.Itoa(i) }

// queryIndex is the item index of a QueryID, -1 for another Id.
func queryIndex(id string) int {
	digits, ok := strings.CutPrefix(id, "r")
	if !ok || digits == "" || (len(digits) > 1 && digits[0] == '0') {
		return -1
	}
	i, err := strconv.Atoi(digits)
	if err != nil || i < 0 {
		return -1
	}

	return i
}

// planned is one rule's part in a run: its window and metric, or why it is
// not judged.
type planned struct {
	span
	lb, tg string // dimension values
}

func plan(it rulestore.Item, now time.Time, cfg Config) planned {
	p := planned{span: window(it, now, cfg)}
	if p.reason != "" {
		return p
	}
	var err error
	if p.lb, err = LoadBalancerDimensionValue(it.LoadBalancerARN); err != nil {
		p.reason = "cannot read its metric: load balancer: " + err.Error()

		return p
	}
	if p.tg, err = TargetGroupDimensionValue(it.TargetGroupARN); err != nil {
		p.reason = "cannot read its metric: target group: " + err.Error()
	}

	return p
}

// Batch is one GetMetricData call of a watcher run.
type Batch struct {
	// Input is the call: at most MaxQueriesPerCall queries, one per rule,
	// over a time range covering every query's window and the lag after
	// it. Follow NextToken: a call's datapoints may fill several pages.
	Input *cloudwatch.GetMetricDataInput
	// Items are the indexes, in the items given to Queries, of the rules
	// the call reads, in the order of its queries.
	Items []int
}

// Queries returns the GetMetricData calls that read, at now, the requests
// of every rule of items that is to be judged (running, with a full window
// and well-formed ARNs): one query per rule, Id QueryID(index), at most
// MaxQueriesPerCall per call, as few calls as that allows (see the package
// documentation for how they are grouped). Rules not to be judged get no
// query; Decide says why. Decide must be given the same items, now and cfg.
func Queries(items []rulestore.Item, now time.Time, cfg Config) []Batch {
	cfg = cfg.WithDefaults()
	type query struct {
		i int
		p planned
	}
	var qs []query
	for i, it := range items {
		if p := plan(it, now, cfg); p.reason == "" {
			qs = append(qs, query{i, p})
		}
	}
	// Earliest window first: a call reads from its first query's start,
	// so neighbours of similar idleMinutes share calls.
	slices.SortStableFunc(qs, func(a, b query) int { return a.p.start.Compare(b.p.start) })

	// Up to the end of the current period: the windows and what is
	// already visible after them.
	endTime := now.Truncate(cfg.Period).Add(cfg.Period)
	period := int32(cfg.Period / time.Second)
	var batches []Batch
	for chunk := range slices.Chunk(qs, MaxQueriesPerCall) {
		b := Batch{Input: &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(chunk[0].p.start),
			EndTime:   aws.Time(endTime),
			ScanBy:    cwtypes.ScanByTimestampAscending,
		}}
		for _, q := range chunk {
			b.Items = append(b.Items, q.i)
			b.Input.MetricDataQueries = append(b.Input.MetricDataQueries, cwtypes.MetricDataQuery{
				Id:    aws.String(QueryID(q.i)),
				Label: aws.String(items[q.i].Host),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{
						Namespace:  aws.String(Namespace),
						MetricName: aws.String(MetricName),
						Dimensions: []cwtypes.Dimension{
							{Name: aws.String(LoadBalancerDimension), Value: aws.String(q.p.lb)},
							{Name: aws.String(TargetGroupDimension), Value: aws.String(q.p.tg)},
						},
					},
					Period: aws.Int32(period),
					Stat:   aws.String(Stat),
				},
				ReturnData: aws.Bool(true),
			})
		}
		batches = append(batches, b)
	}

	return batches
}

// Decision is the verdict on one rule.
type Decision struct {
	// Host is the rule's.
	Host string
	// Idle: the rule is to go to sleep.
	Idle bool
	// Requests counted in the window.
	Requests float64
	// LaterRequests already visible after the window (in the lag): not
	// counted in Requests, but any keeps the rule running.
	LaterRequests float64
	// WindowStart and WindowEnd bound the window judged (end exclusive);
	// for a rule not judged, the part of it the rule has run for (zero
	// when it is not running).
	WindowStart, WindowEnd time.Time
	// Reason says why, in words, with the figures.
	Reason string
}

// Decide returns one Decision per item, in order, from the results of every
// call (and every page of every call) Queries returned for the same items,
// now and cfg. A rule is idle when it is to be judged, its query was
// answered completely, and no datapoint at or after its window's start has
// requests; a missing datapoint is zero requests. A rule whose query has no
// result, or only failed or partial ones, is not idle.
func Decide(items []rulestore.Item, results []cwtypes.MetricDataResult, now time.Time, cfg Config) []Decision {
	cfg = cfg.WithDefaults()
	byItem := make(map[int][]cwtypes.MetricDataResult)
	for _, r := range results {
		if i := queryIndex(aws.ToString(r.Id)); i >= 0 && i < len(items) {
			byItem[i] = append(byItem[i], r)
		}
	}

	out := make([]Decision, len(items))
	for i, it := range items {
		p := plan(it, now, cfg)
		d := Decision{Host: it.Host, WindowStart: p.start, WindowEnd: p.end}
		if p.reason != "" {
			d.Reason = p.reason
			out[i] = d

			continue
		}
		rs, ok := byItem[i]
		if !ok {
			d.Reason = "no result for query " + QueryID(i) + ": its requests are unknown"
			out[i] = d

			continue
		}
		complete := false
		var problems []string
		for _, r := range rs {
			switch r.StatusCode {
			// An empty code is taken as complete: the code is always
			// set by CloudWatch, and a result without one has no
			// more pages to wait for.
			case cwtypes.StatusCodeComplete, "":
				complete = true
			case cwtypes.StatusCodePartialData:
			default:
				problem := string(r.StatusCode)
				for _, m := range r.Messages {
					problem += " (" + aws.ToString(m.Code) + ": " + aws.ToString(m.Value) + ")"
				}
				problems = append(problems, problem)
			}
			for k, ts := range r.Timestamps {
				if k >= len(r.Values) || ts.Before(p.start) {
					continue
				}
				if ts.Before(p.end) {
					d.Requests += r.Values[k]
				} else {
					d.LaterRequests += r.Values[k]
				}
			}
		}
		switch {
		case d.Requests > 0:
			d.Reason = fmt.Sprintf("%s requests in the window %s", fmtCount(d.Requests), fmtWindow(p.span))
		case d.LaterRequests > 0:
			d.Reason = fmt.Sprintf("no requests in the window %s, but %s already visible after it (within the lag of %s)",
				fmtWindow(p.span), fmtCount(d.LaterRequests), cfg.Lag)
		case len(problems) > 0:
			d.Reason = fmt.Sprintf("no requests read in the window %s, but the read failed: %s", fmtWindow(p.span), strings.Join(problems, "; "))
		case !complete:
			d.Reason = fmt.Sprintf("no requests read in the window %s, but the data is partial (not every page of the call was read)", fmtWindow(p.span))
		default:
			d.Idle = true
			d.Reason = fmt.Sprintf("idle: no requests in the window %s (%d idle minutes, ending the lag of %s before now)",
				fmtWindow(p.span), it.Rule.IdleMinutes, cfg.Lag)
		}
		out[i] = d
	}

	return out
}

func fmtWindow(w span) string {
	return fmt.Sprintf("[%s, %s)", w.start.UTC().Format(time.RFC3339), w.end.UTC().Format(time.RFC3339))
}

func fmtCount(n float64) string { return strconv.FormatFloat(n, 'f', -1, 64) }
