package idlewatch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
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
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

const (
	region1   = "eu-west-1"
	region2   = "us-east-2"
	wakeARN   = "arn:aws:states:us-east-1:123456789012:stateMachine:autostop-wake-rule"
	sleepARN  = "arn:aws:states:us-east-1:123456789012:stateMachine:autostop-sleep-rule"
	repairARN = "arn:aws:states:us-east-1:123456789012:stateMachine:autostop-repair-targets"
)

// testNow is when the runs under test happen.
var testNow = time.Date(2026, 3, 14, 12, 10, 30, 0, time.UTC)

var errBoom = fmt.Errorf("boom")

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (fake)", Fault: smithy.FaultClient}
}

func testConfig() Config {
	return Config{WakeStateMachineARN: wakeARN, SleepStateMachineARN: sleepARN, RepairStateMachineARN: repairARN}
}

func lbARN(region string) string {
	return "arn:aws:elasticloadbalancing:" + region + ":123456789012:loadbalancer/app/web/0123456789abcdef"
}

func tgARN(region, name string) string {
	return "arn:aws:elasticloadbalancing:" + region + ":123456789012:targetgroup/" + name + "/0123456789abcdef"
}

// running is a running rule of region1 named name, ready two hours ago,
// idle after 15 minutes, with the instances ids ("i-<name>" when none).
func running(name string, ids ...string) rulestore.Item {
	if len(ids) == 0 {
		ids = []string{"i-" + name}
	}
	host := name + ".autostop.example.test"

	return rulestore.Item{
		Host:            host,
		Rule:            rule.Rule{Name: name, Host: host, InstanceIDs: ids, Port: 8080, IdleMinutes: 15},
		LoadBalancer:    "web",
		LoadBalancerARN: lbARN(region1),
		TargetGroupARN:  tgARN(region1, name),
		State:           rulestore.Running,
		ReadyAt:         testNow.Add(-2 * time.Hour),
		Version:         7,
	}
}

func inRegion(it rulestore.Item, region string) rulestore.Item {
	it.LoadBalancerARN = lbARN(region)
	it.TargetGroupARN = tgARN(region, it.Rule.Name)
	return it
}

func stopped(name string, ids ...string) rulestore.Item {
	it := running(name, ids...)
	it.State = rulestore.Stopped
	it.StoppedAt = testNow.Add(-time.Hour)
	return it
}

func dryRun(it rulestore.Item) rulestore.Item {
	it.Rule.DryRun = true
	return it
}

// world is the rules table and AWS as the watcher sees them. By default
// every instance a rule names runs and is registered with the rule's
// target group, and no rule has requests: every running rule is idle.
type world struct {
	rules *fakeRules
	cw    map[string]*fakeCW
	ec2   map[string]*fakeEC2
	elb   map[string]*fakeELB
	sfn   *fakeSFN
	logs  bytes.Buffer
	// made counts the clients made per service and region.
	made map[string]int
	mu   sync.Mutex
}

func newWorld(items ...rulestore.Item) *world {
	w := &world{
		rules: &fakeRules{items: map[string]rulestore.Item{}, now: testNow, errs: map[string]error{}},
		cw:    map[string]*fakeCW{}, ec2: map[string]*fakeEC2{}, elb: map[string]*fakeELB{},
		sfn:  &fakeSFN{existing: map[string]bool{}},
		made: map[string]int{},
	}
	for _, region := range []string{region1, region2} {
		w.cw[region] = &fakeCW{busy: map[string]bool{}}
		w.ec2[region] = &fakeEC2{states: map[string]ec2types.InstanceStateName{}}
		w.elb[region] = &fakeELB{targets: map[string]map[string]elbtypes.TargetHealthReasonEnum{}}
	}
	for _, it := range items {
		w.add(it)
	}

	return w
}

// add puts a rule in the table, its instances running and registered.
func (w *world) add(it rulestore.Item) {
	w.rules.items[it.Host] = it
	region := strings.Split(it.TargetGroupARN, ":")[3]
	tg := map[string]elbtypes.TargetHealthReasonEnum{}
	for _, id := range it.Rule.InstanceIDs {
		w.ec2[region].states[id] = ec2types.InstanceStateNameRunning
		tg[id] = ""
	}
	w.elb[region].targets[it.TargetGroupARN] = tg
}

func (w *world) deps() Deps {
	count := func(what string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.made[what]++
	}

	return Deps{
		Rules: w.rules,
		SFN:   w.sfn,
		CloudWatch: func(region string) CloudWatch {
			count("cloudwatch " + region)
			return w.cw[region]
		},
		EC2: func(region string) EC2 {
			count("ec2 " + region)
			return w.ec2[region]
		},
		ELBv2: func(region string) ELBv2 {
			count("elbv2 " + region)
			return w.elb[region]
		},
		Now: func() time.Time { return testNow },
	}
}

