package statemachine

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/hostrule"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/ruletarget"
)

// TestAttachRuleByEvent: an "AutoStopping Rule Created" event on the bus
// attaches the rule (target group with the rule's health check, registered
// and tagged instances, item stopped); the same event delivered again
// starts nothing, and a second event for the same rule succeeds without a
// single mutating call.
func TestAttachRuleByEvent(t *testing.T) {
	rw := newRuleWorld(t)
	ctx := context.Background()
	ids := rw.instances(t, 2, "", true)
	host := "app." + rw.lb.Domain

	eventID := rw.putEvent(t, eventstart.DetailTypeRuleCreated, rw.ruleDetail("app", ids))
	d := rw.await(t, executionOf(rw.attach, eventID))
	out := decodeAttach(t, d)
	if out.Rule != "app" || out.Host != host || out.LoadBalancer != rw.lb.Name || out.State != "stopped" || out.InstancesRunning {
		t.Errorf("output %+v, want rule app at %s on %s, stopped, instances not running", out, host, rw.lb.Name)
	}
	if len(rw.stepMutations()) == 0 {
		t.Fatal("the attach made no mutating call: is the proxy recording?")
	}

	// The target group: HTTP on the rule's port, in the VPC, the rule's
	// health check, tagged in the create call.
	tgs, err := rw.elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{out.TargetGroupARN}})
	if err != nil {
		t.Fatalf("target group %s: %v", out.TargetGroupARN, err)
	}
	tg := tgs.TargetGroups[0]
	if aws.ToString(tg.TargetGroupName) != ruletarget.TargetGroupName("app", host) || tg.Protocol != elbtypes.ProtocolEnumHttp ||
		aws.ToInt32(tg.Port) != 8080 || aws.ToString(tg.VpcId) != rw.env.VPCID || tg.TargetType != elbtypes.TargetTypeEnumInstance {
		t.Errorf("target group %s: %s %d in %s (%s)", aws.ToString(tg.TargetGroupName), tg.Protocol, aws.ToInt32(tg.Port), aws.ToString(tg.VpcId), tg.TargetType)
	}
	if aws.ToString(tg.HealthCheckPath) != "/healthz" || aws.ToInt32(tg.HealthCheckIntervalSeconds) != 10 || aws.ToInt32(tg.HealthCheckTimeoutSeconds) != 3 ||
		aws.ToInt32(tg.HealthyThresholdCount) != 2 || aws.ToInt32(tg.UnhealthyThresholdCount) != 3 || aws.ToString(tg.Matcher.HttpCode) != "200-299" {
		t.Errorf("health check: path %s interval %d timeout %d thresholds %d/%d codes %s", aws.ToString(tg.HealthCheckPath), aws.ToInt32(tg.HealthCheckIntervalSeconds),
			aws.ToInt32(tg.HealthCheckTimeoutSeconds), aws.ToInt32(tg.HealthyThresholdCount), aws.ToInt32(tg.UnhealthyThresholdCount), aws.ToString(tg.Matcher.HttpCode))
	}
	a := rw.attachedTo(t, host)
	execution := eventstart.ExecutionName(eventID)
	if tags := a.targetGroups[out.TargetGroupARN]; !ownership.CreatedBy(tags, rw.lb.Name, execution) || tags["team"] != "platform" {
		t.Errorf("target group tags %v", tags)
	}

	// The instances: registered on the rule's port, tagged, still stopped.
	health, err := rw.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(out.TargetGroupARN)})
	if err != nil {
		t.Fatal(err)
	}
	var registered []string
	for _, h := range health.TargetHealthDescriptions {
		registered = append(registered, fmt.Sprintf("%s:%d", aws.ToString(h.Target.Id), aws.ToInt32(h.Target.Port)))
	}
	slices.Sort(registered)
	want := []string{ids[0] + ":8080", ids[1] + ":8080"}
	slices.Sort(want)
	if !slices.Equal(registered, want) {
		t.Errorf("registered targets %v, want %v", registered, want)
	}
	sorted := slices.Sorted(slices.Values(ids))
	if !slices.Equal(a.tagged, sorted) {
		t.Errorf("instances tagged %s=%s: %v, want %v", ownership.RuleKey, host, a.tagged, sorted)
	}
	for id, s := range rw.instanceStates(t, ids) {
		if s != "stopped" {
			t.Errorf("instance %s is %s after the attach, want stopped", id, s)
		}
	}

	// The item.
	if a.item == nil {
		t.Fatal("no rule item")
	}
	it := *a.item
	if it.State != rulestore.Stopped || it.AttachedBy != execution || it.LoadBalancer != rw.lb.Name ||
		it.LoadBalancerARN != rw.lb.Results.LoadBalancer.ARN || it.ListenerARN != rw.lb.Results.Listeners.HTTPSListenerARN || it.TargetGroupARN != out.TargetGroupARN ||
		it.Rule.HoldSeconds != 25 || it.Rule.HealthCheck.Path != "/healthz" || it.Version != 1 {
		t.Errorf("item %+v", it)
	}
	if out.ListenerARN != rw.lb.Results.Listeners.HTTPSListenerARN {
		t.Errorf("output listener %s, want the HTTPS listener %s", out.ListenerARN, rw.lb.Results.Listeners.HTTPSListenerARN)
	}

	// The same event again (as EventBridge redelivers it): no new
	// execution, no mutating call.
	rw.backend.Proxy().Reset()
	redeliver(t, rw.world, eventID, eventstart.DetailTypeRuleCreated, rw.ruleDetail("app", ids))
	if m := rw.mutating(); len(m) != 0 {
		t.Errorf("a redelivered event made %d mutating calls: %s", len(m), joinCalls(m))
	}
	list, err := rw.states.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(rw.attach)})
	if err != nil || len(list.Executions) != 1 {
		t.Errorf("AttachRule executions after a redelivery: %d (%v), want 1", len(list.Executions), err)
	}

	// Another event for the same rule: it succeeds and changes nothing.
	rw.backend.Proxy().Reset()
	second := rw.await(t, executionOf(rw.attach, rw.putEvent(t, eventstart.DetailTypeRuleCreated, rw.ruleDetail("app", ids))))
	if o := decodeAttach(t, second); o.Results.Item.Action != "adopted" || o.TargetGroupARN != out.TargetGroupARN {
		t.Errorf("second event: %+v, want the item adopted and the same target group", o)
	}
	if m := rw.stepMutations(); len(m) != 0 {
		t.Errorf("a second event for the same rule made %d mutating calls: %s", len(m), joinCalls(m))
	}
}

