package sleep

import (
	"context"
	"errors"
	"fmt"
	"github.com/autostop/autostop/shared/steperr"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

const (
	testHost     = "app.autostop.example.test"
	testRegion   = "eu-west-1"
	testLB       = "web"
	testLBARN    = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/0123456789abcdef"
	testListener = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123456789abcdef/fedcba9876543210"
	testRuleARN  = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/0123456789abcdef/fedcba9876543210/0a1b2c3d4e5f6a7b"
	testTG       = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef"
	testExec     = "sleep-app-1"
	// The state machine runs in the functions' region, not the rule's.
	testExecARN = "arn:aws:states:us-east-1:123456789012:execution:autostop-sleep-rule:sleep-app-1"
)

// sleepAt identifies the sleep under test; a newer sleep is an hour later.
// wokenAt is when the fake table begins a wake.
var (
	sleepAt = time.Date(2026, 11, 29, 20, 11, 7, 123_000_000, time.UTC)
	newerAt = sleepAt.Add(time.Hour)
	wokenAt = sleepAt.Add(3 * time.Minute)
	errBoom = errors.New("boom")
)

// apiErr is an AWS error as the SDK returns it for a code it has no type for.
func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (fake)", Fault: smithy.FaultClient}
}

// stepError names the error the state machine would see for err
// ("NotStopped", "InvalidRequest", "Internal", …; "" for nil).
func stepError(err error) string {
	if err == nil {
		return ""
	}
	name := fmt.Sprintf("%T", steperr.Map(err))

	return strings.TrimPrefix(strings.TrimPrefix(name, "*steperr."), "*sleep.")
}

// checkErr fails the test unless err is the step error wantErr ("" for
// none) whose message names each of wantIn and, when wantCode is not "",
// keeps that AWS error code.
func checkErr(t *testing.T, err error, wantErr string, wantIn []string, wantCode string) {
	t.Helper()
	if name := stepError(err); name != wantErr {
		t.Fatalf("err = %v (%s), want %q", err, name, wantErr)
	}
	for _, s := range wantIn {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not name %q", err, s)
		}
	}
	var ae smithy.APIError
	if wantCode != "" && (!errors.As(err, &ae) || ae.ErrorCode() != wantCode) {
		t.Errorf("error %v does not keep the code %s", err, wantCode)
	}
}

// check fails the test unless the rule's writes are want, all of them
// for the sleep under test, and every read was strongly consistent.
func (f *fakeRules) check(t *testing.T, want []string) {
	t.Helper()
	if !slices.Equal(f.writes, want) {
		t.Errorf("rule writes %q,\n want %q", f.writes, want)
	}
	for _, at := range f.ats {
		if !at.Equal(sleepAt) {
			t.Errorf("a write for the sleep at %v, want %v", at, sleepAt)
		}
	}
	if f.eventualGets != 0 {
		t.Errorf("%d eventually consistent reads of the rule", f.eventualGets)
	}
}

// testItem is a rule in the sleep under test (stopping since sleepAt, its
// host rule still recorded) with the given instances.
func testItem(ids ...string) rulestore.Item {
	return rulestore.Item{
		Host:         testHost,
		Rule:         rule.Rule{Name: "app", Host: testHost, InstanceIDs: ids, Port: 8080, IdleMinutes: 5},
		LoadBalancer: testLB, LoadBalancerARN: testLBARN, ListenerARN: testListener, TargetGroupARN: testTG,
		ListenerRuleARN: testRuleARN,
		State:           rulestore.Stopping, SleepRequestedAt: sleepAt, SleepReason: rulestore.SleepIdle,
		ReadyAt: sleepAt.Add(-time.Hour), WakeRequestedAt: sleepAt.Add(-time.Hour - time.Minute), Version: 7,
	}
}

// testInput is the sleep's document as the state machine's Init builds it.
func testInput() Input {
	return Input{
		Host: testHost, SleepRequestedAt: sleepAt.Format(rulestore.TimeFormat), Reason: rulestore.SleepIdle,
		Execution: testExec, ExecutionARN: testExecARN,
		Timing: Timing{WatchSeconds: 50, PollMillis: 2000, TimeoutSeconds: 600, PendingWaitSeconds: 15, PendingMaxAttempts: 40},
	}
}

// fakeRules is the rules table with rulestore's conditional semantics: a
// sleep's write changes the rule only while it is stopping since that
// sleep. Writes are recorded as "Op detail".
type fakeRules struct {
	item   rulestore.Item
	exists bool
	writes []string
	// ats are the sleepRequestedAt of every sleep write.
	ats []time.Time
	// eventualGets counts reads that were not strongly consistent.
	eventualGets int
	gets         int
	getErr       error
	// errs fails an operation.
	errs map[string]error
	// supersedeAt: just before this operation, a newer sleep takes the
	// rule (as a detach or a stale wake would take it).
	supersedeAt string
}

