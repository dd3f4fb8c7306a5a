package eventstart

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

const (
	kumoFunctionName = "autostop-start-provisioning"
	kumoRoleARN      = "arn:aws:iam::" + localaws.AccountID + ":role/autostop-local"
	passDefinition   = `{"Comment":"stands in for AttachRule or DetachRule","StartAt":"Pass","States":{"Pass":{"Type":"Pass","Comment":"echoes the detail","End":true}}}`
	awaitTimeout     = 20 * time.Second
)

// TestStartOnLocalBackend runs Start with the real SDK against the local
// backend: a redelivered event starts one execution (and its second
// delivery makes no mutating call), two events start two, and each
// detail-type starts its own workflow.
func TestStartOnLocalBackend(t *testing.T) {
	b := localawstest.Start(t)
	ctx := t.Context()
	direct, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	url, err := b.Proxy().Listen("test")
	if err != nil {
		t.Fatal(err)
	}
	viaProxy, err := localaws.ConfigFor(ctx, url, b.Region())
	if err != nil {
		t.Fatal(err)
	}
	states := sfn.NewFromConfig(direct)
	ev := sampleEvent(t, sampleNew)

	t.Run("same event twice: one execution", func(t *testing.T) {
		t.Setenv(EnvAttachStateMachineARN, createPassStateMachine(t, states, "attach-redelivered"))
		t.Setenv(EnvDetachStateMachineARN, createPassStateMachine(t, states, "detach-redelivered"))
		cfg, err := ConfigFromEnv()
		if err != nil {
			t.Fatal(err)
		}
		client := NewClient(viaProxy, cfg)

		b.Proxy().Reset()
		first, err := Start(ctx, client, cfg, ev)
		if err != nil || !first.Started || first.ExecutionName != "evt-"+ev.ID {
			t.Fatalf("first delivery: %+v, %v; want started evt-%s", first, err, ev.ID)
		}
		firstMutating := countMutating(b.Proxy().Calls(), "test")

		b.Proxy().Reset()
		second, err := Start(ctx, client, cfg, ev)
		if err != nil {
			t.Fatalf("second delivery: %v", err)
		}
		if second.Started || second.ExecutionARN != first.ExecutionARN || second.Status == "" {
			t.Errorf("second delivery: %+v; want started false, the ARN %s and a status", second, first.ExecutionARN)
		}
		if n := countMutating(b.Proxy().Calls(), "test"); firstMutating != 1 || n != 0 {
			t.Errorf("mutating calls: first delivery %d, second %d; want 1 and 0", firstMutating, n)
		}

		execs := listExecutions(t, states, cfg.AttachStateMachineARN)
		if len(execs) != 1 {
			t.Fatalf("%d executions, want 1: %+v", len(execs), execs)
		}
		assertInputIsDetail(t, states, execs[0].ExecutionArn, ev)
		if execs := listExecutions(t, states, cfg.DetachStateMachineARN); len(execs) != 0 {
			t.Errorf("a created rule started DetachRule: %+v", execs)
		}
	})

	t.Run("deleted rule: DetachRule", func(t *testing.T) {
		cfg := Config{AttachStateMachineARN: createPassStateMachine(t, states, "attach-deleted"), DetachStateMachineARN: createPassStateMachine(t, states, "detach-deleted")}
		client := NewClient(viaProxy, cfg)
		del := sampleEvent(t, sampleDeleted)
		for range 2 {
			if _, err := Start(ctx, client, cfg, del); err != nil {
				t.Fatal(err)
			}
		}
		execs := listExecutions(t, states, cfg.DetachStateMachineARN)
		if len(execs) != 1 || aws.ToString(execs[0].Name) != "evt-"+del.ID {
			t.Fatalf("DetachRule executions %+v, want one named evt-%s", execs, del.ID)
		}
		assertInputIsDetail(t, states, execs[0].ExecutionArn, del)
		if execs := listExecutions(t, states, cfg.AttachStateMachineARN); len(execs) != 0 {
			t.Errorf("a deleted rule started AttachRule: %+v", execs)
		}
	})

	t.Run("two events for the same load balancer: two executions", func(t *testing.T) {
		cfg := Config{AttachStateMachineARN: createPassStateMachine(t, states, "attach-two-events"), DetachStateMachineARN: createPassStateMachine(t, states, "detach-two-events")}
		client := NewClient(viaProxy, cfg)
		other := ev
		other.ID = "b1946ac9-2d5c-4e21-8c3a-0f4b5e6d7a8b"
		for _, e := range []events.EventBridgeEvent{ev, other, ev, other} {
			if _, err := Start(ctx, client, cfg, e); err != nil {
				t.Fatalf("event %s: %v", e.ID, err)
			}
		}
		execs := listExecutions(t, states, cfg.AttachStateMachineARN)
		names := map[string]bool{}
		for _, e := range execs {
			names[aws.ToString(e.Name)] = true
		}
		if want := map[string]bool{"evt-" + ev.ID: true, "evt-" + other.ID: true}; !reflect.DeepEqual(names, want) {
			t.Errorf("executions %v, want %v", names, want)
		}
	})
}

