package localalb

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

const (
	testMetricsLB  = "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/demo/50dc6c495c0c9188"
	testMetricsTG1 = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/proxy/73e2d6bc24d8a067"
	testMetricsTG2 = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/rule-1/943f017f100becff"
)

// put is one datapoint the fake CloudWatch received.
type put struct {
	Namespace, Metric, LoadBalancer, TargetGroup, Unit string
	Start                                              string // the datapoint's timestamp, 15:04:05
	Value                                              float64
	HighResolution                                     bool
	Datums                                             int // datums in the call
}

// fakeCloudWatch records PutMetricData calls; fail returns the error for
// the nth call (from 1), nil to succeed.
type fakeCloudWatch struct {
	mu    sync.Mutex
	calls int
	puts  []put
	fail  func(n int) error
}

func (f *fakeCloudWatch) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		if err := f.fail(f.calls); err != nil {
			return nil, err
		}
	}
	d := in.MetricData[0]
	dims := map[string]string{}
	for _, x := range d.Dimensions {
		dims[aws.ToString(x.Name)] = aws.ToString(x.Value)
	}
	if len(dims) != 2 {
		return nil, errors.New("want exactly the LoadBalancer and TargetGroup dimensions")
	}
	f.puts = append(f.puts, put{
		Namespace: aws.ToString(in.Namespace), Metric: aws.ToString(d.MetricName),
		LoadBalancer: dims["LoadBalancer"], TargetGroup: dims["TargetGroup"], Unit: string(d.Unit),
		Start: aws.ToTime(d.Timestamp).UTC().Format(time.TimeOnly), Value: aws.ToFloat64(d.Value),
		HighResolution: aws.ToInt32(d.StorageResolution) == 1, Datums: len(in.MetricData),
	})
	return &cloudwatch.PutMetricDataOutput{}, nil
}

func (f *fakeCloudWatch) recorded() []put {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]put(nil), f.puts...)
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// want is a datapoint as the ALB would publish it for the test load
// balancer.
func want(tg, start string, v float64) put {
	return put{Namespace: "AWS/ApplicationELB", Metric: "RequestCount", LoadBalancer: "app/demo/50dc6c495c0c9188",
		TargetGroup: tg, Unit: "Count", Start: start, Value: v, Datums: 1}
}