func newFakeRules(it rulestore.Item) *fakeRules {
	return &fakeRules{item: it, exists: true, errs: map[string]error{}}
}

func (f *fakeRules) Get(_ context.Context, host string, consistent bool) (rulestore.Item, error) {
	f.gets++
	if !consistent {
		f.eventualGets++
	}
	if f.getErr != nil {
		return rulestore.Item{}, f.getErr
	}
	if !f.exists || host != f.item.Host {
		return rulestore.Item{}, fmt.Errorf("get rule %s: %w", host, rulestore.ErrNotFound)
	}

	return f.item, nil
}

// write applies change when the rule is still in the sleep at, and returns
// the item as written.
func (f *fakeRules) write(op, detail string, at time.Time, change func(*rulestore.Item)) (rulestore.Item, bool, error) {
	f.writes = append(f.writes, strings.TrimSpace(op+" "+detail))
	f.ats = append(f.ats, at)
	if f.supersedeAt == op {
		f.item.SleepRequestedAt = newerAt
	}
	if err := f.errs[op]; err != nil {
		return rulestore.Item{}, false, err
	}
	if f.item.State != rulestore.Stopping || !f.item.SleepRequestedAt.Equal(at) {
		return rulestore.Item{}, false, nil
	}
	change(&f.item)
	f.item.Version++

	return f.item, true, nil
}

func (f *fakeRules) RecordSleepExecution(_ context.Context, _ string, at time.Time, arn string) (bool, error) {
	_, changed, err := f.write("RecordSleepExecution", arn, at, func(it *rulestore.Item) { it.SleepExecution = arn })
	return changed, err
}

func (f *fakeRules) ClearHostRule(_ context.Context, _ string, at time.Time) (bool, error) {
	_, changed, err := f.write("ClearHostRule", "", at, func(it *rulestore.Item) { it.ListenerRuleARN = "" })
	return changed, err
}

func (f *fakeRules) FinishSleep(_ context.Context, _ string, at, stoppedAt time.Time, broken string) (rulestore.Item, bool, error) {
	detail := stoppedAt.UTC().Format(rulestore.TimeFormat)
	if broken != "" {
		detail += " broken: " + broken
	}
	return f.write("FinishSleep", detail, at, func(it *rulestore.Item) {
		it.State, it.StoppedAt, it.LastError = rulestore.Stopped, stoppedAt, ""
		if broken != "" {
			it.Broken = broken
		}
	})
}

func (f *fakeRules) FailSleep(_ context.Context, _ string, at time.Time, reason string) (rulestore.Item, bool, error) {
	state := rulestore.Stopped
	if f.item.ListenerRuleARN != "" {
		state = rulestore.Running
	}
	return f.write("FailSleep", reason, at, func(it *rulestore.Item) { it.State, it.LastError = state, reason })
}

// BeginWake is rulestore's: a stopped rule that is not broken (or one
// stale in stopping or starting) moves to starting at wokenAt.
func (f *fakeRules) BeginWake(_ context.Context, _ string, staleBefore time.Time) (rulestore.Item, bool, error) {
	f.writes = append(f.writes, "BeginWake")
	if f.supersedeAt == "BeginWake" { // a request's wake wins the race
		f.item.State, f.item.WakeRequestedAt, f.item.WakeWanted = rulestore.Starting, wokenAt.Add(-time.Second), false
	}
	if err := f.errs["BeginWake"]; err != nil {
		return rulestore.Item{}, false, err
	}
	it := f.item
	if it.Broken != "" || !(it.State == rulestore.Stopped || it.State == rulestore.Stopping && it.SleepRequestedAt.Before(staleBefore) ||
		it.State == rulestore.Starting && it.WakeRequestedAt.Before(staleBefore)) {
		return it, false, nil
	}
	it.State, it.Phase, it.LastError, it.WakeRequestedAt, it.WakeWanted = rulestore.Starting, rulestore.PhaseStarting, "", wokenAt, false
	it.Version++
	f.item = it

	return it, true, nil
}

func (f *fakeRules) FailWake(_ context.Context, _ string, at time.Time, reason string) (bool, error) {
	f.writes = append(f.writes, "FailWake "+reason)
	if err := f.errs["FailWake"]; err != nil {
		return false, err
	}
	if f.item.State != rulestore.Starting || !f.item.WakeRequestedAt.Equal(at) {
		return false, nil
	}
	f.item.State, f.item.Phase, f.item.LastError = rulestore.Stopped, "", reason
	f.item.Version++

	return true, nil
}

// fakeEC2 answers DescribeInstances with seq[i] at the i-th look (a look
// is a DescribeInstances without NextToken, and its pages), the last one
// repeating: instance → state. Instances absent from a look are not in the
// answer. It pages pageSize instances at a time (0: one page).
type fakeEC2 struct {
	seq         []map[string]string
	nlooks      int
	pageSize    int
	describeErr error
	stopErr     error
	stopped     [][]string
	calls       []string
	// describes are the DescribeInstances inputs.
	describes []*ec2.DescribeInstancesInput
}

