package statemachine

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/lbdelete"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localdeploy"
)

// deleteLB runs DeleteLoadBalancer and waits for it to end.
func (w *world) deleteLB(t testing.TB, name string, force bool, execution string) *sfn.DescribeExecutionOutput {
	t.Helper()
	machine := localdeploy.StateMachineARN(w.backend.Region(), app.NamePrefix+app.DeleteLoadBalancer)

	return w.run(t, machine, execution, lbdelete.Request{Name: name, Force: force})
}

// foreign writes, as another tool would, a record in the world's zone and a
// target group in its VPC: neither carries autostop's tags, and a deletion
// must leave both.
type foreign struct {
	record      string
	targetGroup string
}

func (w *world) addForeign(t testing.TB) foreign {
	t.Helper()
	ctx := context.Background()
	f := foreign{record: "www." + strings.TrimSuffix(w.env.Domain, ".") + "."}
	_, err := route53.NewFromConfig(w.cfg).ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(w.env.HostedZoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(f.record), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.10")}},
		}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := elbv2.NewFromConfig(w.cfg).CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("foreign-web"), Protocol: elbv2types.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String(w.env.VPCID),
		TargetType: elbv2types.TargetTypeEnumInstance,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.targetGroup = aws.ToString(tg.TargetGroups[0].TargetGroupArn)

	return f
}

// requireForeignUntouched fails unless the foreign record and target group
// are still there.
func (w *world) requireForeignUntouched(t testing.TB, f foreign) {
	t.Helper()
	ctx := context.Background()
	sets, err := route53.NewFromConfig(w.cfg).ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(w.env.HostedZoneID)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(sets.ResourceRecordSets, func(r r53types.ResourceRecordSet) bool { return aws.ToString(r.Name) == f.record }) {
		t.Errorf("the foreign record %s is gone", f.record)
	}
	if _, err := elbv2.NewFromConfig(w.cfg).DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{f.targetGroup}}); err != nil {
		t.Errorf("the foreign target group %s: %v", f.targetGroup, err)
	}
}

// deleteOutput decodes a DeleteLoadBalancer execution's output.
func deleteOutput(t testing.TB, d *sfn.DescribeExecutionOutput) (out struct {
	Name    string           `json:"name"`
	Adopted bool             `json:"adopted"`
	Message string           `json:"message"`
	Results lbdelete.Results `json:"results"`
}) {
	t.Helper()
	if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil {
		t.Fatalf("output %s: %v", aws.ToString(d.Output), err)
	}

	return out
}

// TestDeleteLoadBalancer provisions each kind of load balancer, deletes it
// and checks nothing with its tag is left while foreign resources stay; a
// second deletion has nothing to do.
func TestDeleteLoadBalancer(t *testing.T) {
	tests := []struct {
		sample string
		adopt  bool
		waits  []string // wait loops the deletion must go through
	}{
		// The certificate is released while the security group waits (ACM lets
		// go a few seconds after the listeners), so WaitCertificates rarely turns.
		{sample: "route53-issued-certificate", waits: []string{"WaitLoadBalancer"}},
		{sample: "other-dns-http-only", waits: []string{"WaitLoadBalancer"}},
		{sample: "adopt-existing-alb", adopt: true},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			t.Parallel()
			w := newWorldWith(t, localaws.Options{RealisticTiming: true})
			ctx := context.Background()
			s := w.sample(t, tt.sample)
			if tt.adopt {
				lb, err := elbv2.NewFromConfig(w.cfg).CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
					Name: aws.String(s.Name), Subnets: w.env.SubnetIDs, SecurityGroups: []string{w.env.WebSGID},
				})
				if err != nil {
					t.Fatal(err)
				}
				s.ARN = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
			}
			requireSucceeded(t, w.provision(t, s, "provision"))
			f := w.addForeign(t)
			if len(w.createdBy(t, s.Name, "")) == 0 {
				t.Fatal("nothing carries the load balancer's tag after provisioning")
			}

			d := w.deleteLB(t, s.Name, false, "delete")
			requireSucceeded(t, d)
			out := deleteOutput(t, d)
			if out.Adopted != tt.adopt {
				t.Errorf("adopted = %v, want %v", out.Adopted, tt.adopt)
			}
			h := w.entered(t, aws.ToString(d.ExecutionArn))
			t.Logf("%s: %d transitions; wait loops: %s", tt.sample, h.total, loopTurns(h.count))
			for _, wait := range tt.waits {
				if h.count[wait] < 1 {
					t.Errorf("%s never waited: the backend released it at once (states entered: %v)", wait, h.count)
				}
			}
			if left := w.createdBy(t, s.Name, ""); len(left) > 0 {
				t.Errorf("after the deletion, resources with the load balancer's tag remain: %v", left)
			}
			w.requireForeignUntouched(t, f)
			w.requireSeedUntouched(t)
			alb, err := elbv2.NewFromConfig(w.cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{s.Name}})
			if tt.adopt && (err != nil || len(alb.LoadBalancers) != 1) {
				t.Errorf("the adopted ALB is gone: %v", err)
			}
			if !tt.adopt && err == nil && len(alb.LoadBalancers) > 0 {
				t.Errorf("the ALB autostop created is still there")
			}

			again := w.deleteLB(t, s.Name, false, "delete-again")
			requireSucceeded(t, again)
			if out := deleteOutput(t, again); out.Message != "nothing to delete" {
				t.Errorf("second deletion: %+v, want nothing to delete", out)
			}
		})
	}
}

