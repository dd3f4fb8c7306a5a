package conformance

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 3: an EventBridge rule whose target is a Step Functions state machine
// starts an execution (StartExecution, generated name) for every matching
// event, with the event as input, or what the target's InputPath selects.
func TestGap03EventBridgeRuleStartsStateMachine(t *testing.T) {
	b := localawstest.Start(t)
	ctx := t.Context()

	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	events, states := eventbridge.NewFromConfig(cfg), sfn.NewFromConfig(cfg)

	const (
		bus        = "autostop"
		rule       = "gap03-rule-created"
		detailType = "AutoStopping Rule Created"
		detail     = `{"ruleId":"r-123","schedule":{"stop":"19:00","timezone":"Europe/Paris"},"tags":["a","b"]}`
	)
	pass := `{"StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": true}}}`
	roleARN := "arn:aws:iam::" + localaws.AccountID + ":role/autostop-events-test"

	// Each target gets its own state machine so that its executions tell
	// which input that target delivered.
	targets := []struct {
		id        string
		inputPath string
		// want is the execution input expected for the put event.
		want func(eventID string) map[string]any
	}{
		{id: "event", want: func(eventID string) map[string]any {
			return map[string]any{"id": eventID, "source": bus, "detail-type": detailType, "detail": gap03DecodeJSON(t, detail)}
		}},
		{id: "detail", inputPath: "$.detail", want: func(string) map[string]any { return gap03DecodeJSON(t, detail) }},
	}

	if _, err := events.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	if _, err := events.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:         aws.String(rule),
		EventBusName: aws.String(bus),
		EventPattern: aws.String(`{"source":["autostop"],"detail-type":["AutoStopping Rule Created"]}`),
	}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}

	machines := make([]string, len(targets))
	ebTargets := make([]ebtypes.Target, len(targets))
	for i, tg := range targets {
		machines[i] = gap03CreateStateMachine(t, states, "gap03-"+tg.id, pass, roleARN)
		ebTargets[i] = ebtypes.Target{Id: aws.String(tg.id), Arn: aws.String(machines[i]), RoleArn: aws.String(roleARN)}
		if tg.inputPath != "" {
			ebTargets[i].InputPath = aws.String(tg.inputPath)
		}
	}
	put, err := events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(rule), EventBusName: aws.String(bus), Targets: ebTargets})
	if err != nil || put.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: err %v, failed entries %+v", err, put)
	}

	// A non-matching event first (other detail-type), then the matching one;
	// rules are evaluated in PutEvents, so once the matching event's
	// executions exist, any started by the first event would exist too.
	putEvent := func(dt string) string {
		t.Helper()
		out, err := events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: aws.String(bus), Source: aws.String(bus), DetailType: aws.String(dt), Detail: aws.String(detail),
		}}})
		if err != nil || out.FailedEntryCount != 0 || len(out.Entries) != 1 {
			t.Fatalf("PutEvents %q: err %v, output %+v", dt, err, out)
		}
		return aws.ToString(out.Entries[0].EventId)
	}
	putEvent("AutoStopping Rule Deleted")
	eventID := putEvent(detailType)

	for i, tg := range targets {
		t.Run(tg.id, func(t *testing.T) {
			execs := gap03AwaitExecutions(t, states, machines[i])
			if len(execs) != 1 {
				t.Fatalf("state machine of target %q: got %d executions, want 1 (the non-matching event must start none)", tg.id, len(execs))
			}

			desc, err := states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: execs[0].ExecutionArn})
			if err != nil {
				t.Fatalf("DescribeExecution: %v", err)
			}
			if aws.ToString(desc.Name) == "" {
				t.Errorf("execution has no name, want a generated one")
			}

			got := gap03DecodeJSON(t, aws.ToString(desc.Input))
			want := tg.want(eventID)
			for k, w := range want {
				if !reflect.DeepEqual(got[k], w) {
					t.Errorf("execution input[%q]: got %#v, want %#v\n(input %s)", k, got[k], w, aws.ToString(desc.Input))
				}
			}
		})
	}
}

// gap03CreateStateMachine creates a Standard state machine and returns its ARN.
func gap03CreateStateMachine(t *testing.T, client *sfn.Client, name, definition, roleARN string) string {
	t.Helper()

	out, err := client.CreateStateMachine(t.Context(), &sfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(definition), RoleArn: aws.String(roleARN),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine %s: %v", name, err)
	}

	return aws.ToString(out.StateMachineArn)
}

// gap03AwaitExecutions polls ListExecutions until the state machine has at least
// one execution, or fails the test after 10 s.
func gap03AwaitExecutions(t *testing.T, client *sfn.Client, stateMachineARN string) []sfntypes.ExecutionListItem {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	for {
		out, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(stateMachineARN)})
		if err != nil {
			t.Fatalf("ListExecutions %s: %v", stateMachineARN, err)
		}
		if len(out.Executions) > 0 {
			return out.Executions
		}

		select {
		case <-ctx.Done():
			t.Fatalf("no execution of %s started within 10 s of the matching PutEvents", stateMachineARN)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// gap03DecodeJSON decodes a JSON object, failing the test when it is not one.
func gap03DecodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()

	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("decode JSON object %q: %v", s, err)
	}

	return m
}
