package wake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	testHost     = "app.autostop.example.test"
	testRegion   = "eu-west-1"
	testLB       = "web"
	testLBARN    = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/0123456789abcdef"
	testListener = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123456789abcdef/fedcba9876543210"
	testTG       = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/app/0123456789abcdef"
	testExec     = "wake-app-1"
	// The state machine runs in the functions' region, not the rule's.
	testExecARN = "arn:aws:states:us-east-1:123456789012:execution:autostop-wake-rule:wake-app-1"
)

// wakeAt identifies the wake under test; a newer wake is an hour later.
var (
	wakeAt   = time.Date(2026, 11, 29, 20, 11, 7, 123_000_000, time.UTC)
	newerAt  = wakeAt.Add(time.Hour)
	errBoom  = errors.New("boom")
	testTags = map[string]string{"team": "a"}
)

// apiErr is an AWS error as the SDK returns it for a code it has no type for.
func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (fake)", Fault: smithy.FaultClient}
}

// stepError names the error the state machine would see for err
// ("NotReady", "InvalidRequest", "Internal", …; "" for nil).
func stepError(err error) string {
	if err == nil {
		return ""
	}

	return strings.TrimPrefix(fmt.Sprintf("%T", steperr.Map(err)), "*steperr.")
}

// testItem is a rule in the wake under test (starting since wakeAt) with
// the given instances.
func testItem(ids ...string) rulestore.Item {
	return rulestore.Item{
		Host:         testHost,
		Rule:         rule.Rule{Name: "app", Host: testHost, InstanceIDs: ids, Port: 8080, IdleMinutes: 5, GraceSeconds: 15, Tags: maps.Clone(testTags)},
		LoadBalancer: testLB, LoadBalancerARN: testLBARN, ListenerARN: testListener, TargetGroupARN: testTG,
		State: rulestore.Starting, Phase: rulestore.PhaseStarting, WakeRequestedAt: wakeAt, Version: 3,
	}
}

// testInput is the wake's document as the state machine's Init builds it.
func testInput() Input {
	return Input{
		Host: testHost, WakeRequestedAt: wakeAt.Format(rulestore.TimeFormat),
		Execution: testExec, ExecutionARN: testExecARN,
		Timing: Timing{WatchSeconds: 60, PollMillis: 1000, TimeoutSeconds: 300, StoppingWaitSeconds: 5, StoppingMaxAttempts: 12},
	}
}

// fakeRules is the rules table with rulestore's conditional semantics: a
// wake's write changes the rule only while it is starting since that wake.
// Writes are recorded as "Op detail".
type fakeRules struct {
	item   rulestore.Item
	exists bool
	writes []string
	// ats are the wakeRequestedAt of every write.
	ats []time.Time
	// eventualGets counts reads that were not strongly consistent.
	eventualGets int
	getErr       error
	// errs fails an operation.
	errs map[string]error
	// supersedeAt: just before this operation, a newer wake takes the rule
	// (as a racing wake, sleep or detach would).
	supersedeAt string
}

func newFakeRules(it rulestore.Item) *fakeRules {
	return &fakeRules{item: it, exists: true, errs: map[string]error{}}
}

func (f *fakeRules) Get(_ context.Context, host string, consistent bool) (rulestore.Item, error) {
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

// write applies change when the rule is still in the wake at.
func (f *fakeRules) write(op, detail string, at time.Time, change func(*rulestore.Item)) (bool, error) {
	f.writes = append(f.writes, strings.TrimSpace(op+" "+detail))
	f.ats = append(f.ats, at)
	if f.supersedeAt == op {
		f.item.WakeRequestedAt = newerAt
	}
	if err := f.errs[op]; err != nil {
		return false, err
	}
	if f.item.State != rulestore.Starting || !f.item.WakeRequestedAt.Equal(at) {
		return false, nil
	}
	change(&f.item)
	f.item.Version++

	return true, nil
}

func (f *fakeRules) RecordWakeExecution(_ context.Context, _ string, at time.Time, arn string) (bool, error) {
	return f.write("RecordWakeExecution", arn, at, func(it *rulestore.Item) { it.WakeExecution = arn })
}

func (f *fakeRules) SetPhase(_ context.Context, _ string, at time.Time, phase rulestore.Phase) (bool, error) {
	return f.write("SetPhase", string(phase), at, func(it *rulestore.Item) { it.Phase = phase })
}

func (f *fakeRules) FinishWake(_ context.Context, _ string, at time.Time, listenerRuleARN string, readyAt time.Time) (bool, error) {
	return f.write("FinishWake", listenerRuleARN, at, func(it *rulestore.Item) {
		it.State, it.Phase, it.LastError, it.ListenerRuleARN, it.ReadyAt = rulestore.Running, "", "", listenerRuleARN, readyAt
	})
}

func (f *fakeRules) FailWake(_ context.Context, _ string, at time.Time, reason string) (bool, error) {
	return f.write("FailWake", reason, at, func(it *rulestore.Item) { it.State, it.Phase, it.LastError = rulestore.Stopped, "", reason })
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
	startErr    error
	started     [][]string
	calls       []string
}

func (f *fakeEC2) look() map[string]string {
	if len(f.seq) == 0 {
		return nil
	}

	return f.seq[min(f.nlooks-1, len(f.seq)-1)]
}

func (f *fakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.calls = append(f.calls, "DescribeInstances")
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
	// Like a filter-less answer, it holds every instance it knows of: the
	// step must pick its own.
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

func (f *fakeEC2) StartInstances(_ context.Context, in *ec2.StartInstancesInput, _ ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error) {
	f.calls = append(f.calls, "StartInstances")
	f.started = append(f.started, slices.Clone(in.InstanceIds))
	if f.startErr != nil {
		return nil, f.startErr
	}

	return &ec2.StartInstancesOutput{}, nil
}

// fakeELB answers DescribeTargetHealth with health[i] at the i-th call, the
// last one repeating (a target absent from it is not registered), and holds
// the host rules of testListener.
type fakeELB struct {
	health    []map[string]elbtypes.TargetHealth
	healthN   int
	healthErr error
	asked     [][]string // targets of each DescribeTargetHealth call

	rules   []elbtypes.Rule
	tags    map[string]map[string]string
	creates []*elbv2.CreateRuleInput
	calls   []string
}

func healthy() elbtypes.TargetHealth {
	return elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumHealthy}
}

func target(state elbtypes.TargetHealthStateEnum, reason elbtypes.TargetHealthReasonEnum) elbtypes.TargetHealth {
	return elbtypes.TargetHealth{State: state, Reason: reason, Description: aws.String(string(reason) + " (fake)")}
}

func (f *fakeELB) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	f.calls = append(f.calls, "DescribeTargetHealth")
	var asked []string
	for _, t := range in.Targets {
		asked = append(asked, aws.ToString(t.Id))
	}
	f.asked = append(f.asked, asked)
	if f.healthErr != nil {
		return nil, f.healthErr
	}
	if aws.ToString(in.TargetGroupArn) != testTG {
		return nil, apiErr("TargetGroupNotFound")
	}
	f.healthN++
	var now map[string]elbtypes.TargetHealth
	if len(f.health) > 0 {
		now = f.health[min(f.healthN-1, len(f.health)-1)]
	}
	out := &elbv2.DescribeTargetHealthOutput{}
	for _, id := range asked {
		h, ok := now[id]
		if !ok {
			h = target(elbtypes.TargetHealthStateEnumUnused, elbtypes.TargetHealthReasonEnumNotRegistered)
		}
		d := elbtypes.TargetHealthDescription{Target: &elbtypes.TargetDescription{Id: aws.String(id), Port: aws.Int32(8080)}, TargetHealth: &h}
		if h.State == "" { // elbtypes.TargetHealth{}: described without health
			d.TargetHealth = nil
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, d)
	}

	return out, nil
}