// redeliver invokes the starter with an event of the given id, as
// EventBridge does when it delivers an event again.
func redeliver(t testing.TB, w *world, id, detailType string, detail any) {
	t.Helper()
	raw, err := json.Marshal(detail)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := json.Marshal(map[string]any{
		"version": "0", "id": id, "detail-type": detailType, "source": eventstart.Source, "account": "000000000000",
		"time": "2026-12-01T00:00:00Z", "region": w.backend.Region(), "resources": []string{}, "detail": json.RawMessage(raw),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewFromConfig(w.cfg).Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(app.NamePrefix + "start-provisioning"), Payload: ev})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("redeliver: %v %s", err, out.Payload)
	}
	var res eventstart.Result
	if err := json.Unmarshal(out.Payload, &res); err != nil || res.Started || res.Status == "" {
		t.Fatalf("redelivery result %s (%v): want the existing execution, not started", out.Payload, err)
	}
}

// TestAttachRuleWithLoadBalancerSpec: an event whose detail carries a
// load balancer spec provisions the load balancer (a nested
// ProvisionLoadBalancer execution named like the AttachRule one) and
// attaches the rule to it.
func TestAttachRuleWithLoadBalancerSpec(t *testing.T) {
	w := newWorld(t)
	rw := ruleWorldOf(w, output{})
	ids := rw.instances(t, 1, "", false)
	s := w.sample(t, "route53-existing-certificate")
	detail := map[string]any{
		"rule":         map[string]any{"name": "api", "instanceIds": ids, "port": 8080, "idleMinutes": 5},
		"loadBalancer": map[string]any{"spec": s},
	}

	// A spec the nested provisioning rejects: AttachRule fails with it,
	// and neither execution leaves anything.
	bad := s
	bad.VPCID = "vpc-0000000000000dead"
	d := w.run(t, rw.attach, "attach-bad-spec", map[string]any{"rule": detail["rule"], "loadBalancer": map[string]any{"spec": bad}})
	if d.Status != sfntypes.ExecutionStatusFailed || !strings.Contains(aws.ToString(d.Cause), "vpcId") {
		t.Errorf("AttachRule with a bad spec: %s %s (%s), want FAILED naming vpcId", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
	}
	if nested := w.await(t, eventstart.ExecutionARN(w.machine, "attach-bad-spec")); nested.Status != sfntypes.ExecutionStatusFailed || aws.ToString(nested.Error) != "InvalidRequest" {
		t.Errorf("nested provisioning: %s %s, want FAILED with InvalidRequest", nested.Status, aws.ToString(nested.Error))
	}
	if m := w.mutating(); len(m) != 0 {
		t.Errorf("a bad spec made %d mutating calls: %s", len(m), joinCalls(m))
	}

	d = w.run(t, rw.attach, "attach-with-spec", detail)
	out := decodeAttach(t, d)
	if out.Host != "api."+w.env.Domain || out.LoadBalancer != s.Name || !out.InstancesRunning {
		t.Errorf("output %+v, want host api.%s on %s, instances running", out, w.env.Domain, s.Name)
	}
	nested, err := w.states.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(eventstart.ExecutionARN(w.machine, "attach-with-spec"))})
	if err != nil {
		t.Fatalf("the nested ProvisionLoadBalancer execution: %v", err)
	}
	requireSucceeded(t, nested)
	lb := decodeOutput(t, nested.Output)
	if a := rw.attachedTo(t, out.Host); a.item == nil || a.item.LoadBalancerARN != lb.Results.LoadBalancer.ARN {
		t.Errorf("item %+v, want it on the provisioned load balancer %s", a.item, lb.Results.LoadBalancer.ARN)
	}
	// The proxy target group records the domain.
	tags, err := rw.elb.DescribeTags(context.Background(), &elbv2.DescribeTagsInput{ResourceArns: []string{lb.Results.ProxyTarget.TargetGroupARN}})
	if err != nil || len(tags.TagDescriptions) != 1 {
		t.Fatal(err)
	}
	var domain string
	for _, tag := range tags.TagDescriptions[0].Tags {
		if aws.ToString(tag.Key) == ownership.DomainKey {
			domain = aws.ToString(tag.Value)
		}
	}
	if domain != w.env.Domain {
		t.Errorf("proxy target group %s = %q, want %s", ownership.DomainKey, domain, w.env.Domain)
	}
}

