package statemachine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/localworkload"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

// The local timings these tests are written for (shared/app): a rule's
// idleMinutes are seconds, the watcher runs every second and judges a
// window that ends 2 s before now.
const (
	localLag   = 2 * time.Second
	localTick  = time.Second
	sleepIdle  = 3 // idleMinutes of the rules that are meant to sleep
	awakeIdle  = 300
	sleepBound = 40 * time.Second
)

// pauseWatcher disables the idle watcher's schedule until the returned
// function enables it again: for a test that changes instances outside
// autostop on purpose, which the watcher would otherwise repair meanwhile.
func (w *world) pauseWatcher(t testing.TB) (resume func()) {
	t.Helper()
	events := eventbridge.NewFromConfig(w.cfg)
	put := func(state ebtypes.RuleState) {
		for _, s := range app.Description().Schedules {
			if _, err := events.PutRule(context.Background(), &eventbridge.PutRuleInput{
				Name: aws.String(s.Name()), ScheduleExpression: aws.String(s.Expression), State: state,
			}); err != nil {
				t.Fatalf("%s schedule %s: %v", state, s.Name(), err)
			}
		}
	}
	put(ebtypes.RuleStateDisabled)
	// A run that started before the pause ends within its tick.
	time.Sleep(localTick)

	return func() { put(ebtypes.RuleStateEnabled) }
}

// idle sets a rule's idleMinutes.
func idle(minutes int) func(*rule.Rule) { return func(r *rule.Rule) { r.IdleMinutes = minutes } }

// waitState polls the rule until it is in state (and, when check is set,
// check accepts it), failing after bound.
func (ww *wakeWorld) waitState(t testing.TB, host string, state rulestore.State, bound time.Duration, check func(rulestore.Item) bool) rulestore.Item {
	t.Helper()
	for deadline := time.Now().Add(bound); ; time.Sleep(50 * time.Millisecond) {
		it, err := ww.store.Get(context.Background(), host, true)
		if err != nil {
			t.Fatal(err)
		}
		if it.State == state && (check == nil || check(it)) {
			return it
		}
		if time.Now().After(deadline) {
			t.Fatalf("rule %s not %s after %v: %+v", host, state, bound, it)
		}
	}
}

// instanceState is the EC2 state of the rule's first instance.
func (ww *wakeWorld) instanceState(t testing.TB, id string) ec2types.InstanceStateName {
	t.Helper()
	out, err := ww.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Reservations[0].Instances[0].State.Name
}

// hostRuleExists says whether a listener rule routes the host.
func (ww *wakeWorld) hostRuleExists(t testing.TB, it rulestore.Item) bool {
	t.Helper()
	out, err := ww.elb.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(it.ListenerARN)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range out.Rules {
		for _, c := range r.Conditions {
			if c.HostHeaderConfig != nil && slices.Contains(c.HostHeaderConfig.Values, it.Host) {
				return true
			}
		}
	}
	return false
}

// requireExecutionSucceeded checks an execution of the rule's workflows.
func (ww *wakeWorld) requireExecutionSucceeded(t testing.TB, arn string) int {
	t.Helper()
	if arn == "" {
		t.Fatal("no execution recorded")
	}
	d, err := ww.states.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution %s: %s %s %s", arn, d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	return countTransitions(t, ww.world, arn)
}

// callIndex is the position of the first successful call of operation by
// caller (a function's ID) in the recording proxy's log, -1 when none.
func callIndex(calls []awsproxy.Call, caller, operation string) int {
	return slices.IndexFunc(calls, func(c awsproxy.Call) bool {
		return c.Caller == app.NamePrefix+caller && c.Operation == operation && c.Fault == "" && c.Status < 300
	})
}

