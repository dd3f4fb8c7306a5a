package statemachine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
)

// TestRacingEventsProvisionOneLoadBalancer puts two different "AutoStopping
// Rule Created" events for the same new load balancer on the autostop bus in
// one call. Each starts its own AttachRule execution (named from its event
// id), which provisions the load balancer through a nested ProvisionLoadBalancer
// execution of the same name; they race, and the account ends with one
// ALB, fully provisioned, neither execution rolled back the other's
// resources, and both rules attached to it.
func TestRacingEventsProvisionOneLoadBalancer(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	rw := ruleWorldOf(w, output{})
	launched := rw.launch(t, group{n: 1, stopped: true}, group{n: 1, stopped: true})

	raw, err := os.ReadFile(filepath.Join("samples", "events", "rule-created-new-load-balancer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sample struct {
		Detail struct {
			Rule         json.RawMessage `json:"rule"`
			LoadBalancer struct {
				Spec json.RawMessage `json:"spec"`
			} `json:"loadBalancer"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(raw, &sample); err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse(sample.Detail.LoadBalancer.Spec)
	if err != nil {
		t.Fatal(err)
	}
	s = w.env.Fill(s)

	var entries []ebtypes.PutEventsRequestEntry
	for i, rule := range []string{"app", "api"} {
		var r map[string]any
		if err := json.Unmarshal(sample.Detail.Rule, &r); err != nil {
			t.Fatal(err)
		}
		r["name"], r["host"], r["instanceIds"] = rule, rule+"."+w.env.Domain, launched[i]
		detail, err := json.Marshal(map[string]any{"rule": r, "loadBalancer": map[string]any{"spec": s}})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, ebtypes.PutEventsRequestEntry{
			EventBusName: aws.String("autostop"), Source: aws.String("autostop"),
			DetailType: aws.String("AutoStopping Rule Created"), Detail: aws.String(string(detail)),
		})
	}
	put, err := eventbridge.NewFromConfig(w.cfg).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil || put.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v (%d failed)", err, put.FailedEntryCount)
	}

	// Both AttachRule executions (one per event id) end, and so do their
	// nested provisionings.
	for _, e := range put.Entries {
		d := w.await(t, executionOf(rw.attach, aws.ToString(e.EventId)))
		if !strings.HasPrefix(aws.ToString(d.Name), "evt-") {
			t.Errorf("execution %s is not named from its event id", aws.ToString(d.Name))
		}
		requireSucceeded(t, d)
		nested := w.await(t, eventstart.ExecutionARN(w.machine, aws.ToString(d.Name)))
		requireSucceeded(t, nested)
	}
	list, err := w.states.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(w.machine)})
	if err != nil || len(list.Executions) != 2 {
		t.Errorf("ProvisionLoadBalancer executions: %d (%v), want the 2 nested ones", len(list.Executions), err)
	}

	lbs, err := elbv2.NewFromConfig(w.cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	var named int
	var lbARN string
	for _, lb := range lbs.LoadBalancers {
		if aws.ToString(lb.LoadBalancerName) == s.Name {
			named++
			lbARN = aws.ToString(lb.LoadBalancerArn)
			ls, err := elbv2.NewFromConfig(w.cfg).DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
			if err != nil || len(ls.Listeners) != 2 {
				t.Errorf("the ALB has %d listeners (%v), want HTTPS and HTTP", len(ls.Listeners), err)
			}
		}
	}
	if named != 1 {
		t.Fatalf("%d ALBs named %s, want exactly one", named, s.Name)
	}
	for _, rule := range []string{"app", "api"} {
		if a := rw.attachedTo(t, rule+"."+w.env.Domain); a.item == nil || a.item.LoadBalancerARN != lbARN {
			t.Errorf("rule %s: item %+v, want it on %s", rule, a.item, lbARN)
		}
	}
}

// TestRollbackKeepsWhatAnotherExecutionAdopted: execution "first" creates
// the load balancer, "second" runs the same request and adopts all of it;
// when "first" then rolls back (here: its rollback step invoked as the state
// machine would), it must delete nothing, since "second" succeeded with it.
func TestRollbackKeepsWhatAnotherExecutionAdopted(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := w.sample(t, "route53-existing-certificate")
	requireSucceeded(t, w.provision(t, s, "first"))
	requireSucceeded(t, w.provision(t, s, "second"))

	in, err := json.Marshal(step.Input{
		Spec: s, Execution: "first", StateMachine: w.machine,
		Error: &step.Error{Error: "Internal", Cause: "first failed late"},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewFromConfig(w.cfg).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("autostop-rollback"), Payload: in})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("rollback: %v %s", err, out.Payload)
	}
	var res step.RollbackResult
	if err := json.Unmarshal(out.Payload, &res); err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.KeptFor, ",") != "second" || len(res.Deleted) != 0 {
		t.Fatalf("rollback result %+v; want nothing deleted, kept for execution second", res)
	}
	if _, err := elbv2.NewFromConfig(w.cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{s.Name}}); err != nil {
		t.Fatalf("the load balancer the second execution uses is gone: %v", err)
	}
}