// TestBadRulesFailInValidateRule: each check of ValidateRule fails the
// execution with its named error, and nothing is created (no mutating call
// at all).
func TestBadRulesFailInValidateRule(t *testing.T) {
	rw := newRuleWorld(t)
	ctx := context.Background()
	launched := rw.launch(t, group{n: 2, stopped: true}, group{n: 1, subnet: rw.env.OtherSubnetID, stopped: true}, group{n: 1}, group{n: 1, stopped: true})
	ids, other, terminated, taken := launched[0], launched[1], launched[2], launched[3]
	if _, err := rw.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: terminated}); err != nil {
		t.Fatal(err)
	}
	if err := ec2.NewInstanceTerminatedWaiter(rw.ec2).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: terminated}, time.Minute,
		func(o *ec2.InstanceTerminatedWaiterOptions) { o.MinDelay = 100 * time.Millisecond }); err != nil {
		t.Fatal(err)
	}

	// A rule already attached: its host and its instance are taken.
	requireSucceeded(t, rw.run(t, rw.attach, "attach-taken", rw.ruleDetail("taken", taken)))

	set := func(key string, v any) func(map[string]any) {
		return func(d map[string]any) { d["rule"].(map[string]any)[key] = v }
	}
	tests := []struct {
		name   string
		change func(d map[string]any)
		setup  func(t *testing.T) (undo func())
		want   string
		text   string
	}{
		{name: "bad rule", change: set("port", 0), want: "InvalidRequest", text: "rule.port"},
		{name: "no such load balancer", change: func(d map[string]any) { d["loadBalancer"] = map[string]any{"name": "nope"} }, want: "InvalidRequest", text: `load balancer "nope" does not exist`},
		{name: "host not under the domain", change: set("host", "app.example.org"), want: "InvalidRequest", text: "rule.host"},
		{name: "instance missing", change: set("instanceIds", []string{ids[0], "i-00000000000000dead"}), want: "InvalidRequest", text: "i-00000000000000dead does not exist"},
		{name: "instance terminated", change: set("instanceIds", terminated), want: "InvalidRequest", text: "is terminated"},
		{name: "instance in another VPC", change: set("instanceIds", []string{ids[0], other[0]}), want: "InvalidRequest", text: other[0] + ` is in VPC "` + rw.env.OtherVPCID + `"`},
		{name: "instance in another rule", change: set("instanceIds", []string{ids[0], taken[0]}), want: "Conflict", text: "is in the AutoStopping rule of host taken." + rw.lb.Domain},
		{name: "host taken by another rule", change: set("host", "taken."+rw.lb.Domain), want: "Conflict", text: `already has the AutoStopping rule "taken"`},
		{name: "load balancer not autostop's (no domain tag)", setup: func(t *testing.T) func() {
			arn := rw.lb.Results.ProxyTarget.TargetGroupARN
			if _, err := rw.elb.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{arn}, TagKeys: []string{ownership.DomainKey}}); err != nil {
				t.Fatal(err)
			}
			return func() {
				if _, err := rw.elb.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{arn}, Tags: []elbtypes.Tag{{Key: aws.String(ownership.DomainKey), Value: aws.String(rw.lb.Domain)}}}); err != nil {
					t.Fatal(err)
				}
			}
		}, want: "InvalidRequest", text: "carries no autostop:domain tag"},
		{name: "load balancer not autostop's (foreign proxy)", setup: func(t *testing.T) func() {
			arn := rw.lb.Results.ProxyTarget.TargetGroupARN
			if _, err := rw.elb.RemoveTags(ctx, &elbv2.RemoveTagsInput{ResourceArns: []string{arn}, TagKeys: []string{ownership.ManagedByKey}}); err != nil {
				t.Fatal(err)
			}
			return func() {
				if _, err := rw.elb.AddTags(ctx, &elbv2.AddTagsInput{ResourceArns: []string{arn}, Tags: []elbtypes.Tag{{Key: aws.String(ownership.ManagedByKey), Value: aws.String(ownership.ManagedByValue)}}}); err != nil {
					t.Fatal(err)
				}
			}
		}, want: "Conflict", text: "is not an autostop load balancer"},
		{name: "no room: 99 rules already", setup: func(t *testing.T) func() {
			var arns []string
			for i := range 98 { // with "taken": 99 rules
				name := fmt.Sprintf("r%d-%08x", i, i)
				tags := ownership.Tags(rw.lb.Name, "seed", nil)
				tags[ownership.RuleKey] = fmt.Sprintf("r%d.%s", i, rw.lb.Domain)
				var elbTags []elbtypes.Tag
				for _, k := range ownership.Keys(tags) {
					elbTags = append(elbTags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
				}
				out, err := rw.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
					VpcId: aws.String(rw.env.VPCID), TargetType: elbtypes.TargetTypeEnumInstance, Tags: elbTags})
				if err != nil {
					t.Fatal(err)
				}
				arns = append(arns, aws.ToString(out.TargetGroups[0].TargetGroupArn))
			}
			return func() {
				for _, arn := range arns {
					if _, err := rw.elb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}, want: "Conflict", text: "holds at most 99 rules"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				defer tt.setup(t)()
			}
			d := rw.ruleDetail("app", ids)
			if tt.change != nil {
				tt.change(d)
			}
			rw.backend.Proxy().Reset()
			ex := rw.run(t, rw.attach, fmt.Sprintf("bad-%d", i), d)
			requireFailedWith(t, ex, tt.want)
			if msg := causeMessage(ex); !strings.Contains(msg, tt.text) {
				t.Errorf("cause %q does not say %q", msg, tt.text)
			}
			if m := rw.mutating(); len(m) != 0 {
				t.Errorf("%d mutating calls: %s", len(m), joinCalls(m))
			}
		})
	}
	if a := rw.attachedTo(t, "app."+rw.lb.Domain); len(a.targetGroups) != 0 || len(a.tagged) != 0 || a.item != nil {
		t.Errorf("after the bad rules: %+v", a)
	}
}

