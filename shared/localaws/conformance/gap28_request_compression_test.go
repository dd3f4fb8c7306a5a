package conformance

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 28: a request body sent with `Content-Encoding: gzip` is decompressed
// before the operation reads it. The SDKs gzip the body of an operation with
// the requestCompression trait (CloudWatch PutMetricData) once it reaches
// RequestMinCompressSizeBytes (10240 by default, so a PutMetricData of many
// datums is compressed); the stored datapoints are the same as without
// compression.
//
// A client with RequestMinCompressSizeBytes 1 (every PutMetricData gzipped),
// one with the SDK's default threshold sending enough datums to cross it,
// and one with compression disabled each put datapoints on metrics of their
// own; GetMetricData reads back the Sum of each. The datums carry no
// Timestamp and the check adds up the values of every period returned, so
// the test depends on no other gap (26): the uncompressed client passes on
// kumo v0.33.1 too.
func TestGap28RequestCompressionGzip(t *testing.T) {
	ctx := t.Context()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}

	const (
		ns     = "Gap28"
		metric = "Requests"
	)
	start := time.Now().UTC().Truncate(time.Minute).Add(-5 * time.Minute)
	dims := func(client string, i int) []cwtypes.Dimension {
		return []cwtypes.Dimension{
			{Name: aws.String("Client"), Value: aws.String(client)},
			{Name: aws.String("Target"), Value: aws.String(fmt.Sprintf("target-%d", i))},
		}
	}

	cases := []struct {
		name     string
		opts     func(*cloudwatch.Options)
		targets  int     // metrics (one per Target dimension), two datums each
		value    float64 // of each datum; a second datum per target has 2*value
		encoding string  // Content-Encoding the SDK sends
	}{
		{"uncompressed", func(o *cloudwatch.Options) { o.DisableRequestCompression = true }, 3, 1, ""},
		{"gzip-min-1", func(o *cloudwatch.Options) { o.RequestMinCompressSizeBytes = 1 }, 3, 1, "gzip"},
		// The SDK default (10 KiB): 150 datums of two dimensions are over it.
		{"gzip-default", func(o *cloudwatch.Options) { o.RequestMinCompressSizeBytes = 10240 }, 75, 5, "gzip"},
	}
	for _, c := range cases {
		rec := &gap28Recorder{next: cfg.HTTPClient}
		cw := cloudwatch.NewFromConfig(cfg, c.opts, func(o *cloudwatch.Options) { o.HTTPClient = rec })

		var data []cwtypes.MetricDatum
		for i := range c.targets {
			for _, v := range []float64{c.value, 2 * c.value} {
				data = append(data, cwtypes.MetricDatum{
					MetricName: aws.String(metric), Dimensions: dims(c.name, i),
					Value: aws.Float64(v), Unit: cwtypes.StandardUnitCount,
				})
			}
		}
		_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: data})
		if got := rec.encodings(); !reflect.DeepEqual(got, []string{c.encoding}) {
			t.Fatalf("%s: PutMetricData sent Content-Encoding %q, want [%q]: the test does not exercise what it claims", c.name, got, c.encoding)
		}
		if err != nil {
			t.Errorf("%s: PutMetricData of %d datums (Content-Encoding %q): %v", c.name, len(data), c.encoding, err)
			continue
		}

		// Read back the first and the last target: Sum = value + 2*value.
		var queries []cwtypes.MetricDataQuery
		for _, i := range []int{0, c.targets - 1} {
			queries = append(queries, cwtypes.MetricDataQuery{
				Id: aws.String(fmt.Sprintf("t%d", i)),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(metric), Dimensions: dims(c.name, i)},
					Period: aws.Int32(60), Stat: aws.String("Sum"),
				},
			})
		}
		out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(start), EndTime: aws.Time(time.Now().Add(time.Minute)),
			MetricDataQueries: queries,
		})
		if err != nil {
			t.Errorf("%s: GetMetricData: %v", c.name, err)
			continue
		}
		want := 3 * c.value
		if len(out.MetricDataResults) != len(queries) {
			t.Errorf("%s: GetMetricData returned %d results, want %d", c.name, len(out.MetricDataResults), len(queries))
		}
		for _, r := range out.MetricDataResults {
			var sum float64
			for _, v := range r.Values {
				sum += v
			}
			if len(r.Values) == 0 || sum != want {
				t.Errorf("%s: query %s, Period 60, Sum: got values %v (timestamps %v), want a total of %v", c.name, aws.ToString(r.Id), r.Values, r.Timestamps, want)
			}
		}
	}
}

// gap28Recorder records the Content-Encoding of every PutMetricData request
// the SDK sends.
type gap28Recorder struct {
	next aws.HTTPClient
	mu   sync.Mutex
	got  []string
}

func (r *gap28Recorder) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/PutMetricData") || req.Header.Get("X-Amz-Target") == "GraniteServiceVersion20100801.PutMetricData" ||
		strings.Contains(req.URL.RawQuery, "Action=PutMetricData") {
		r.mu.Lock()
		r.got = append(r.got, req.Header.Get("Content-Encoding"))
		r.mu.Unlock()
	}

	return r.next.Do(req)
}

func (r *gap28Recorder) encodings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()

	return append([]string(nil), r.got...)
}
