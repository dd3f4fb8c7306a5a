package statemachine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/localalb"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localdeploy"
	"github.com/autostop/autostop/shared/localworkload"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

// wakeWorld is a world with a provisioned load balancer, the local ALB
// front serving it, and stand-in workloads for its instances: what
// `make up` gives a user after a rule is attached.
type wakeWorld struct {
	*world
	lb        output
	front     string // the front's base URL
	store     *rulestore.Store
	ec2       *ec2.Client
	elb       *elbv2.Client
	addresses *localworkload.Addresses
	supervise *localworkload.Supervisor
}

// wakeWorldOptions tune a wake world.
type wakeWorldOptions struct {
	// metricsDelay holds each RequestCount datapoint back this long after
	// its period, as CloudWatch publishes the ALB's late.
	metricsDelay time.Duration
	// logs, when set, receives kumo's and the functions' logs.
	logs io.Writer
}

func newWakeWorld(t testing.TB, opts ...wakeWorldOptions) *wakeWorld {
	t.Helper()
	var o wakeWorldOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := newWorldWith(t, localaws.Options{Output: o.logs})
	d := w.provision(t, w.sample(t, "route53-existing-certificate"), "provision-wake")
	requireSucceeded(t, d)
	lb := decodeOutput(t, d.Output)

	// The front publishes RequestCount as make up's does (a datapoint per
	// local period): the idle watcher runs in every world.
	period, err := localdeploy.LocalSeconds(app.IdlePeriod)
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := localalb.NewMetricsPublisher(cloudwatch.NewFromConfig(w.cfg), localalb.MetricsConfig{
		LoadBalancerARN: lb.Results.LoadBalancer.ARN, Period: period, PublishDelay: o.metricsDelay,
	})
	if err != nil {
		t.Fatal(err)
	}
	front, err := localalb.New(localalb.NewClients(w.cfg), localalb.Config{
		LoadBalancerARN: lb.Results.LoadBalancer.ARN, CacheTTL: 100 * time.Millisecond, Observer: metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := front.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = metrics.Close() })
	sup := localworkload.NewSupervisor(ec2.NewFromConfig(w.cfg), localworkload.Config{PollInterval: 50 * time.Millisecond})
	done := make(chan struct{})
	go func() { _ = sup.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = srv.Close()
	})

	table, _ := app.Description().Table(app.RulesTable)
	return &wakeWorld{
		world: w, lb: lb, front: srv.URL(),
		store:     rulestore.New(dynamodb.NewFromConfig(w.cfg), table.Name()),
		ec2:       ec2.NewFromConfig(w.cfg),
		elb:       elbv2.NewFromConfig(w.cfg),
		addresses: localworkload.NewRandomAddresses(),
		supervise: sup,
	}
}