// TestAttachRuleFaults injects, for every mutating call AttachRule makes, a
// throttling error (the execution still succeeds: retried) and a permanent
// AccessDenied on that call and every later one of its operation (the
// execution fails with AccessDenied and leaves nothing of its own: no
// target group with its tag, no instance tag, no item). One world serves
// every case: each uses its own rule and instances.
func TestAttachRuleFaults(t *testing.T) {
	rw := newRuleWorld(t)
	// Instances for the clean run and for each case (4 operations, 2 cases
	// each), launched together.
	groups := make([]group, 9)
	for i := range groups {
		groups[i] = group{n: 1, stopped: true}
	}
	spare := rw.launch(t, groups...)
	next := func() []string { ids := spare[0]; spare = spare[1:]; return ids }
	requireSucceeded(t, rw.run(t, rw.attach, "discover", rw.ruleDetail("discover", next())))
	var ops []awsproxy.Call
	seen := map[string]bool{}
	for _, c := range rw.stepMutations() {
		if !seen[opName(c)] {
			seen[opName(c)] = true
			ops = append(ops, c)
		}
	}
	var names []string
	for _, c := range ops {
		names = append(names, opName(c))
	}
	if want := []string{"elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:RegisterTargets", "ec2:CreateTags", "dynamodb:PutItem"}; !slices.Equal(names, want) {
		t.Fatalf("a clean attach made the mutating calls %v, want %v", names, want)
	}

	for i, op := range ops {
		name := strings.TrimPrefix(op.Caller, app.NamePrefix) + "/" + opName(op)
		t.Run(name+"/throttled", func(t *testing.T) {
			rule := fmt.Sprintf("throttled%d", i)
			ids := next()
			rw.backend.Proxy().Reset()
			rw.backend.Proxy().ClearFaults()
			rw.backend.Proxy().FailNth(op.Service, op.Operation, 1, awsproxy.Throttled)
			requireSucceeded(t, rw.run(t, rw.attach, rule, rw.ruleDetail(rule, ids)))
			requireFaultInjected(t, rw.world, op)
			if a := rw.attachedTo(t, rule+"."+rw.lb.Domain); a.item == nil || len(a.targetGroups) != 1 || len(a.tagged) != 1 {
				t.Errorf("after a retried fault: %+v", a)
			}
		})
		t.Run(name+"/denied", func(t *testing.T) {
			rule := fmt.Sprintf("denied%d", i)
			ids := next()
			rw.backend.Proxy().Reset()
			rw.backend.Proxy().ClearFaults()
			for n := 1; n <= 20; n++ {
				rw.backend.Proxy().FailNth(op.Service, op.Operation, n, awsproxy.AccessDenied)
			}
			d := rw.run(t, rw.attach, rule, rw.ruleDetail(rule, ids))
			rw.backend.Proxy().ClearFaults()
			requireFailedWith(t, d, "AccessDenied")
			requireFaultInjected(t, rw.world, op)
			if left := rw.createdByExecution(t, rule+"."+rw.lb.Domain, rule); len(left) > 0 {
				t.Errorf("after the rollback, the failed execution's resources remain: %v", left)
			}
			if a := rw.attachedTo(t, rule+"."+rw.lb.Domain); len(a.targetGroups) != 0 || len(a.tagged) != 0 || a.item != nil {
				t.Errorf("after the rollback: %+v", a)
			}
			// What the steps before the fault created, the rollback deleted
			// (its successful mutating calls: the SDK may retry one).
			var undone []string
			for _, c := range rw.backend.Proxy().Calls() {
				if c.Caller == app.NamePrefix+"attach-rollback" && c.Mutating && c.Fault == "" && c.Status < 300 {
					undone = append(undone, c.Operation)
				}
			}
			want := map[int][]string{0: nil, 1: {"DeleteTargetGroup"}, 2: {"DeregisterTargets", "DeleteTargetGroup"}, 3: {"DeleteTags", "DeregisterTargets", "DeleteTargetGroup"}}[i]
			if !slices.Equal(undone, want) {
				t.Errorf("the rollback's mutating calls %v, want %v", undone, want)
			}
			for id, s := range rw.instanceStates(t, ids) {
				if s != "stopped" {
					t.Errorf("instance %s is %s, want stopped", id, s)
				}
			}
		})
	}
}