// TestEventBridgeStartsOneExecution goes through EventBridge on the local
// backend, with the real start-provisioning binary as the rules' target.
//
// A redelivery is simulated the way it happens in AWS: one event reaches the
// function twice with the same id (two rules matching it here; in AWS also
// retries after a failed or throttled delivery, and EventBridge's
// at-least-once delivery). It starts exactly one execution. A second
// PutEvents of the same entry is a NEW event (EventBridge gives every
// PutEvents entry a new id; there is no producer-side id), so it starts a
// second execution, which the workflow absorbs (an identical rule attached
// again changes nothing).
func TestEventBridgeStartsOneExecution(t *testing.T) {
	b := localawstest.Start(t)
	ctx := t.Context()
	awsCfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states, bus, fns := sfn.NewFromConfig(awsCfg), eventbridge.NewFromConfig(awsCfg), lambda.NewFromConfig(awsCfg)

	smARN := createPassStateMachine(t, states, "autostop-attach-rule")
	err = b.DeployFunction(ctx, localaws.FunctionConfig{
		Name: kumoFunctionName, TimeoutSec: 30, MemoryMB: 128,
		Env: map[string]string{EnvAttachStateMachineARN: smARN, EnvDetachStateMachineARN: createPassStateMachine(t, states, "autostop-detach-rule")},
	}, localawstest.BuildFunction(t, "../../functions/start-provisioning"))
	if err != nil {
		t.Fatal(err)
	}
	fn, err := fns.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(kumoFunctionName)})
	if err != nil {
		t.Fatal(err)
	}
	fnARN := aws.ToString(fn.Configuration.FunctionArn)

	if _, err := bus.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(EventBusName)}); err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	for _, rule := range []string{"autostop-rule-events", "autostop-rule-events-copy"} {
		r, err := bus.PutRule(ctx, &eventbridge.PutRuleInput{
			Name: aws.String(rule), EventBusName: aws.String(EventBusName), EventPattern: aws.String(EventPattern),
		})
		if err != nil {
			t.Fatalf("PutRule %s: %v", rule, err)
		}
		// What CDK's LambdaFunction target adds: EventBridge may invoke the
		// function for this rule only.
		if _, err := fns.AddPermission(ctx, &lambda.AddPermissionInput{
			FunctionName: aws.String(kumoFunctionName), StatementId: aws.String(rule),
			Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("events.amazonaws.com"),
			SourceArn: r.RuleArn,
		}); err != nil {
			t.Fatalf("AddPermission %s: %v", rule, err)
		}
		out, err := bus.PutTargets(ctx, &eventbridge.PutTargetsInput{
			Rule: aws.String(rule), EventBusName: aws.String(EventBusName),
			Targets: []ebtypes.Target{{
				Id: aws.String("start-provisioning"), Arn: aws.String(fnARN),
				RetryPolicy: &ebtypes.RetryPolicy{MaximumEventAgeInSeconds: aws.Int32(3600), MaximumRetryAttempts: aws.Int32(185)},
			}},
		})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutTargets %s: %v %+v", rule, err, out)
		}
	}

	sample := sampleEvent(t, sampleNew)
	putEvent := func() string {
		t.Helper()
		out, err := bus.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String(EventBusName), Source: aws.String(Source),
			DetailType: aws.String(DetailTypeRuleCreated), Detail: aws.String(string(sample.Detail)),
		}}})
		if err != nil || out.FailedEntryCount != 0 || len(out.Entries) != 1 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
		return aws.ToString(out.Entries[0].EventId)
	}

	// One event, delivered twice (by the two rules) with one id.
	firstID := putEvent()
	awaitCalls(t, b, "DescribeExecution", 2)
	execs := listExecutions(t, states, smARN)
	if len(execs) != 1 || aws.ToString(execs[0].Name) != ExecutionName(firstID) {
		t.Fatalf("after one event delivered twice: executions %+v, want one named %s", execs, ExecutionName(firstID))
	}
	if n := countStarted(b.Proxy().Calls()); n != 1 {
		t.Errorf("the function started %d executions for one event delivered twice, want 1", n)
	}
	assertInputIsDetail(t, states, execs[0].ExecutionArn, sample)

	// The same entry put again: a new event id, a second execution.
	secondID := putEvent()
	if secondID == firstID {
		t.Fatalf("PutEvents gave the same event id twice: %s", firstID)
	}
	awaitCalls(t, b, "DescribeExecution", 4)
	execs = listExecutions(t, states, smARN)
	names := map[string]bool{}
	for _, e := range execs {
		names[aws.ToString(e.Name)] = true
	}
	if want := map[string]bool{ExecutionName(firstID): true, ExecutionName(secondID): true}; !reflect.DeepEqual(names, want) {
		t.Errorf("after a second PutEvents: executions %v, want %v", names, want)
	}
	if n := countStarted(b.Proxy().Calls()); n != 2 {
		t.Errorf("the function started %d executions for two events, each delivered twice; want 2", n)
	}
}