func TestMetricsPublisher(t *testing.T) {
	const (
		tg1 = "targetgroup/proxy/73e2d6bc24d8a067"
		tg2 = "targetgroup/rule-1/943f017f100becff"
	)
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	at := func(s string) time.Time {
		c, err := time.Parse(time.TimeOnly, s)
		if err != nil {
			panic(err)
		}
		return day.Add(c.Sub(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)))
	}
	lambda := func(arn string) Observation {
		return Observation{TargetGroupARN: arn, TargetType: types.TargetTypeEnumLambda, Status: 200}
	}
	instance := func(arn string, status int) Observation {
		return Observation{TargetGroupARN: arn, TargetType: types.TargetTypeEnumInstance, Status: status}
	}
	notForwarded := Observation{Status: 301}

	// step: set the clock, observe, then (flush) Flush or (close) Close.
	type step struct {
		at      string
		observe []Observation
		flush   bool
		close   bool
	}
	tests := []struct {
		name   string
		period time.Duration
		delay  time.Duration
		fail   func(n int) error
		steps  []step
		want   []put
		errs   int // steps whose Flush or Close returned an error
	}{
		{
			name: "one Sum per minute and target group, after the minute",
			steps: []step{
				{at: "12:00:05", observe: []Observation{lambda(testMetricsTG1), lambda(testMetricsTG1), instance(testMetricsTG2, 200)}},
				{at: "12:00:59", observe: []Observation{lambda(testMetricsTG1), notForwarded}, flush: true},
				{at: "12:01:00", flush: true},
			},
			want: []put{want(tg1, "12:00:00", 3), want(tg2, "12:00:00", 1)},
		},
		{
			name: "nothing for a minute without requests; redirects and fixed responses not counted",
			steps: []step{
				{at: "12:00:10", observe: []Observation{lambda(testMetricsTG1)}},
				{at: "12:01:30", observe: []Observation{notForwarded, notForwarded}},
				{at: "12:02:00", observe: []Observation{instance(testMetricsTG2, 503), lambda(testMetricsTG1)}},
				{at: "12:04:00", flush: true},
			},
			want: []put{want(tg1, "12:00:00", 1), want(tg1, "12:02:00", 1), want(tg2, "12:02:00", 1)},
		},
		{
			name: "each minute published once",
			steps: []step{
				{at: "12:00:10", observe: []Observation{lambda(testMetricsTG1)}},
				{at: "12:01:10", observe: []Observation{lambda(testMetricsTG1), lambda(testMetricsTG1)}, flush: true},
				{at: "12:02:10", flush: true},
				{at: "12:03:10", flush: true},
			},
			want: []put{want(tg1, "12:00:00", 1), want(tg1, "12:01:00", 2)},
		},
		{
			name: "Close publishes the minute under way",
			steps: []step{
				{at: "12:00:10", observe: []Observation{lambda(testMetricsTG1)}},
				{at: "12:01:10", observe: []Observation{lambda(testMetricsTG2)}, close: true},
				{at: "12:01:20", observe: []Observation{lambda(testMetricsTG2)}, close: true}, // ignored after Close
			},
			want: []put{want(tg1, "12:00:00", 1), want(tg2, "12:01:00", 1)},
		},
		{
			name:   "a short period is high-resolution",
			period: time.Second,
			steps: []step{
				{at: "12:00:00", observe: []Observation{lambda(testMetricsTG1)}},
				{at: "12:00:01", observe: []Observation{lambda(testMetricsTG1), lambda(testMetricsTG1)}},
				{at: "12:00:03", observe: []Observation{lambda(testMetricsTG1)}, flush: true},
			},
			want: func() []put {
				a, b := want(tg1, "12:00:00", 1), want(tg1, "12:00:01", 2)
				a.HighResolution, b.HighResolution = true, true
				return []put{a, b}
			}(),
		},
		{
			name:  "a publish delay holds a period back until it has passed",
			delay: 90 * time.Second,
			steps: []step{
				{at: "12:00:10", observe: []Observation{lambda(testMetricsTG1)}},
				{at: "12:01:10", observe: []Observation{lambda(testMetricsTG1)}, flush: true},
				{at: "12:02:29", flush: true},
				{at: "12:02:30", flush: true},
			},
			want: []put{want(tg1, "12:00:00", 1)},
		},
		{
			name: "a failed datapoint is tried again at the next flush",
			fail: func(n int) error {
				if n == 1 {
					return errors.New("throttled")
				}
				return nil
			},
			steps: []step{
				{at: "12:00:10", observe: []Observation{lambda(testMetricsTG1)}},
				{at: "12:01:00", flush: true},
				{at: "12:02:00", flush: true},
			},
			want: []put{want(tg1, "12:00:00", 1)},
			errs: 1,
		},
		{
			name: "dropped after three attempts",
			fail: func(n int) error { return errors.New("down") },
			steps: []step{
				{at: "12:00:10", observe: []Observation{lambda(testMetricsTG1)}},
				{at: "12:01:00", flush: true},
				{at: "12:02:00", flush: true},
				{at: "12:03:00", flush: true},
				{at: "12:04:00", flush: true},
			},
			errs: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cw := &fakeCloudWatch{fail: tt.fail}
			clock := &fakeClock{now: at("11:59:59")}
			p, err := NewMetricsPublisher(cw, MetricsConfig{LoadBalancerARN: testMetricsLB, Period: tt.period, PublishDelay: tt.delay, Now: clock.Now, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			errs := 0
			for _, s := range tt.steps {
				clock.set(at(s.at))
				for _, o := range s.observe {
					p.ObserveRequest(o)
				}
				if s.flush && p.Flush(t.Context()) != nil {
					errs++
				}
				if s.close && p.Close() != nil {
					errs++
				}
			}
			if got := cw.recorded(); !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("published\n %+v\nwant\n %+v", got, tt.want)
			}
			if errs != tt.errs {
				t.Errorf("%d flushes failed, want %d", errs, tt.errs)
			}
		})
	}
}

// TestMetricsPublisherPublishesEachPeriod runs the publisher's own loop on
// the real clock with a short period.
func TestMetricsPublisherPublishesEachPeriod(t *testing.T) {
	cw := &fakeCloudWatch{}
	p, err := NewMetricsPublisher(cw, MetricsConfig{LoadBalancerARN: testMetricsLB, Period: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.ObserveRequest(Observation{TargetGroupARN: testMetricsTG1})
	p.ObserveRequest(Observation{TargetGroupARN: testMetricsTG1})
	deadline := time.Now().Add(2 * time.Second)
	for len(cw.recorded()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := cw.recorded()
	var sum float64
	for _, x := range got {
		sum += x.Value
	}
	if len(got) == 0 || sum != 2 {
		t.Fatalf("published %+v without Close, want the two requests", got)
	}
}

func TestMetricsPublisherConfig(t *testing.T) {
	for _, arn := range []string{"", "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x/1", "app/demo/1"} {
		if _, err := NewMetricsPublisher(&fakeCloudWatch{}, MetricsConfig{LoadBalancerARN: arn}); err == nil {
			t.Errorf("LoadBalancerARN %q accepted", arn)
		}
	}
	if _, err := NewMetricsPublisher(nil, MetricsConfig{LoadBalancerARN: testMetricsLB}); err == nil {
		t.Error("no CloudWatch client accepted")
	}

	cw := &fakeCloudWatch{}
	p, err := NewMetricsPublisher(cw, MetricsConfig{LoadBalancerARN: testMetricsLB})
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.Period != time.Minute || p.cfg.PublishTimeout != DefaultPublishTimeout || p.cfg.PublishAttempts != 3 {
		t.Errorf("defaults: %+v", p.cfg)
	}
	p.ObserveRequest(Observation{TargetGroupARN: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/demo/1"})
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cw.recorded(); len(got) != 0 {
		t.Errorf("a request to a malformed target group ARN was published: %+v", got)
	}
}