// TestIdleCycle: the whole cycle on the local backend with the real
// binaries, the scheduled watcher and the front's RequestCount (published
// 1.5 s late, within the watcher's 2 s lag): a first request wakes the rule;
// steady traffic keeps it running for several times its idle time; once the
// traffic ends the watcher puts it to sleep, which deletes the host rule
// before it stops the instance (the order read from the recording proxy's
// log), and the rule ends stopped; the next request wakes it again.
func TestIdleCycle(t *testing.T) {
	ww := newWakeWorld(t, wakeWorldOptions{metricsDelay: 1500 * time.Millisecond})
	ctx := context.Background()
	it := ww.attachStopped(t, "cycle", localworkload.Spec{}, idle(sleepIdle))
	id := it.Rule.InstanceIDs[0]
	ww.backend.Proxy().Reset()

	if resp, _ := ww.get(t, "GET", it.Host, "/", browserAccept, ""); resp.StatusCode != 503 {
		t.Fatalf("first request: %d, want the progress page", resp.StatusCode)
	}
	ww.waitServed(t, it, "text/plain")
	woken, err := ww.store.Get(ctx, it.Host, true)
	if err != nil {
		t.Fatal(err)
	}

	// Steady traffic, a request every 1.5 s (under the 3 s idle time), for
	// four idle times plus the lag: the rule stays running, every request
	// served by the instance.
	steady := time.Duration(4*sleepIdle)*time.Second + localLag
	requests := 0
	for end := time.Now().Add(steady); time.Now().Before(end); time.Sleep(1500 * time.Millisecond) {
		resp, body := ww.get(t, "GET", it.Host, "/orders", "application/json", "")
		if resp.StatusCode != 200 || !strings.Contains(body, id) {
			cur, _ := ww.store.Get(ctx, it.Host, true)
			t.Fatalf("request %d during steady traffic: %d %s; rule %+v", requests+1, resp.StatusCode, body, cur)
		}
		requests++
	}
	cur, err := ww.store.Get(ctx, it.Host, true)
	if err != nil {
		t.Fatal(err)
	}
	if cur.State != rulestore.Running || !cur.ReadyAt.Equal(woken.ReadyAt) || !cur.SleepRequestedAt.IsZero() {
		t.Fatalf("after %v of steady traffic (%d requests): %+v, want the same running rule, never put to sleep", steady, requests, cur)
	}
	t.Logf("steady traffic: %d requests over %v, the rule stayed running", requests, steady)

	// No more traffic: asleep after its idle time, the lag, the metric's
	// delay and a watcher tick or two.
	quiet := time.Now()
	slept := ww.waitState(t, it.Host, rulestore.Stopped, sleepBound, nil)
	t.Logf("last request → stopped: %v (idle %d s + lag %v + publication delay 1.5 s + watcher tick)", time.Since(quiet), sleepIdle, localLag)
	if slept.SleepReason != rulestore.SleepIdle || slept.ListenerRuleARN != "" || slept.LastError != "" || slept.Broken != "" || slept.StoppedAt.IsZero() {
		t.Errorf("rule after its sleep: %+v", slept)
	}
	if got := ww.instanceState(t, id); got != ec2types.InstanceStateNameStopped {
		t.Errorf("instance %s after the sleep: %s", id, got)
	}
	if ww.hostRuleExists(t, slept) {
		t.Errorf("host rule still routes %s after the sleep", slept.Host)
	}
	transitions := ww.requireExecutionSucceeded(t, slept.SleepExecution)
	t.Logf("sleep %s: %d state transitions", slept.SleepExecution, transitions)

	// The order, from the recording proxy: the host rule is deleted before
	// the instance is stopped.
	calls := ww.backend.Proxy().Calls()
	del, stop := callIndex(calls, "sleep-remove-host-rule", "DeleteRule"), callIndex(calls, "sleep-stop-instances", "StopInstances")
	if del < 0 || stop < 0 || del > stop {
		t.Errorf("DeleteRule at %d, StopInstances at %d in the proxy's log: want the host rule deleted first", del, stop)
	}
	stops := 0
	for _, c := range calls {
		if c.Operation == "StopInstances" && c.Status < 300 {
			stops++
			if c.Caller != app.NamePrefix+"sleep-stop-instances" {
				t.Errorf("StopInstances by %s", c.Caller)
			}
		}
	}
	if stops != 1 {
		t.Errorf("%d StopInstances, want 1", stops)
	}

	// The next request wakes it again.
	if resp, _ := ww.get(t, "GET", it.Host, "/", browserAccept, ""); resp.StatusCode != 503 {
		t.Fatalf("request after the sleep: %d, want the progress page", resp.StatusCode)
	}
	ww.waitServed(t, it, "text/plain")
	again, err := ww.store.Get(ctx, it.Host, true)
	if err != nil {
		t.Fatal(err)
	}
	if again.State != rulestore.Running || !again.ReadyAt.After(slept.StoppedAt) {
		t.Errorf("after the second wake: %+v", again)
	}
}