func createPassStateMachine(t *testing.T, states *sfn.Client, name string) string {
	t.Helper()

	out, err := states.CreateStateMachine(t.Context(), &sfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(passDefinition), RoleArn: aws.String(kumoRoleARN),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine %s: %v", name, err)
	}

	return aws.ToString(out.StateMachineArn)
}

func listExecutions(t *testing.T, states *sfn.Client, smARN string) []sfntypes.ExecutionListItem {
	t.Helper()

	out, err := states.ListExecutions(t.Context(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(smARN)})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}

	return out.Executions
}

// assertInputIsDetail: the execution's input is the event's detail, as
// the workflow reads it.
func assertInputIsDetail(t *testing.T, states *sfn.Client, execARN *string, ev events.EventBridgeEvent) {
	t.Helper()

	d, err := states.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: execARN})
	if err != nil {
		t.Fatalf("DescribeExecution: %v", err)
	}
	var got, want any
	if ev.DetailType == DetailTypeRuleDeleted {
		got, err = ParseDeletedDetail([]byte(aws.ToString(d.Input)))
		want, _ = ParseDeletedDetail(ev.Detail)
	} else {
		got, err = ParseDetail([]byte(aws.ToString(d.Input)))
		want, _ = ParseDetail(ev.Detail)
	}
	if err != nil {
		t.Fatalf("execution input %q: %v", aws.ToString(d.Input), err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("execution input %s, want the event's detail %s", aws.ToString(d.Input), ev.Detail)
	}
}

// awaitCalls waits until the function has made at least n calls of op.
func awaitCalls(t *testing.T, b *localaws.Backend, op string, n int) {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), awaitTimeout)
	defer cancel()
	for countOp(b.Proxy().Calls(), op) < n {
		select {
		case <-ctx.Done():
			t.Fatalf("the function made %d %s calls within %s, want %d (calls: %+v)", countOp(b.Proxy().Calls(), op), op, awaitTimeout, n, b.Proxy().Calls())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func countOp(calls []awsproxy.Call, op string) int {
	n := 0
	for _, c := range calls {
		if c.Caller == kumoFunctionName && c.Operation == op {
			n++
		}
	}

	return n
}

// countStarted counts the function's successful StartExecution calls (a
// concurrent duplicate delivery may make one more that fails with
// ExecutionAlreadyExists).
func countStarted(calls []awsproxy.Call) int {
	n := 0
	for _, c := range calls {
		if c.Caller == kumoFunctionName && c.Operation == "StartExecution" && c.Status == 200 {
			n++
		}
	}

	return n
}

func countMutating(calls []awsproxy.Call, caller string) int {
	n := 0
	for _, c := range calls {
		if c.Caller == caller && c.Mutating {
			n++
		}
	}

	return n
}
