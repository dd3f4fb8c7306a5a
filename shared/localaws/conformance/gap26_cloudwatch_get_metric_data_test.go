package conformance

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 26: GetMetricData answers each MetricDataQuery with one
// MetricDataResult (same Id, its Label, StatusCode Complete) holding one
// value per Period (the Stat over the datapoints of the metric with exactly
// the query's dimensions whose timestamp falls in that period), only for
// periods that have data, newest first (ScanBy TimestampDescending, the
// default) or oldest first (TimestampAscending). Periods start at
// StartTime (rounded down to the minute); EndTime is exclusive.
//
// This is what the idle watcher relies on to read an ALB's RequestCount per
// target group: a missing period is zero requests, the Sum of a period is
// the requests in it whatever number of PutMetricData calls carried them.
func TestGap26CloudWatchGetMetricData(t *testing.T) {
	ctx := t.Context()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewFromConfig(cfg)

	const (
		ns     = "AWS/ApplicationELB"
		metric = "RequestCount"
		lb     = "app/gap26/0123456789abcdef"
	)
	tgA, tgB, tgC := "targetgroup/gap26-a/1111111111111111", "targetgroup/gap26-b/2222222222222222", "targetgroup/gap26-c/3333333333333333"
	// Six whole minutes m(0) … m(5) ending a few minutes ago: CloudWatch
	// accepts datapoints up to two weeks old.
	base := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	m := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	dims := func(tg string) []cwtypes.Dimension {
		if tg == "" { // the load balancer's own RequestCount, as the ALB also publishes it
			return []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String(lb)}}
		}
		return []cwtypes.Dimension{
			{Name: aws.String("LoadBalancer"), Value: aws.String(lb)},
			{Name: aws.String("TargetGroup"), Value: aws.String(tg)},
		}
	}
	// Datapoints without a Timestamp (now): two calls in this minute are
	// one period with their Sum. (Checked first: unpatched kumo accepts no
	// Timestamp through the SDK's protocol.)
	if s := time.Now().Second(); s >= 57 {
		time.Sleep(time.Duration(61-s) * time.Second)
	}
	nowTG := "targetgroup/gap26-now/4444444444444444"
	for range 2 {
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
			Namespace: aws.String(ns),
			MetricData: []cwtypes.MetricDatum{{
				MetricName: aws.String(metric), Dimensions: dims(nowTG), Value: aws.Float64(1), Unit: cwtypes.StandardUnitCount,
			}},
		}); err != nil {
			t.Fatalf("PutMetricData without a Timestamp: %v", err)
		}
	}
	thisMinute := time.Now().UTC().Truncate(time.Minute)
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(thisMinute.Add(-2 * time.Minute)), EndTime: aws.Time(thisMinute.Add(time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("now"), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric), Dimensions: dims(nowTG)},
			Period: aws.Int32(60), Stat: aws.String("Sum"),
		}}},
	})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	if len(out.MetricDataResults) != 1 || !reflect.DeepEqual(out.MetricDataResults[0].Values, []float64{2}) ||
		len(out.MetricDataResults[0].Timestamps) != 1 || !out.MetricDataResults[0].Timestamps[0].Equal(thisMinute) {
		for _, r := range out.MetricDataResults {
			t.Errorf("two datapoints this minute, Period 60, Sum: got timestamps %v, values %v; want [%s], [2]", r.Timestamps, r.Values, thisMinute.Format(time.TimeOnly))
		}
		if len(out.MetricDataResults) != 1 {
			t.Errorf("got %d results, want 1", len(out.MetricDataResults))
		}
	}

	put := func(tg string, at time.Time, v float64) {
		t.Helper()
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{
			Namespace: aws.String(ns),
			MetricData: []cwtypes.MetricDatum{{
				MetricName: aws.String(metric), Dimensions: dims(tg),
				Timestamp: aws.Time(at), Value: aws.Float64(v), Unit: cwtypes.StandardUnitCount,
			}},
		}); err != nil {
			t.Fatalf("PutMetricData %s %s %v: %v", tg, at.Format(time.TimeOnly), v, err)
		}
	}
	put(tgA, m(0), 3)
	put(tgA, m(0), 4) // two calls in one minute: Sum 7
	put(tgA, m(2).Add(10*time.Second), 5)
	put(tgA, m(2).Add(50*time.Second), 1) // two timestamps in one minute: Sum 6
	put(tgA, m(4), 2)
	put(tgA, m(0).Add(-time.Minute), 50) // before StartTime
	put(tgA, m(6), 60)                   // at EndTime, which is exclusive
	put(tgB, m(1), 9)
	put("", m(0), 100) // fewer dimensions: another metric
	put("", m(3), 100)

	query := func(id, tg string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{
			Id:    aws.String(id),
			Label: aws.String(tg),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric), Dimensions: dims(tg)},
				Period: aws.Int32(60),
				Stat:   aws.String("Sum"),
			},
		}
	}
	type result struct {
		Label      string
		Timestamps []time.Time
		Values     []float64
		Status     cwtypes.StatusCode
	}
	get := func(scanBy cwtypes.ScanBy) map[string]result {
		t.Helper()
		out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			StartTime:         aws.Time(m(0)),
			EndTime:           aws.Time(m(6)),
			ScanBy:            scanBy,
			MetricDataQueries: []cwtypes.MetricDataQuery{query("a", tgA), query("b", tgB), query("c", tgC)},
		})
		if err != nil {
			t.Fatalf("GetMetricData (ScanBy %q): %v", scanBy, err)
		}
		got := map[string]result{}
		for _, r := range out.MetricDataResults {
			ts := make([]time.Time, len(r.Timestamps))
			for i, x := range r.Timestamps {
				ts[i] = x.UTC()
			}
			got[aws.ToString(r.Id)] = result{aws.ToString(r.Label), ts, r.Values, r.StatusCode}
		}
		if len(out.MetricDataResults) != 3 || len(got) != 3 {
			t.Errorf("ScanBy %q: %d results with ids %v, want one per query (a, b, c)", scanBy, len(out.MetricDataResults), gap26Keys(got))
		}
		return got
	}

	want := map[string]result{
		"a": {tgA, []time.Time{m(4), m(2), m(0)}, []float64{2, 6, 7}, cwtypes.StatusCodeComplete},
		"b": {tgB, []time.Time{m(1)}, []float64{9}, cwtypes.StatusCodeComplete},
		"c": {tgC, []time.Time{}, []float64{}, cwtypes.StatusCodeComplete},
	}
	check := func(scanBy cwtypes.ScanBy, got, want map[string]result) {
		t.Helper()
		for id, w := range want {
			g := got[id]
			if g.Timestamps == nil {
				g.Timestamps = []time.Time{}
			}
			if g.Values == nil {
				g.Values = []float64{}
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("ScanBy %q, query %s:\n got  %s\n want %s", scanBy, id, gap26Show(g.Label, g.Timestamps, g.Values, g.Status), gap26Show(w.Label, w.Timestamps, w.Values, w.Status))
			}
		}
	}
	check("", get(""), want)

	asc := map[string]result{}
	for id, r := range want {
		r.Timestamps, r.Values = gap26Reversed(r.Timestamps), gap26Reversed(r.Values)
		asc[id] = r
	}
	check(cwtypes.ScanByTimestampAscending, get(cwtypes.ScanByTimestampAscending), asc)
}

func gap26Show(label string, ts []time.Time, vs []float64, status cwtypes.StatusCode) string {
	s := make([]string, len(ts))
	for i, x := range ts {
		s[i] = x.Format(time.TimeOnly)
	}
	return fmt.Sprintf("label %s, status %s, timestamps %v, values %v", label, status, s, vs)
}

func gap26Reversed[T any](s []T) []T {
	out := make([]T, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

func gap26Keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
