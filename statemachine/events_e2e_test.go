package statemachine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
)

// TestRacingEventsProvisionOneLoadBalancer puts two different "AutoStopping
// Rule Created" events for the same new load balancer on the autostop bus in
// one call. Each starts its own execution (named from its event id); they
// race, and the account ends with one ALB, fully provisioned, and neither
// execution rolled back the other's resources.
func TestRacingEventsProvisionOneLoadBalancer(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()

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
	for _, rule := range []string{"app", "api"} {
		var r map[string]any
		if err := json.Unmarshal(sample.Detail.Rule, &r); err != nil {
			t.Fatal(err)
		}
		r["name"], r["host"] = rule, rule+"."+w.env.Domain
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

	// Both executions start (one per event id) and end.
	var executions []sfntypes.ExecutionListItem
	deadline := time.Now().Add(2 * time.Minute)
	for {
		list, err := w.states.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(w.machine)})
		if err != nil {
			t.Fatal(err)
		}
		executions = list.Executions
		running := 0
		for _, e := range executions {
			if e.Status == sfntypes.ExecutionStatusRunning {
				running++
			}
		}
		if len(executions) == 2 && running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes: %d executions, %d running", len(executions), running)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, e := range executions {
		if !strings.HasPrefix(aws.ToString(e.Name), "evt-") {
			t.Errorf("execution %s is not named from its event id", aws.ToString(e.Name))
		}
		if e.Status != sfntypes.ExecutionStatusSucceeded {
			d, _ := w.states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
			t.Errorf("execution %s: %s %s: %s", aws.ToString(e.Name), e.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
	}

	lbs, err := elbv2.NewFromConfig(w.cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
	if err != nil {
		t.Fatal(err)
	}
	var named int
	for _, lb := range lbs.LoadBalancers {
		if aws.ToString(lb.LoadBalancerName) == s.Name {
			named++
			ls, err := elbv2.NewFromConfig(w.cfg).DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
			if err != nil || len(ls.Listeners) != 2 {
				t.Errorf("the ALB has %d listeners (%v), want HTTPS and HTTP", len(ls.Listeners), err)
			}
		}
	}
	if named != 1 {
		t.Fatalf("%d ALBs named %s, want exactly one", named, s.Name)
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