func (w *world) watcher(t *testing.T, cfg Config) *Watcher {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(&w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	wt, err := New(cfg, w.deps(), log)
	if err != nil {
		t.Fatal(err)
	}

	return wt
}

// run runs the watcher once with the test configuration.
func (w *world) run(t *testing.T) (Report, error) {
	t.Helper()
	return w.watcher(t, testConfig()).Run(context.Background())
}

// lines are the JSON log lines whose msg is msg ("" for all).
func (w *world) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(w.logs.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if msg == "" || m["msg"] == msg {
			out = append(out, m)
		}
	}

	return out
}

// fakeRules is the rules table with rulestore's conditional semantics.
// Calls are recorded as "Op host [detail]".
type fakeRules struct {
	mu    sync.Mutex
	items map[string]rulestore.Item
	now   time.Time
	calls []string
	// errs fails "Op host" (or "Op" for every host).
	errs    map[string]error
	listErr error
	// race changes the table just before "Op host" is applied, as a
	// concurrent writer would.
	race func(op, host string, items map[string]rulestore.Item)
}

func (f *fakeRules) call(op, host, detail string) error {
	f.calls = append(f.calls, strings.TrimSpace(op+" "+host+" "+detail))
	if f.race != nil {
		f.race(op, host, f.items)
	}
	if err := f.errs[op+" "+host]; err != nil {
		return err
	}

	return f.errs[op]
}

func (f *fakeRules) List(context.Context) ([]rulestore.Item, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "List")
	if f.listErr != nil {
		return nil, f.listErr
	}
	var out []rulestore.Item
	for _, h := range slices.Sorted(maps.Keys(f.items)) {
		out = append(out, f.items[h])
	}

	return out, nil
}

func (f *fakeRules) BeginSleep(_ context.Context, host string, readyAt time.Time, reason rulestore.SleepReason) (rulestore.Item, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("BeginSleep", host, string(reason)); err != nil {
		return rulestore.Item{}, false, err
	}
	it, ok := f.items[host]
	if !ok || it.State != rulestore.Running || !it.ReadyAt.Equal(readyAt) {
		return it, false, nil
	}
	it.State, it.SleepRequestedAt, it.SleepReason, it.SleepExecution, it.WakeWanted = rulestore.Stopping, f.now, reason, "", false
	it.Version++
	f.items[host] = it

	return it, true, nil
}

func (f *fakeRules) BeginWake(_ context.Context, host string, staleBefore time.Time) (rulestore.Item, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("BeginWake", host, ""); err != nil {
		return rulestore.Item{}, false, err
	}
	it, ok := f.items[host]
	if !ok || it.Broken != "" || !(it.State == rulestore.Stopped ||
		(it.State == rulestore.Stopping && it.SleepRequestedAt.Before(staleBefore)) ||
		(it.State == rulestore.Starting && it.WakeRequestedAt.Before(staleBefore))) {
		return it, false, nil
	}
	it.State, it.Phase, it.WakeRequestedAt, it.LastError, it.WakeExecution, it.WakeWanted = rulestore.Starting, rulestore.PhaseStarting, f.now, "", "", false
	it.Version++
	f.items[host] = it

	return it, true, nil
}

func (f *fakeRules) FailWake(_ context.Context, host string, at time.Time, reason string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("FailWake", host, ""); err != nil {
		return false, err
	}
	it := f.items[host]
	if it.State != rulestore.Starting || !it.WakeRequestedAt.Equal(at) {
		return false, nil
	}
	it.State, it.Phase, it.LastError = rulestore.Stopped, "", reason
	it.Version++
	f.items[host] = it

	return true, nil
}

// writes are the calls other than List.
func (f *fakeRules) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c != "List" {
			out = append(out, c)
		}
	}
	slices.Sort(out)

	return out
}

// fakeCW answers GetMetricData for any rule: no datapoint (no requests),
// or, for a busy host (the query's Label), one request in the current
// period. It pages pageSize queries at a time (0: one page); partialFirst
// answers every query PartialData without datapoints on a first page, the
// way CloudWatch splits a query's datapoints across pages.
type fakeCW struct {
	mu           sync.Mutex
	busy         map[string]bool
	pageSize     int
	partialFirst bool
	gets         []*cloudwatch.GetMetricDataInput // every page asked for
	puts         []*cloudwatch.PutMetricDataInput
	getErr       error
	// failGet fails the n-th GetMetricData page (1-based; 0: none).
	failGet int
	putErr  error
}