func (f *fakeEC2) look() map[string]string {
	if len(f.seq) == 0 {
		return nil
	}

	return f.seq[min(f.nlooks-1, len(f.seq)-1)]
}

func (f *fakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.calls = append(f.calls, "DescribeInstances")
	f.describes = append(f.describes, in)
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	from := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		from, _ = strconv.Atoi(tok)
	} else {
		f.nlooks++
	}
	states := f.look()
	// It holds every instance it knows of, as if the filter were ignored:
	// the step must pick its own.
	ids := slices.Sorted(maps.Keys(states))
	to := len(ids)
	if f.pageSize > 0 && from+f.pageSize < to {
		to = from + f.pageSize
	}
	out := &ec2.DescribeInstancesOutput{}
	for _, id := range ids[from:to] {
		out.Reservations = append(out.Reservations, ec2types.Reservation{Instances: []ec2types.Instance{{
			InstanceId: aws.String(id), State: &ec2types.InstanceState{Name: ec2types.InstanceStateName(states[id])},
		}}})
	}
	if to < len(ids) {
		out.NextToken = aws.String(strconv.Itoa(to))
	}

	return out, nil
}

func (f *fakeEC2) StopInstances(_ context.Context, in *ec2.StopInstancesInput, _ ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error) {
	f.calls = append(f.calls, "StopInstances")
	f.stopped = append(f.stopped, slices.Clone(in.InstanceIds))
	if f.stopErr != nil {
		return nil, f.stopErr
	}
	if aws.ToBool(in.Force) || aws.ToBool(in.Hibernate) {
		return nil, fmt.Errorf("a sleep stops instances plainly: %+v", in)
	}

	return &ec2.StopInstancesOutput{}, nil
}

// fakeELB holds the listener rules by ARN.
type fakeELB struct {
	rules     map[string]bool
	deleteErr error
	deleted   []string
	calls     []string
}

func (f *fakeELB) DeleteRule(_ context.Context, in *elbv2.DeleteRuleInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error) {
	f.calls = append(f.calls, "DeleteRule")
	arn := aws.ToString(in.RuleArn)
	if f.deleteErr != nil {
		return nil, f.deleteErr
	}
	if !f.rules[arn] {
		return nil, apiErr("RuleNotFound")
	}
	delete(f.rules, arn)
	f.deleted = append(f.deleted, arn)

	return &elbv2.DeleteRuleOutput{}, nil
}

func (f *fakeELB) DescribeRules(_ context.Context, in *elbv2.DescribeRulesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error) {
	f.calls = append(f.calls, "DescribeRules")
	out := &elbv2.DescribeRulesOutput{}
	for _, arn := range in.RuleArns {
		if !f.rules[arn] {
			return nil, apiErr("RuleNotFound")
		}
		out.Rules = append(out.Rules, elbtypes.Rule{RuleArn: aws.String(arn)})
	}

	return out, nil
}

// fakeWaker records the wakes it starts.
type fakeWaker struct {
	started []rulestore.Item
	err     error
}

func (w *fakeWaker) StartWake(_ context.Context, it rulestore.Item) error {
	if w.err != nil {
		return w.err
	}
	w.started = append(w.started, it)

	return nil
}

// fakeClock is Deps.Now and Deps.Sleep: sleeping moves the clock on at once.
type fakeClock struct {
	now      time.Time
	slept    []time.Duration
	sleepErr error
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	if c.sleepErr != nil {
		return c.sleepErr
	}
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)

	return nil
}

// world is a sleep's fakes; deps hands them out and records the regions
// the clients were made for.
type world struct {
	rules   *fakeRules
	ec2     *fakeEC2
	elb     *fakeELB
	waker   *fakeWaker
	noWaker bool
	clock   *fakeClock
	regions []string
}

func newWorld(it rulestore.Item) *world {
	return &world{
		rules: newFakeRules(it), ec2: &fakeEC2{}, elb: &fakeELB{rules: map[string]bool{testRuleARN: true}},
		waker: &fakeWaker{}, clock: &fakeClock{now: sleepAt.Add(2 * time.Minute)},
	}
}

func (w *world) deps() Deps {
	d := Deps{
		Rules: w.rules,
		EC2: func(region string) EC2 {
			w.regions = append(w.regions, "ec2 "+region)
			return w.ec2
		},
		ELBv2: func(region string) ELBv2 {
			w.regions = append(w.regions, "elbv2 "+region)
			return w.elb
		},
		Now:   w.clock.Now,
		Sleep: w.clock.Sleep,
	}
	if !w.noWaker {
		d.Waker = w.waker
	}

	return d
}