// TestDeleteWithRules: rules block the deletion until --force, which
// detaches them through DetachRule.
func TestDeleteWithRules(t *testing.T) {
	rw := newRuleWorld(t)
	ids := rw.instances(t, 1, "", true)
	attach := rw.await(t, executionOf(rw.attach, rw.putEvent(t, eventstart.DetailTypeRuleCreated, rw.ruleDetail("app", ids))))
	requireSucceeded(t, attach)

	refused := rw.deleteLB(t, rw.lb.Name, false, "delete-refused")
	if refused.Status != sfntypes.ExecutionStatusFailed || aws.ToString(refused.Error) != "RulesAttached" ||
		!strings.Contains(aws.ToString(refused.Cause), "app."+rw.lb.Domain) || !strings.Contains(aws.ToString(refused.Cause), "--force") {
		t.Fatalf("without force: %s %s: %s; want FAILED RulesAttached naming the rule and --force", refused.Status, aws.ToString(refused.Error), aws.ToString(refused.Cause))
	}
	for _, c := range rw.mutating() {
		if strings.HasPrefix(c.Caller, app.NamePrefix+"delete-") {
			t.Errorf("a refused deletion made a mutating call: %s by %s", opName(c), c.Caller)
		}
	}

	forced := rw.deleteLB(t, rw.lb.Name, true, "delete-forced")
	requireSucceeded(t, forced)
	if h := rw.entered(t, aws.ToString(forced.ExecutionArn)); h.count["DetachRule"] != 1 {
		t.Errorf("DetachRule entered %d times, want 1 (states: %v)", h.count["DetachRule"], h.count)
	}
	if a := rw.attachedTo(t, "app."+rw.lb.Domain); a.item != nil || len(a.targetGroups) > 0 || len(a.tagged) > 0 {
		t.Errorf("after --force the rule is still attached: %+v", a)
	}
	if left := rw.createdBy(t, rw.lb.Name, ""); len(left) > 0 {
		t.Errorf("resources with the load balancer's tag remain: %v", left)
	}
	if states := rw.instanceStates(t, ids); states[ids[0]] != "stopped" {
		t.Errorf("the rule's instance is %s: a deletion never starts, stops or terminates instances", states[ids[0]])
	}
}

// TestDeleteFaultsOnEveryMutatingCall: each mutating call of a clean
// deletion fails once (throttled: the step retries and the deletion
// succeeds) or for good (denied: the execution fails naming what is left,
// and running it again finishes the job).
func TestDeleteFaultsOnEveryMutatingCall(t *testing.T) {
	const sample = "route53-issued-certificate"
	realistic := localaws.Options{RealisticTiming: true}

	w := newWorldWith(t, realistic)
	requireSucceeded(t, w.provision(t, w.sample(t, sample), "provision"))
	w.backend.Proxy().Reset()
	requireSucceeded(t, w.deleteLB(t, w.sample(t, sample).Name, false, "discover"))
	targets := faultTargets(w.mutating())
	if len(targets) < 5 {
		t.Fatalf("a clean deletion made only %d distinct mutating calls: %s", len(targets), joinCalls(w.mutating()))
	}

	for _, tg := range targets {
		op := tg.call
		name := strings.TrimPrefix(op.Caller, "autostop-") + "/" + opName(op)
		t.Run(name+"/throttled", func(t *testing.T) {
			t.Parallel()
			w := newWorldWith(t, realistic)
			s := w.sample(t, sample)
			requireSucceeded(t, w.provision(t, s, "provision"))
			w.backend.Proxy().FailNthBy(op.Caller, op.Service, op.Operation, tg.nth, awsproxy.Throttled)
			requireSucceeded(t, w.deleteLB(t, s.Name, false, "throttled"))
			requireFaultInjected(t, w, op)
			if left := w.createdBy(t, s.Name, ""); len(left) > 0 {
				t.Errorf("resources with the load balancer's tag remain: %v", left)
			}
		})
		t.Run(name+"/denied", func(t *testing.T) {
			t.Parallel()
			w := newWorldWith(t, realistic)
			s := w.sample(t, sample)
			requireSucceeded(t, w.provision(t, s, "provision"))
			for n := tg.nth; n < tg.nth+20; n++ {
				w.backend.Proxy().FailNthBy(op.Caller, op.Service, op.Operation, n, awsproxy.AccessDenied)
			}
			d := w.deleteLB(t, s.Name, false, "denied")
			if d.Status != sfntypes.ExecutionStatusFailed || aws.ToString(d.Error) != "AccessDenied" {
				t.Fatalf("execution: %s %s (%s), want FAILED with AccessDenied", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
			}
			requireFaultInjected(t, w, op)
			// The cause is the error, then what is left (the list the
			// finder reads again after the failure).
			left := w.createdBy(t, s.Name, "")
			cause := aws.ToString(d.Cause)
			for _, r := range left {
				if id := r[strings.Index(r, " ")+1:]; !strings.Contains(cause, id) && !strings.HasPrefix(r, "record") {
					t.Errorf("the failure's cause does not name %s, which is left: %s", r, cause)
				}
			}
			if !strings.Contains(cause, " — ") || !strings.Contains(cause, "load balancer "+s.Name) {
				t.Errorf("the failure's cause does not say what is left: %s", cause)
			}

			w.backend.Proxy().ClearFaults() // the cause is fixed
			requireSucceeded(t, w.deleteLB(t, s.Name, false, "rerun"))
			if left := w.createdBy(t, s.Name, ""); len(left) > 0 {
				t.Errorf("after the re-run, resources with the load balancer's tag remain: %v", left)
			}
			w.requireSeedUntouched(t)
		})
	}
}