// attachStopped makes what AttachRule makes for a rule whose instance is
// stopped: the instance (a stand-in behaving as workload says), the rule's
// instance target group with the instance registered, and the item.
func (ww *wakeWorld) attachStopped(t testing.TB, name string, workload localworkload.Spec, change ...func(*rule.Rule)) rulestore.Item {
	t.Helper()
	ctx := context.Background()
	host := name + "." + ww.lb.Domain

	addr, err := ww.addresses.Next(8080)
	if err != nil {
		t.Fatal(err)
	}
	workload.Address, workload.Ports = addr, []int{8080}
	tags := append(workload.Tags(), ec2types.Tag{Key: aws.String(ownership.RuleKey), Value: aws.String(host)})
	run, err := ww.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-12345678"), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId:          aws.String(ww.env.SubnetIDs[0]),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: tags}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	if err := ec2.NewInstanceRunningWaiter(ww.ec2).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, time.Minute,
		func(o *ec2.InstanceRunningWaiterOptions) { o.MinDelay = 100 * time.Millisecond }); err != nil {
		t.Fatal(err)
	}
	if _, err := ww.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if err := ec2.NewInstanceStoppedWaiter(ww.ec2).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, time.Minute,
		func(o *ec2.InstanceStoppedWaiterOptions) { o.MinDelay = 100 * time.Millisecond }); err != nil {
		t.Fatal(err)
	}

	// Idle "minutes" are seconds on the local backend: long enough that
	// the idle watcher leaves the wake tests' rules running.
	r := rule.Rule{
		Name: name, InstanceIDs: []string{id}, Port: 8080, IdleMinutes: 300,
		HealthCheck: &rule.HealthCheck{Path: "/healthz", IntervalSeconds: 5, TimeoutSeconds: 2, HealthyThresholdCount: 2, UnhealthyThresholdCount: 5},
	}.WithDefaults(ww.lb.Domain)
	for _, c := range change {
		c(&r)
	}
	hc := r.HealthCheck
	tg, err := ww.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("as-" + name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080), VpcId: aws.String(ww.env.VPCID),
		TargetType: elbtypes.TargetTypeEnumInstance, HealthCheckPath: aws.String(hc.Path),
		HealthCheckIntervalSeconds: aws.Int32(int32(hc.IntervalSeconds)), HealthCheckTimeoutSeconds: aws.Int32(int32(hc.TimeoutSeconds)),
		HealthyThresholdCount: aws.Int32(int32(hc.HealthyThresholdCount)), UnhealthyThresholdCount: aws.Int32(int32(hc.UnhealthyThresholdCount)),
		Matcher: &elbtypes.Matcher{HttpCode: aws.String(hc.SuccessCodes)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tgARN := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	if _, err := ww.elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(tgARN), Targets: []elbtypes.TargetDescription{{Id: aws.String(id), Port: aws.Int32(8080)}},
	}); err != nil {
		t.Fatal(err)
	}

	it, err := ww.store.Create(ctx, rulestore.Item{
		Host: host, Rule: r, LoadBalancer: ww.lb.Name, LoadBalancerARN: ww.lb.Results.LoadBalancer.ARN,
		ListenerARN: ww.lb.Results.Listeners.HTTPSListenerARN, TargetGroupARN: tgARN, State: rulestore.Stopped, AttachedBy: "test",
	})
	if err != nil {
		t.Fatal(err)
	}

	return it
}

// get sends a request through the front for host, as a browser would open
// http://<host>.localhost:<port><path>.
func (ww *wakeWorld) get(t testing.TB, method, host, path, accept, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, ww.front+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host + ".localhost"
	req.Header.Set("Accept", accept)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 60 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)

	return resp, string(b)
}

// waitServed sends requests through the front for the rule's host until
// the instance answers (200 naming it), and returns when it did.
func (ww *wakeWorld) waitServed(t testing.TB, it rulestore.Item, accept string) time.Time {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, body := ww.get(t, "GET", it.Host, "/orders?id=1", accept, "")
		if resp.StatusCode == 200 {
			if !strings.Contains(body, it.Rule.InstanceIDs[0]) {
				t.Fatalf("200 not from the instance: %s", body)
			}
			return time.Now()
		}
		if resp.Header.Get("X-Autostop") == "" {
			t.Fatalf("neither the proxy nor the instance answered: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		if time.Now().After(deadline) {
			got, _ := ww.store.Get(context.Background(), it.Host, true)
			t.Fatalf("not switched after 60 s: rule %+v\nlast answer %d %v %.300s\nlistener rules:\n%s\nwake executions:\n%s",
				got, resp.StatusCode, resp.Header, body, ww.listenerRules(got.ListenerARN), ww.wakeExecutions())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// listenerRules lists a listener's rules (priority, hosts, target
// groups), for a failure message: what the front should have matched.
func (ww *wakeWorld) listenerRules(listenerARN string) string {
	if listenerARN == "" {
		return "  (the rule names no listener)"
	}
	out, err := ww.elb.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerARN)})
	if err != nil {
		return "  describe rules: " + err.Error()
	}
	var b strings.Builder
	for _, r := range out.Rules {
		var hosts, tgs []string
		for _, c := range r.Conditions {
			if c.HostHeaderConfig != nil {
				hosts = append(hosts, c.HostHeaderConfig.Values...)
			}
		}
		for _, a := range r.Actions {
			tgs = append(tgs, string(a.Type)+" "+aws.ToString(a.TargetGroupArn))
		}
		fmt.Fprintf(&b, "  %s hosts %v actions %v\n", aws.ToString(r.Priority), hosts, tgs)
	}
	return b.String()
}