func ruleARN(n int) string {
	return fmt.Sprintf("%s/rule-%d", strings.Replace(testListener, ":listener/", ":listener-rule/", 1), n)
}

// addRule puts a host rule forwarding to testTG on testListener, as if
// created earlier.
func (f *fakeELB) addRule(host string, priority int, tags map[string]string) string {
	arn := ruleARN(len(f.rules) + 1)
	f.rules = append(f.rules, elbtypes.Rule{
		RuleArn: aws.String(arn), Priority: aws.String(strconv.Itoa(priority)),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{host}}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(testTG)}},
	})
	if f.tags == nil {
		f.tags = map[string]map[string]string{}
	}
	f.tags[arn] = tags

	return arn
}

func (f *fakeELB) DescribeRules(_ context.Context, in *elbv2.DescribeRulesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error) {
	f.calls = append(f.calls, "DescribeRules")
	if aws.ToString(in.ListenerArn) != testListener {
		return nil, apiErr("ListenerNotFound")
	}

	return &elbv2.DescribeRulesOutput{Rules: slices.Clone(f.rules)}, nil
}

func (f *fakeELB) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	f.calls = append(f.calls, "DescribeTags")
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		d := elbtypes.TagDescription{ResourceArn: aws.String(arn)}
		for k, v := range f.tags[arn] {
			d.Tags = append(d.Tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}

	return out, nil
}

func (f *fakeELB) CreateRule(_ context.Context, in *elbv2.CreateRuleInput, _ ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error) {
	f.calls = append(f.calls, "CreateRule")
	f.creates = append(f.creates, in)
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	f.addRule(in.Conditions[0].HostHeaderConfig.Values[0], int(aws.ToInt32(in.Priority)), tags)

	return &elbv2.CreateRuleOutput{Rules: []elbtypes.Rule{f.rules[len(f.rules)-1]}}, nil
}

func (f *fakeELB) DeleteRule(_ context.Context, in *elbv2.DeleteRuleInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error) {
	f.calls = append(f.calls, "DeleteRule")
	i := slices.IndexFunc(f.rules, func(r elbtypes.Rule) bool { return aws.ToString(r.RuleArn) == aws.ToString(in.RuleArn) })
	if i < 0 {
		return nil, apiErr("RuleNotFound")
	}
	f.rules = slices.Delete(f.rules, i, i+1)

	return &elbv2.DeleteRuleOutput{}, nil
}

func (f *fakeELB) ModifyRule(context.Context, *elbv2.ModifyRuleInput, ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error) {
	f.calls = append(f.calls, "ModifyRule")
	return nil, fmt.Errorf("a wake of a rule whose host rule forwards to its target group never modifies it")
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

// world is a wake's fakes; deps hands them out and records the regions the
// clients were made for.
type world struct {
	rules   *fakeRules
	ec2     *fakeEC2
	elb     *fakeELB
	clock   *fakeClock
	regions []string
}

func newWorld(it rulestore.Item) *world {
	return &world{rules: newFakeRules(it), ec2: &fakeEC2{}, elb: &fakeELB{}, clock: &fakeClock{now: wakeAt.Add(10 * time.Second)}}
}

func (w *world) deps() Deps {
	return Deps{
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
}