// TestReconcile: the watcher repairs what was changed outside autostop. A
// stopped rule whose instance someone started is woken and switched; a
// running rule whose instance someone stopped loses its host rule and ends
// stopped (the next request wakes it); one whose instance was terminated
// ends broken, and the proxy says so instead of waking it; a target someone
// deregistered is registered again.
func TestReconcile(t *testing.T) {
	ww := newWakeWorld(t)
	ctx := context.Background()
	startedOutside := ww.attachStopped(t, "started", localworkload.Spec{}, idle(awakeIdle))
	stoppedOutside := ww.attachStopped(t, "stopped", localworkload.Spec{}, idle(awakeIdle))
	terminated := ww.attachStopped(t, "gone", localworkload.Spec{}, idle(awakeIdle))
	deregistered := ww.attachStopped(t, "dereg", localworkload.Spec{}, idle(awakeIdle))
	for _, it := range []rulestore.Item{stoppedOutside, terminated, deregistered} {
		ww.get(t, "GET", it.Host, "/", browserAccept, "")
	}
	for _, it := range []rulestore.Item{stoppedOutside, terminated, deregistered} {
		ww.waitServed(t, it, "text/plain")
	}

	// Started outside: woken and switched, served by the instance.
	if _, err := ww.ec2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: startedOutside.Rule.InstanceIDs}); err != nil {
		t.Fatal(err)
	}
	woken := ww.waitState(t, startedOutside.Host, rulestore.Running, sleepBound, nil)
	ww.requireExecutionSucceeded(t, woken.WakeExecution)
	ww.waitServed(t, startedOutside, "text/plain")

	// Stopped outside: host rule removed, stopped, not broken.
	if _, err := ww.ec2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: stoppedOutside.Rule.InstanceIDs}); err != nil {
		t.Fatal(err)
	}
	// Terminated outside.
	if _, err := ww.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: terminated.Rule.InstanceIDs}); err != nil {
		t.Fatal(err)
	}
	// Deregistered outside.
	if _, err := ww.elb.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{
		TargetGroupArn: aws.String(deregistered.TargetGroupARN),
		Targets:        []elbtypes.TargetDescription{{Id: aws.String(deregistered.Rule.InstanceIDs[0]), Port: aws.Int32(8080)}},
	}); err != nil {
		t.Fatal(err)
	}

	st := ww.waitState(t, stoppedOutside.Host, rulestore.Stopped, sleepBound, nil)
	if st.SleepReason != rulestore.SleepStoppedOutside || st.Broken != "" || ww.hostRuleExists(t, st) {
		t.Errorf("rule stopped outside: %+v (host rule exists: %v)", st, ww.hostRuleExists(t, st))
	}
	ww.requireExecutionSucceeded(t, st.SleepExecution)

	gone := ww.waitState(t, terminated.Host, rulestore.Stopped, sleepBound, nil)
	if gone.SleepReason != rulestore.SleepTerminatedOutside || !strings.Contains(gone.Broken, terminated.Rule.InstanceIDs[0]) || ww.hostRuleExists(t, gone) {
		t.Errorf("rule whose instance was terminated: %+v", gone)
	}
	resp, body := ww.get(t, "GET", terminated.Host, "/", "application/json", "")
	if resp.StatusCode != 503 || !strings.Contains(body, "cannot be started") {
		t.Errorf("request to the broken rule: %d %s", resp.StatusCode, body)
	}
	if got, _ := ww.store.Get(ctx, terminated.Host, true); got.State != rulestore.Stopped {
		t.Errorf("the broken rule was woken: %+v", got)
	}

	for deadline := time.Now().Add(sleepBound); ; time.Sleep(100 * time.Millisecond) {
		th, err := ww.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(deregistered.TargetGroupARN)})
		if err != nil {
			t.Fatal(err)
		}
		// Registered again, and healthy: until then the load balancer
		// has no target to send the host's requests to (503).
		if len(th.TargetHealthDescriptions) == 1 && aws.ToString(th.TargetHealthDescriptions[0].Target.Id) == deregistered.Rule.InstanceIDs[0] &&
			th.TargetHealthDescriptions[0].TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("target of %s not registered again and healthy after %v: %+v", deregistered.Host, sleepBound, th.TargetHealthDescriptions)
		}
	}
	if got, _ := ww.store.Get(ctx, deregistered.Host, true); got.State != rulestore.Running {
		t.Errorf("rule whose target was registered again: %+v", got)
	}
	ww.waitServed(t, deregistered, "text/plain")

	// The rule stopped outside wakes on its next request.
	ww.get(t, "GET", stoppedOutside.Host, "/", browserAccept, "")
	ww.waitServed(t, stoppedOutside, "text/plain")
}

// lockedBuffer collects the backend's logs from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(contains string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.SplitSeq(l.b.String(), "\n") {
		if strings.Contains(line, contains) {
			out = append(out, line)
		}
	}
	return out
}