// wakeExecutions describes every WakeRule execution and its last events,
// for a failure message: which wake ran, where it stopped.
func (ww *wakeWorld) wakeExecutions() string {
	ctx := context.Background()
	machine := strings.Replace(ww.machine, app.NamePrefix+app.ProvisionLoadBalancer, app.NamePrefix+app.WakeRule, 1)
	list, err := ww.states.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	if err != nil {
		return "  list executions: " + err.Error()
	}
	var b strings.Builder
	for _, e := range list.Executions {
		fmt.Fprintf(&b, "  %s %s (started %s)\n", aws.ToString(e.Name), e.Status, aws.ToTime(e.StartDate).Format(time.StampMilli))
		h, err := ww.states.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: e.ExecutionArn, ReverseOrder: true, MaxResults: 4})
		if err != nil {
			fmt.Fprintf(&b, "    history: %v\n", err)
			continue
		}
		for _, ev := range h.Events {
			fmt.Fprintf(&b, "    %s %s\n", aws.ToTime(ev.Timestamp).Format(time.StampMilli), ev.Type)
		}
	}

	return b.String()
}

// sample is one observation of a host's listener rule and target health.
type healthSample struct {
	at       time.Time
	hostRule bool
	target   elbtypes.TargetHealthStateEnum
}

