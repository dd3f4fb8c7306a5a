package localalb

import (
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// TestMetricsOnLocalBackend: requests through the front to two Lambda
// target groups (and one fixed response) become AWS/ApplicationELB
// RequestCount datapoints in kumo's CloudWatch, published by the
// publisher's own loop (period 1 s), that GetMetricData returns per target
// group with the right Sum per period: at Period 1 one value per second
// with requests, at Period 60 the minute's Sum. The publisher's clock is
// set by the test so the requests fall in known seconds of one minute.
func TestMetricsOnLocalBackend(t *testing.T) {
	ctx := t.Context()
	seeded := localawstest.StartSeeded(t, "test")
	b, cfg, env := seeded.Backend, seeded.Direct, seeded.Env

	bin := localawstest.BuildFunction(t, "./testdata/albecho")
	if err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: "alb-echo", TimeoutSec: 10, MemoryMB: 128}, bin); err != nil {
		t.Fatal(err)
	}
	fnARN := "arn:aws:lambda:" + cfg.Region + ":000000000000:function:alb-echo"

	api := elbv2.NewFromConfig(cfg)
	lb, err := api.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("metrics-test"), Type: types.LoadBalancerTypeEnumApplication, Scheme: types.LoadBalancerSchemeEnumInternetFacing,
		Subnets: env.SubnetIDs, SecurityGroups: []string{env.WebSGID},
	})
	if err != nil {
		t.Fatalf("create load balancer: %v", err)
	}
	lbARN := aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	lambdaTG := func(name string) string {
		t.Helper()
		tg, err := api.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(name), TargetType: types.TargetTypeEnumLambda})
		if err != nil {
			t.Fatalf("create target group %s: %v", name, err)
		}
		arn := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
		allowELB(t, lambda.NewFromConfig(cfg), fnARN, arn)
		if _, err := api.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn),
			Targets: []types.TargetDescription{{Id: aws.String(fnARN)}}}); err != nil {
			t.Fatalf("register %s: %v", fnARN, err)
		}
		return arn
	}
	tgA, tgB := lambdaTG("metrics-a"), lambdaTG("metrics-b")
	l, err := api.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgA)}}})
	if err != nil {
		t.Fatalf("create listener: %v", err)
	}
	for _, r := range []elbv2.CreateRuleInput{
		{Priority: aws.Int32(10), Conditions: []types.RuleCondition{{Field: aws.String("host-header"),
			HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"b.example.test"}}}},
			Actions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(tgB)}}},
		{Priority: aws.Int32(20), Conditions: []types.RuleCondition{{Field: aws.String("host-header"),
			HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"fixed.example.test"}}}},
			Actions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
				StatusCode: aws.String("200"), MessageBody: aws.String("fixed")}}}},
	} {
		r.ListenerArn = l.Listeners[0].ListenerArn
		if _, err := api.CreateRule(ctx, &r); err != nil {
			t.Fatalf("create rule %d: %v", aws.ToInt32(r.Priority), err)
		}
	}

	// Two seconds of one minute, two minutes ago.
	minute := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Minute)
	t0 := minute.Add(10 * time.Second)
	var clockMu sync.Mutex
	clock := t0
	setClock := func(t time.Time) { clockMu.Lock(); clock = t; clockMu.Unlock() }
	now := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }

	cw := cloudwatch.NewFromConfig(cfg)
	pub, err := NewMetricsPublisher(cw, MetricsConfig{LoadBalancerARN: lbARN, Period: time.Second, Now: now, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	front, err := New(NewClients(cfg), Config{LoadBalancerARN: lbARN, Observer: pub, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, front)

	send := func(host string, n int) {
		t.Helper()
		for range n {
			req, err := http.NewRequestWithContext(ctx, "GET", srv.URL()+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("Host %s: status %d", host, resp.StatusCode)
			}
		}
	}
	send("a.example.test", 3)
	setClock(t0.Add(2 * time.Second))
	send("a.example.test", 2)
	send("b.example.test", 1)
	send("fixed.example.test", 4) // not forwarded: not counted
	setClock(t0.Add(5 * time.Second))

	dims := func(tg string) []cwtypes.Dimension {
		lbDim, _ := loadBalancerDimension(lbARN)
		tgDim, _ := targetGroupDimension(tg)
		return []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String(lbDim)}, {Name: aws.String("TargetGroup"), Value: aws.String(tgDim)}}
	}
	query := func(id, tg string, period int32) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(MetricsNamespace), MetricName: aws.String(RequestCountMetric), Dimensions: dims(tg)},
			Period: aws.Int32(period), Stat: aws.String("Sum"),
		}}
	}
	type series struct {
		Timestamps []time.Time
		Values     []float64
	}
	want := map[string]series{
		"a1":  {[]time.Time{t0.Add(2 * time.Second), t0}, []float64{2, 3}},
		"a60": {[]time.Time{minute}, []float64{5}},
		"b60": {[]time.Time{minute}, []float64{1}},
	}
	var got map[string]series
	// The publisher's loop publishes within about a second (its period);
	// no Close needed.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(minute), EndTime: aws.Time(minute.Add(time.Minute)),
			MetricDataQueries: []cwtypes.MetricDataQuery{query("a1", tgA, 1), query("a60", tgA, 60), query("b60", tgB, 60)},
		})
		if err != nil {
			t.Fatalf("GetMetricData: %v", err)
		}
		got = map[string]series{}
		for _, r := range out.MetricDataResults {
			s := series{Values: r.Values}
			for _, ts := range r.Timestamps {
				s.Timestamps = append(s.Timestamps, ts.UTC())
			}
			got[aws.ToString(r.Id)] = s
		}
		if reflect.DeepEqual(got, want) || time.Now().After(deadline) {
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetMetricData:\n got  %+v\n want %+v", got, want)
	}
}