// TestDryRun: an idle rule in dry run is never stopped; the watcher logs
// "would stop" with the figures it used and counts it in
// Autostop/WouldStop.
func TestDryRun(t *testing.T) {
	logs := &lockedBuffer{}
	ww := newWakeWorld(t, wakeWorldOptions{logs: logs})
	ctx := context.Background()
	it := ww.attachStopped(t, "dry", localworkload.Spec{}, idle(sleepIdle), func(r *rule.Rule) { r.DryRun = true })
	ww.get(t, "GET", it.Host, "/", browserAccept, "")
	ww.waitServed(t, it, "text/plain")

	// Idle for three times what a real rule would need to be stopped.
	time.Sleep(3 * (time.Duration(sleepIdle)*time.Second + localLag + 2*localTick))
	cur, err := ww.store.Get(ctx, it.Host, true)
	if err != nil {
		t.Fatal(err)
	}
	if cur.State != rulestore.Running || !cur.SleepRequestedAt.IsZero() || ww.instanceState(t, it.Rule.InstanceIDs[0]) != ec2types.InstanceStateNameRunning {
		t.Fatalf("dry-run rule was changed: %+v", cur)
	}
	for _, c := range ww.backend.Proxy().Calls() {
		if c.Operation == "StopInstances" || c.Operation == "DeleteRule" {
			t.Errorf("%s by %s for a dry-run rule", c.Operation, c.Caller)
		}
	}

	lines := logs.lines(`"would stop"`)
	if len(lines) == 0 {
		t.Fatal(`no "would stop" log line`)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("log line %s: %v", lines[0], err)
	}
	t.Logf("watcher: %s", lines[0])
	for _, k := range []string{"host", "rule", "requests"} {
		if _, ok := line[k]; !ok {
			t.Errorf("the would-stop line has no %q: %s", k, lines[0])
		}
	}
	if fmt.Sprint(line["host"]) != it.Host {
		t.Errorf("would-stop line for %v, want %s", line["host"], it.Host)
	}

	cw := cloudwatch.NewFromConfig(ww.cfg)
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(time.Now().Add(-10 * time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("wouldstop"),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("Autostop"), MetricName: aws.String("WouldStop"),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("Rule"), Value: aws.String(it.Rule.Name)}}},
				Period: aws.Int32(60), Stat: aws.String("Sum"),
			},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, r := range out.MetricDataResults {
		for _, v := range r.Values {
			sum += v
		}
	}
	if sum < 1 {
		t.Errorf("Autostop/WouldStop for rule %s: %v, want at least 1", it.Rule.Name, sum)
	}
	t.Logf("Autostop/WouldStop for %s: %v over the test", it.Rule.Name, sum)
}

// wakeNow sends a first request and waits until the instance serves.
func (ww *wakeWorld) wakeNow(t testing.TB, it rulestore.Item) {
	t.Helper()
	ww.get(t, "GET", it.Host, "/", browserAccept, "")
	ww.waitServed(t, it, "text/plain")
}

// requireNeverForwardedToStopped fails when a sample saw the host rule
// while the target was not healthy: traffic forwarded to an instance that
// is stopping or stopped.
func requireNeverForwardedToStopped(t testing.TB, samples []healthSample) {
	t.Helper()
	for _, s := range samples {
		if s.hostRule && s.target != elbtypes.TargetHealthStateEnumHealthy {
			t.Errorf("%s: the host rule forwards while the target is %s", s.at.Format("15:04:05.000"), s.target)
			return
		}
	}
}