// TestDetachRule: an "AutoStopping Rule Deleted" event detaches a rule whose
// host rule forwards to its instances (as after a wake): the host rule,
// the target group, the instance tags and the item are gone, another
// host's rule stays, and the instances are in the state they were (one
// running, one stopped: never started, stopped or terminated). A second
// event changes nothing.
func TestDetachRule(t *testing.T) {
	rw := newRuleWorld(t)
	// The rule is attached stopped with one instance running: the idle
	// watcher would rightly wake it (started outside autostop) meanwhile,
	// starting the stopped one this test expects untouched.
	defer rw.pauseWatcher(t)()
	ctx := context.Background()
	launched := rw.launch(t, group{n: 1}, group{n: 1, stopped: true})
	running, stopped := launched[0], launched[1]
	ids := append(append([]string(nil), running...), stopped...)
	host := "app." + rw.lb.Domain
	out := decodeAttach(t, rw.run(t, rw.attach, "attach-app", rw.ruleDetail("app", ids)))

	// What a wake adds, and another host's rule that must stay.
	tags := ownership.Tags(rw.lb.Name, "wake-1", nil)
	hr, err := hostrule.Ensure(ctx, rw.elb, hostrule.Spec{ListenerARN: out.ListenerARN, Host: host, TargetGroupARN: out.TargetGroupARN, Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	otherRule, err := rw.elb.CreateRule(ctx, &elbv2.CreateRuleInput{
		ListenerArn: aws.String(out.ListenerARN), Priority: aws.Int32(int32(hostrule.Priority(host)%49000 + 1000)),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"other." + rw.lb.Domain}}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("200")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := rw.instanceStates(t, ids)

	rw.backend.Proxy().Reset()
	d := rw.await(t, executionOf(rw.detach, rw.putEvent(t, eventstart.DetailTypeRuleDeleted, map[string]any{"host": host, "name": "app"})))
	requireSucceeded(t, d)
	var res struct {
		Detached bool `json:"detached"`
		Results  map[string]struct {
			Resources []struct{ Kind, ID, Action string } `json:"resources"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &res); err != nil || !res.Detached {
		t.Fatalf("output %s: %v", aws.ToString(d.Output), err)
	}
	if r := res.Results["hostRule"].Resources; len(r) != 1 || r[0].ID != hr.ARN || r[0].Action != "deleted" {
		t.Errorf("hostRule result %+v, want %s deleted", r, hr.ARN)
	}

	rules, err := rw.elb.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(out.ListenerARN)})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, r := range rules.Rules {
		if !aws.ToBool(r.IsDefault) {
			left = append(left, aws.ToString(r.RuleArn))
		}
	}
	if !slices.Equal(left, []string{aws.ToString(otherRule.Rules[0].RuleArn)}) {
		t.Errorf("listener rules left %v, want only the other host's %s", left, aws.ToString(otherRule.Rules[0].RuleArn))
	}
	if _, err := rw.elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{out.TargetGroupARN}}); err == nil {
		t.Errorf("target group %s still exists", out.TargetGroupARN)
	}
	if a := rw.attachedTo(t, host); len(a.targetGroups) != 0 || len(a.tagged) != 0 || a.item != nil {
		t.Errorf("after the detach: %+v", a)
	}
	if after := rw.instanceStates(t, ids); !mapsEqual(after, before) || after[running[0]] != "running" || after[stopped[0]] != "stopped" {
		t.Errorf("instance states %v, before %v", after, before)
	}
	for _, c := range rw.backend.Proxy().Calls() {
		if c.Service == "ec2" && (strings.HasSuffix(c.Operation, "Instances") && c.Operation != "DescribeInstances") {
			t.Errorf("the detach called %s", opName(c))
		}
	}

	// A second event: nothing to do.
	rw.backend.Proxy().Reset()
	d = rw.await(t, executionOf(rw.detach, rw.putEvent(t, eventstart.DetailTypeRuleDeleted, map[string]any{"host": host})))
	requireSucceeded(t, d)
	if !strings.Contains(aws.ToString(d.Output), `"detached":false`) {
		t.Errorf("second detach output %s, want detached false", aws.ToString(d.Output))
	}
	if m := rw.stepMutations(); len(m) != 0 {
		t.Errorf("a second detach made %d mutating calls: %s", len(m), joinCalls(m))
	}
}

// TestDetachRuleChecksTheName: a Deleted event naming another rule than the
// host's detaches nothing.
func TestDetachRuleChecksTheName(t *testing.T) {
	rw := newRuleWorld(t)
	ids := rw.instances(t, 1, "", true)
	host := "app." + rw.lb.Domain
	requireSucceeded(t, rw.run(t, rw.attach, "attach-app", rw.ruleDetail("app", ids)))
	rw.backend.Proxy().Reset()
	requireFailedWith(t, rw.run(t, rw.detach, "detach-wrong-name", map[string]any{"host": host, "name": "api"}), "Conflict")
	if m := rw.stepMutations(); len(m) != 0 {
		t.Errorf("%d mutating calls: %s", len(m), joinCalls(m))
	}
	if a := rw.attachedTo(t, host); a.item == nil || len(a.targetGroups) != 1 {
		t.Errorf("the rule was touched: %+v", a)
	}
}

// causeMessage is the failed execution's error message (the cause is the
// function's error document).
func causeMessage(d *sfn.DescribeExecutionOutput) string {
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(d.Cause)), &doc); err != nil || doc.ErrorMessage == "" {
		return aws.ToString(d.Cause)
	}

	return doc.ErrorMessage
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}

	return true
}