// watch records, until ctx ends, whether the host rule exists and what the
// target's health is.
func (ww *wakeWorld) watch(ctx context.Context, it rulestore.Item) func() []healthSample {
	var mu sync.Mutex
	var samples []healthSample
	go func() {
		for ctx.Err() == nil {
			th, err1 := ww.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(it.TargetGroupARN)})
			rules, err2 := ww.elb.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(it.ListenerARN)})
			if err1 == nil && err2 == nil && len(th.TargetHealthDescriptions) == 1 {
				s := healthSample{at: time.Now(), target: th.TargetHealthDescriptions[0].TargetHealth.State}
				for _, r := range rules.Rules {
					for _, c := range r.Conditions {
						if c.HostHeaderConfig != nil && len(c.HostHeaderConfig.Values) == 1 && c.HostHeaderConfig.Values[0] == it.Host {
							s.hostRule = true
						}
					}
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	return func() []healthSample {
		mu.Lock()
		defer mu.Unlock()
		return append([]healthSample(nil), samples...)
	}
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

// TestWakeOnFirstRequest: the first browser request to a stopped rule gets
// the progress page and starts exactly one wake; an API request during the
// wake is held and sent back with 307 once switched; the host rule appears
// only once the target is healthy (the stand-in starts slowly); then the
// instance answers through the front. A rule whose health check fails is
// never switched and ends stopped with the reason, which the page shows.
func TestWakeOnFirstRequest(t *testing.T) {
	ww := newWakeWorld(t)
	ctx, stopWatching := context.WithCancel(context.Background())
	defer stopWatching()

	app1 := ww.attachStopped(t, "app", localworkload.Spec{StartupDelay: 1500 * time.Millisecond})
	broken := ww.attachStopped(t, "broken", localworkload.Spec{Health: localworkload.HealthFail})
	samples := ww.watch(ctx, app1)
	brokenSamples := ww.watch(ctx, broken)
	ww.backend.Proxy().Reset()

	// First requests: a browser for each rule.
	start := time.Now()
	for _, it := range []rulestore.Item{app1, broken} {
		resp, body := ww.get(t, "GET", it.Host, "/orders?id=1", browserAccept, "")
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, it.Rule.Name) {
			t.Fatalf("first browser request for %s: %d %v\n%s", it.Host, resp.StatusCode, resp.Header, body)
		}
	}

	// An API client during the wake: held, then 307 (or 503), never HTML.
	var api sync.WaitGroup
	api.Go(func() {
		resp, body := ww.get(t, "POST", app1.Host, "/orders", "application/json", `{"item":1}`)
		switch {
		case strings.Contains(resp.Header.Get("Content-Type"), "html"):
			t.Errorf("API client got HTML: %d %s", resp.StatusCode, body)
		case resp.StatusCode == 307 && resp.Header.Get("Location") == "/orders":
		case resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "":
			t.Logf("API client: 503 after its hold: %s", body)
		default:
			t.Errorf("API client: %d %v %s, want 307 to /orders or 503 with Retry-After", resp.StatusCode, resp.Header, body)
		}
	})

	// The instance answers through the front once switched.
	servedAt := ww.waitServed(t, app1, browserAccept)
	api.Wait()

	// Never a host rule while the target is not healthy.
	var firstHealthy time.Time
	for _, s := range samples() {
		if s.hostRule && s.target != elbtypes.TargetHealthStateEnumHealthy {
			t.Errorf("%s: host rule exists while the target is %s", s.at.Format("15:04:05.000"), s.target)
		}
		if firstHealthy.IsZero() && s.target == elbtypes.TargetHealthStateEnumHealthy {
			firstHealthy = s.at
		}
	}
	t.Logf("first request → served by the instance: %v; target healthy → served: %v", servedAt.Sub(start), servedAt.Sub(firstHealthy))

	// The broken rule: never switched, back to stopped with the reason.
	var failed rulestore.Item
	for deadline := time.Now().Add(60 * time.Second); ; {
		got, err := ww.store.Get(context.Background(), broken.Host, true)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == rulestore.Stopped && got.LastError != "" {
			failed = got
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broken rule not failed after 60 s: %+v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(failed.LastError, "not healthy") || failed.ListenerRuleARN != "" {
		t.Errorf("broken rule: lastError %q, host rule %q", failed.LastError, failed.ListenerRuleARN)
	}
	for _, s := range brokenSamples() {
		if s.hostRule {
			t.Fatalf("%s: the broken rule got a host rule (target %s)", s.at.Format("15:04:05.000"), s.target)
		}
	}
	// The page's poll (read-only: it never wakes) reports the failure.
	pollReq, err := http.NewRequest("GET", ww.front+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	pollReq.Host = broken.Host + ".localhost"
	pollReq.Header.Set("X-Autostop-Poll", "1")
	pollResp, err := http.DefaultClient.Do(pollReq)
	if err != nil {
		t.Fatal(err)
	}
	var poll struct{ Phase, Error string }
	err = json.NewDecoder(pollResp.Body).Decode(&poll)
	pollResp.Body.Close()
	if err != nil || pollResp.StatusCode != 503 || poll.Phase != "failed" || poll.Error != failed.LastError {
		t.Errorf("poll of the broken rule: %d %+v (%v), want 503, phase failed, the rule's lastError", pollResp.StatusCode, poll, err)
	}

	// Exactly one StartInstances per rule, from the wake's step; the running
	// rule's item names its host rule.
	starts := map[string]int{}
	for _, c := range ww.backend.Proxy().Calls() {
		if c.Operation == "StartInstances" && c.Status < 300 {
			starts[c.Caller]++
		}
	}
	if total := starts[app.NamePrefix+"wake-start-instances"]; total != 2 || len(starts) != 1 {
		t.Errorf("StartInstances calls by caller: %v; want them from the wake step only, one per wake", starts)
	}
	running, err := ww.store.Get(context.Background(), app1.Host, true)
	if err != nil {
		t.Fatal(err)
	}
	if running.State != rulestore.Running || running.ListenerRuleARN == "" || running.ReadyAt.IsZero() || running.WakeExecution == "" {
		t.Errorf("woken rule: %+v", running)
	}
	ww.checkWakeHistory(t, running)
	ww.checkHostRuleTags(t, running)
}

// checkWakeHistory: the wake's execution succeeded within the transition
// budget (≤ 40 per wake).
func (ww *wakeWorld) checkWakeHistory(t testing.TB, it rulestore.Item) {
	t.Helper()
	ctx := context.Background()
	d, err := ww.states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(it.WakeExecution)})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != "SUCCEEDED" {
		t.Fatalf("wake %s: %s %s %s", it.WakeExecution, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	transitions := countTransitions(t, ww.world, it.WakeExecution)
	t.Logf("wake %s: %d state transitions", aws.ToString(d.Name), transitions)
	if transitions > 40 {
		t.Errorf("the wake took %d state transitions, want at most 40", transitions)
	}
}

// checkHostRuleTags: the host rule carries the ownership tags.
func (ww *wakeWorld) checkHostRuleTags(t testing.TB, it rulestore.Item) {
	t.Helper()
	out, err := ww.elb.DescribeTags(context.Background(), &elbv2.DescribeTagsInput{ResourceArns: []string{it.ListenerRuleARN}})
	if err != nil || len(out.TagDescriptions) != 1 {
		t.Fatalf("tags of %s: %v", it.ListenerRuleARN, err)
	}
	tags := map[string]string{}
	for _, tg := range out.TagDescriptions[0].Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if tags[ownership.RuleKey] != it.Host || !ownership.OwnedByLoadBalancer(tags, it.LoadBalancer) || tags[ownership.ExecutionKey] == "" {
		t.Errorf("host rule tags %v", tags)
	}
}

// TestWakeWaitsForStoppingInstance: a request arriving while the rule's
// instance is still stopping wakes it once it is stopped (StartInstances
// would fail before): the wake waits, starts it, and the instance serves.
func TestWakeWaitsForStoppingInstance(t *testing.T) {
	ww := newWakeWorld(t)
	ctx := context.Background()
	it := ww.attachStopped(t, "stopping", localworkload.Spec{})
	id := it.Rule.InstanceIDs[0]
	// The instance is started and stopped outside autostop: the watcher
	// would wake the rule while it runs.
	resume := ww.pauseWatcher(t)
	defer resume()
	if _, err := ww.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	if err := ec2.NewInstanceRunningWaiter(ww.ec2).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, time.Minute,
		func(o *ec2.InstanceRunningWaiterOptions) { o.MinDelay = 100 * time.Millisecond }); err != nil {
		t.Fatal(err)
	}
	if _, err := ww.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
	ww.backend.Proxy().Reset()

	resp, _ := ww.get(t, "GET", it.Host, "/", browserAccept, "")
	if resp.StatusCode != 503 {
		t.Fatalf("first request while stopping: %d", resp.StatusCode)
	}
	ww.waitServed(t, it, "text/plain")

	woken, err := ww.store.Get(ctx, it.Host, true)
	if err != nil {
		t.Fatal(err)
	}
	waited := false
	p := sfn.NewGetExecutionHistoryPaginator(ww.states, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(woken.WakeExecution)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if d := e.StateEnteredEventDetails; d != nil && aws.ToString(d.Name) == "WaitForStopping" {
				waited = true
			}
		}
	}
	if !waited {
		t.Errorf("the wake never waited for the stopping instance")
	}
	ok := 0
	for _, c := range ww.backend.Proxy().Calls() {
		if c.Operation == "StartInstances" && c.Status < 300 {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d successful StartInstances, want 1", ok)
	}
}

// TestAttachRuleSwitchesRunningInstances: a rule attached to instances that
// already run is switched without waiting for a first request: AttachRule
// wakes it, the wake finds the instances running (no StartInstances), waits
// for the health check and adds the host rule; the instance then serves.
func TestAttachRuleSwitchesRunningInstances(t *testing.T) {
	ww := newWakeWorld(t)
	rw := ruleWorldOf(ww.world, ww.lb)
	ctx := context.Background()

	addr, err := ww.addresses.Next(8080)
	if err != nil {
		t.Fatal(err)
	}
	run, err := ww.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-12345678"), InstanceType: ec2types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId:          aws.String(ww.env.SubnetIDs[0]),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: localworkload.Spec{Address: addr, Ports: []int{8080}}.Tags()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	if err := ec2.NewInstanceRunningWaiter(ww.ec2).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, time.Minute,
		func(o *ec2.InstanceRunningWaiterOptions) { o.MinDelay = 100 * time.Millisecond }); err != nil {
		t.Fatal(err)
	}
	ww.backend.Proxy().Reset()

	out := decodeAttach(t, rw.await(t, executionOf(rw.attach, rw.putEvent(t, eventstart.DetailTypeRuleCreated, rw.ruleDetail("live", []string{id})))))
	if !out.InstancesRunning {
		t.Fatalf("attach output %+v: instances not seen running", out)
	}
	var it rulestore.Item
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if it, err = ww.store.Get(ctx, out.Host, true); err != nil {
			t.Fatal(err)
		}
		if it.State == rulestore.Running {
			break
		}
		if time.Now().After(deadline) || it.LastError != "" {
			t.Fatalf("attached running rule not switched: %+v", it)
		}
	}
	if it.WakeExecution == "" || it.ListenerRuleARN == "" {
		t.Errorf("running rule without its wake execution or host rule: %+v", it)
	}
	for _, c := range ww.backend.Proxy().Calls() {
		if c.Operation == "StartInstances" || c.Caller == app.NamePrefix+"proxy" {
			t.Errorf("%s by %s: the rule should switch without a request and without starting anything", c.Operation, c.Caller)
		}
	}
	ww.waitServed(t, it, "text/plain")
}