func (f *fakeCW) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *in
	f.gets = append(f.gets, &cp)
	if f.getErr != nil || (f.failGet > 0 && len(f.gets) == f.failGet) {
		return nil, firstErr(f.getErr, errBoom)
	}
	if n := len(in.MetricDataQueries); n > 500 {
		return nil, apiErr("ValidationError")
	}
	tok := aws.ToString(in.NextToken)
	out := &cloudwatch.GetMetricDataOutput{}
	if f.partialFirst && tok == "" {
		for _, q := range in.MetricDataQueries {
			out.MetricDataResults = append(out.MetricDataResults, cwtypes.MetricDataResult{
				Id: q.Id, Label: q.Label, StatusCode: cwtypes.StatusCodePartialData})
		}
		out.NextToken = aws.String("0")
		return out, nil
	}
	from, _ := strconv.Atoi(tok)
	to := len(in.MetricDataQueries)
	if f.pageSize > 0 && from+f.pageSize < to {
		to = from + f.pageSize
		out.NextToken = aws.String(strconv.Itoa(to))
	}
	for _, q := range in.MetricDataQueries[from:to] {
		r := cwtypes.MetricDataResult{Id: q.Id, Label: q.Label, StatusCode: cwtypes.StatusCodeComplete}
		if f.busy[aws.ToString(q.Label)] {
			period := time.Duration(aws.ToInt32(q.MetricStat.Period)) * time.Second
			r.Timestamps = []time.Time{aws.ToTime(in.EndTime).Add(-period)}
			r.Values = []float64{1}
		}
		out.MetricDataResults = append(out.MetricDataResults, r)
	}

	return out, nil
}

func (f *fakeCW) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts = append(f.puts, in)
	if f.putErr != nil {
		return nil, f.putErr
	}
	if len(in.MetricData) > 1000 {
		return nil, apiErr("ValidationError")
	}

	return &cloudwatch.PutMetricDataOutput{}, nil
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// fakeEC2 answers DescribeInstances from states, as EC2 does with an
// instance-id filter: unknown IDs are left out. It pages pageSize
// instances at a time (0: one page).
type fakeEC2 struct {
	mu       sync.Mutex
	states   map[string]ec2types.InstanceStateName
	pageSize int
	calls    []*ec2.DescribeInstancesInput
	err      error
}

func (f *fakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *in
	f.calls = append(f.calls, &cp)
	if f.err != nil {
		return nil, f.err
	}
	if len(in.InstanceIds) > 0 {
		return nil, fmt.Errorf("fake: InstanceIds fail for a missing instance; use the instance-id filter")
	}
	var ids []string
	for _, fl := range in.Filters {
		if aws.ToString(fl.Name) != "instance-id" {
			return nil, fmt.Errorf("fake: filter %s", aws.ToString(fl.Name))
		}
		if len(fl.Values) > 200 {
			return nil, apiErr("InvalidParameterValue")
		}
		for _, id := range fl.Values {
			if _, ok := f.states[id]; ok {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	from, _ := strconv.Atoi(aws.ToString(in.NextToken))
	to := len(ids)
	out := &ec2.DescribeInstancesOutput{}
	if f.pageSize > 0 && from+f.pageSize < to {
		to = from + f.pageSize
		out.NextToken = aws.String(strconv.Itoa(to))
	}
	for _, id := range ids[from:to] {
		out.Reservations = append(out.Reservations, ec2types.Reservation{Instances: []ec2types.Instance{{
			InstanceId: aws.String(id), State: &ec2types.InstanceState{Name: f.states[id]},
		}}})
	}

	return out, nil
}

// fakeELB holds the targets of each target group (instance → health
// reason; "" healthy).
type fakeELB struct {
	mu      sync.Mutex
	targets map[string]map[string]elbtypes.TargetHealthReasonEnum
	calls   []string // target groups asked
	errs    map[string]error
}

func (f *fakeELB) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tg := aws.ToString(in.TargetGroupArn)
	f.calls = append(f.calls, tg)
	if err := f.errs[tg]; err != nil {
		return nil, err
	}
	targets, ok := f.targets[tg]
	if !ok {
		return nil, apiErr("TargetGroupNotFound")
	}
	out := &elbv2.DescribeTargetHealthOutput{}
	for _, id := range slices.Sorted(maps.Keys(targets)) {
		h := &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumHealthy, Reason: targets[id]}
		if h.Reason != "" {
			h.State = elbtypes.TargetHealthStateEnumUnused
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{
			Target: &elbtypes.TargetDescription{Id: aws.String(id), Port: aws.Int32(8080)}, TargetHealth: h,
		})
	}

	return out, nil
}

// fakeSFN starts executions; a name started before is
// ExecutionAlreadyExists.
type fakeSFN struct {
	mu       sync.Mutex
	existing map[string]bool
	starts   []*sfn.StartExecutionInput
	// errs fails the starts of a state machine.
	errs map[string]error
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, in)
	if err := f.errs[aws.ToString(in.StateMachineArn)]; err != nil {
		return nil, err
	}
	name := aws.ToString(in.Name)
	if f.existing[name] {
		return nil, apiErr("ExecutionAlreadyExists")
	}
	f.existing[name] = true
	sm := aws.ToString(in.StateMachineArn)

	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(strings.Replace(sm, ":stateMachine:", ":execution:", 1) + ":" + name)}, nil
}

// started lists the executions asked for, "<state machine id> <name>
// <input>", sorted.
func (f *fakeSFN) started() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, in := range f.starts {
		sm := aws.ToString(in.StateMachineArn)
		sm = strings.TrimPrefix(sm[strings.LastIndex(sm, ":")+1:], "autostop-")
		out = append(out, sm+" "+aws.ToString(in.Name)+" "+aws.ToString(in.Input))
	}
	slices.Sort(out)

	return out
}