// TestSleepFaults: a fault at each mutating call of the sleep workflow's
// steps (found from a clean sleep). Throttled once, every one of them at
// the same time: retried, and the sleep completes. Denied, one at a time,
// for as long as it takes to see the failure: the rule is consistent (back
// to running behind its host rule while the host rule could not be
// deleted, stopped otherwise; never a host rule forwarding to a stopped
// instance), the error is on the item; once the fault is gone, the watcher
// puts the rule to sleep.
func TestSleepFaults(t *testing.T) {
	ww := newWakeWorld(t)
	ctx := context.Background()

	clean := ww.attachStopped(t, "clean", localworkload.Spec{}, idle(1))
	ww.wakeNow(t, clean)
	ww.backend.Proxy().Reset()
	ww.waitState(t, clean.Host, rulestore.Stopped, sleepBound, nil)
	var ops []awsproxy.Call
	seen := map[string]bool{}
	for _, c := range ww.backend.Proxy().Calls() {
		key := c.Caller + " " + opName(c)
		if strings.HasPrefix(c.Caller, app.NamePrefix+"sleep-") && c.Mutating && c.Status < 300 && !seen[key] {
			seen[key] = true
			ops = append(ops, c)
		}
	}
	var names []string
	for _, c := range ops {
		names = append(names, strings.TrimPrefix(c.Caller, app.NamePrefix)+"/"+opName(c))
	}
	t.Logf("a clean sleep's mutating calls: %v", names)
	for _, want := range []string{"sleep-remove-host-rule/elasticloadbalancing:DeleteRule", "sleep-stop-instances/ec2:StopInstances", "sleep-finish/dynamodb:UpdateItem"} {
		if !slices.Contains(names, want) {
			t.Fatalf("a clean sleep made no %s: %v", want, names)
		}
	}

	t.Run("every step throttled once", func(t *testing.T) {
		it := ww.attachStopped(t, "throttled", localworkload.Spec{}, idle(1))
		ww.wakeNow(t, it)
		watchCtx, stop := context.WithCancel(ctx)
		samples := ww.watch(watchCtx, it)
		ww.backend.Proxy().Reset()
		ww.backend.Proxy().ClearFaults()
		for _, op := range ops {
			ww.backend.Proxy().FailNthBy(op.Caller, op.Service, op.Operation, 1, awsproxy.Throttled)
		}
		slept := ww.waitState(t, it.Host, rulestore.Stopped, sleepBound, nil)
		stop()
		ww.backend.Proxy().ClearFaults()
		for _, op := range ops {
			requireFaultInjected(t, ww.world, op)
		}
		if slept.LastError != "" || ww.instanceState(t, it.Rule.InstanceIDs[0]) != ec2types.InstanceStateNameStopped {
			t.Errorf("after retried faults: %+v, instance %s", slept, ww.instanceState(t, it.Rule.InstanceIDs[0]))
		}
		ww.requireExecutionSucceeded(t, slept.SleepExecution)
		requireNeverForwardedToStopped(t, samples())
	})

	for i, op := range ops {
		name := strings.TrimPrefix(op.Caller, app.NamePrefix) + "/" + opName(op)
		t.Run(name+"/denied", func(t *testing.T) {
			it := ww.attachStopped(t, fmt.Sprintf("denied%d", i), localworkload.Spec{}, idle(1))
			ww.wakeNow(t, it)
			watchCtx, stop := context.WithCancel(ctx)
			defer stop()
			samples := ww.watch(watchCtx, it)
			ww.backend.Proxy().Reset()
			ww.backend.Proxy().ClearFaults()
			for n := 1; n <= 1000; n++ {
				ww.backend.Proxy().FailNthBy(op.Caller, op.Service, op.Operation, n, awsproxy.AccessDenied)
			}

			var failed rulestore.Item
			for deadline := time.Now().Add(sleepBound); failed.LastError == ""; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no failure recorded: %+v", failed)
				}
				failed, _ = ww.store.Get(ctx, it.Host, true)
			}
			hostRule := ww.hostRuleExists(t, failed)
			instance := ww.instanceState(t, it.Rule.InstanceIDs[0])
			t.Logf("failed sleep: state %s, host rule %v, instance %s, lastError %q", failed.State, hostRule, instance, failed.LastError)
			switch {
			case !strings.Contains(failed.LastError, "AccessDenied"):
				t.Errorf("lastError %q does not name the error", failed.LastError)
			case failed.State == rulestore.Running && (!hostRule || failed.ListenerRuleARN == ""):
				t.Errorf("running without its host rule: %+v", failed)
			case failed.State == rulestore.Stopping:
				// The watcher's next try began already.
			case failed.State != rulestore.Running && failed.State != rulestore.Stopped && failed.State != rulestore.Starting:
				t.Errorf("state %s after a failed sleep", failed.State)
			}
			ww.backend.Proxy().ClearFaults()
			requireFaultInjected(t, ww.world, op)

			// Once the fault is gone, the rule ends asleep: stopped, its
			// instance stopped, no host rule (a failure after the
			// instance stopped leaves its lastError until the next wake).
			ww.waitState(t, it.Host, rulestore.Stopped, 2*sleepBound, func(cur rulestore.Item) bool {
				return ww.instanceState(t, it.Rule.InstanceIDs[0]) == ec2types.InstanceStateNameStopped && !ww.hostRuleExists(t, cur)
			})
			stop()
			requireNeverForwardedToStopped(t, samples())
		})
	}
}
