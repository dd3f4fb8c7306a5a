package conformance

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// historyTypes lists the events' types in order.
func historyTypes(events []sfntypes.HistoryEvent) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = string(ev.Type)
	}

	return out
}

// enteredStates lists the names of the states the history entered, in order.
func enteredStates(events []sfntypes.HistoryEvent) []string {
	var out []string
	for _, ev := range events {
		if ev.StateEnteredEventDetails != nil {
			out = append(out, aws.ToString(ev.StateEnteredEventDetails.Name))
		}
	}

	return out
}

// requireIDs checks that ids count from 1 in the execution and that each
// event names the one before it as previousEventId.
func requireIDs(t *testing.T, events []sfntypes.HistoryEvent) {
	t.Helper()

	for i, ev := range events {
		if ev.Id != int64(i+1) {
			t.Fatalf("event %d (%s): id %d, want %d (ids count from 1 per execution)", i, ev.Type, ev.Id, i+1)
		}
		if i > 0 && ev.PreviousEventId != int64(i) {
			t.Errorf("event %d (%s): previousEventId %d, want %d", ev.Id, ev.Type, ev.PreviousEventId, i)
		}
	}
}

// Gap 1 + 2, the "must show": Retry (MaxAttempts 2) then Catch on a
// typed function error; the history shows every attempt failing with that
// error name and the Catch path's states being entered.
func TestGap02SFNHistoryShowsRetriesAndCatch(t *testing.T) {
	env := startSFN(t)
	fnARN := env.deployFunction(t, "gap02-retry-failfn", "./testdata/failfn")

	tests := []struct {
		style     string
		task      string
		scheduled string
		failed    string
	}{
		{
			style:     "lambda:invoke",
			task:      `"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "` + fnARN + `", "Payload.$": "$"}`,
			scheduled: "TaskScheduled", failed: "TaskFailed",
		},
		{
			style:     "function ARN",
			task:      `"Resource": "` + fnARN + `"`,
			scheduled: "LambdaFunctionScheduled", failed: "LambdaFunctionFailed",
		},
	}

	for i, tt := range tests {
		t.Run(tt.style, func(t *testing.T) {
			definition := `{"StartAt": "Provision", "States": {
				"Provision": {"Type": "Task", ` + tt.task + `,
					"Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}],
					"Catch": [{"ErrorEquals": ["Throttled"], "ResultPath": "$.error", "Next": "RecordFailure"}],
					"Next": "Done"},
				"Done": {"Type": "Succeed"},
				"RecordFailure": {"Type": "Pass", "Next": "Rollback"},
				"Rollback": {"Type": "Pass", "End": true}
			}}`
			sm := env.createStateMachine(t, fmt.Sprintf("gap02-retry-%d", i), definition)

			counter, invocations := invocationCounter(t)
			exec := env.run(t, sm, map[string]any{"counter": counter, "fail": "Throttled"})
			requireStatus(t, exec, sfntypes.ExecutionStatusSucceeded)

			if got := invocations(); got != 3 {
				t.Errorf("function invocations: got %d, want 3 (1 + 2 retries)", got)
			}

			events := env.history(t, aws.ToString(exec.ExecutionArn))
			types := historyTypes(events)
			requireIDs(t, events)

			var failures []string
			for _, ev := range events {
				switch {
				case ev.TaskFailedEventDetails != nil:
					d := ev.TaskFailedEventDetails
					failures = append(failures, aws.ToString(d.Error))
					if aws.ToString(d.ResourceType) != "lambda" || aws.ToString(d.Resource) != "invoke" {
						t.Errorf("TaskFailed resource: got %q/%q, want lambda/invoke", aws.ToString(d.ResourceType), aws.ToString(d.Resource))
					}
					checkCause(t, aws.ToString(d.Cause), "Throttled")
				case ev.LambdaFunctionFailedEventDetails != nil:
					failures = append(failures, aws.ToString(ev.LambdaFunctionFailedEventDetails.Error))
					checkCause(t, aws.ToString(ev.LambdaFunctionFailedEventDetails.Cause), "Throttled")
				}
			}
			if want := []string{"Throttled", "Throttled", "Throttled"}; !slices.Equal(failures, want) {
				t.Errorf("%s errors: got %v, want %v\nhistory: %v", tt.failed, failures, want, types)
			}

			if got := strings.Count(strings.Join(types, " "), tt.scheduled+" "); got != 3 {
				t.Errorf("%s events: got %d, want 3 (one per attempt)\nhistory: %v", tt.scheduled, got, types)
			}

			if got, want := enteredStates(events), []string{"Provision", "RecordFailure", "Rollback"}; !slices.Equal(got, want) {
				t.Errorf("states entered: got %v, want %v (the Catch path)\nhistory: %v", got, want, types)
			}

			if len(types) == 0 || types[len(types)-1] != "ExecutionSucceeded" {
				t.Errorf("last event: want ExecutionSucceeded\nhistory: %v", types)
			}
		})
	}
}

// Gap 2: GetExecutionHistory reports AWS's event types and details for every
// state type, ids from 1 in each execution, paging with maxResults and
// nextToken, reverseOrder and includeExecutionData=false.
func TestGap02SFNExecutionHistory(t *testing.T) {
	env := startSFN(t)
	fnARN := env.deployFunction(t, "gap02-failfn", "./testdata/failfn")

	definition := `{"StartAt": "Prepare", "States": {
		"Prepare": {"Type": "Pass", "Result": "prepared", "ResultPath": "$.note", "Next": "Route"},
		"Route": {"Type": "Choice", "Choices": [{"Variable": "$.reject", "BooleanEquals": true, "Next": "Reject"}], "Default": "Pause"},
		"Pause": {"Type": "Wait", "Seconds": 0, "Next": "Call"},
		"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
			"Parameters": {"FunctionName": "` + fnARN + `", "Payload.$": "$"},
			"ResultSelector": {"attempt.$": "$.Payload.attempt"}, "ResultPath": "$.call",
			"Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "MaxAttempts": 2}],
			"Next": "Done"},
		"Done": {"Type": "Succeed"},
		"Reject": {"Type": "Fail", "Error": "Rejected", "Cause": "input asked for it"}
	}}`
	sm := env.createStateMachine(t, "gap02-history", definition)

	counter, _ := invocationCounter(t)
	succeeded := env.run(t, sm, map[string]any{"counter": counter, "fail": "Throttled", "failTimes": 1, "reject": false})
	requireStatus(t, succeeded, sfntypes.ExecutionStatusSucceeded)
	failed := env.run(t, sm, map[string]any{"reject": true})
	requireStatus(t, failed, sfntypes.ExecutionStatusFailed)

	okARN, failARN := aws.ToString(succeeded.ExecutionArn), aws.ToString(failed.ExecutionArn)
	okEvents := env.history(t, okARN)
	failEvents := env.history(t, failARN)

	t.Run("event types of every state, retries visible", func(t *testing.T) {
		want := []string{
			"ExecutionStarted",
			"PassStateEntered", "PassStateExited",
			"ChoiceStateEntered", "ChoiceStateExited",
			"WaitStateEntered", "WaitStateExited",
			"TaskStateEntered",
			"TaskScheduled", "TaskStarted", "TaskFailed", // attempt 1: Throttled
			"TaskScheduled", "TaskStarted", "TaskSucceeded", // retry
			"TaskStateExited",
			"SucceedStateEntered", "SucceedStateExited",
			"ExecutionSucceeded",
		}
		if got := historyTypes(okEvents); !slices.Equal(got, want) {
			t.Fatalf("history of the succeeded execution:\n got %v\nwant %v", got, want)
		}

		wantFailed := []string{
			"ExecutionStarted",
			"PassStateEntered", "PassStateExited",
			"ChoiceStateEntered", "ChoiceStateExited",
			"FailStateEntered",
			"ExecutionFailed",
		}
		if got := historyTypes(failEvents); !slices.Equal(got, wantFailed) {
			t.Fatalf("history of the failed execution:\n got %v\nwant %v", got, wantFailed)
		}
	})

	t.Run("details", func(t *testing.T) {
		byType := func(events []sfntypes.HistoryEvent, typ string) []sfntypes.HistoryEvent {
			var out []sfntypes.HistoryEvent
			for _, ev := range events {
				if string(ev.Type) == typ {
					out = append(out, ev)
				}
			}
			return out
		}

		if ev := byType(okEvents, "PassStateExited"); len(ev) != 1 || ev[0].StateExitedEventDetails == nil ||
			aws.ToString(ev[0].StateExitedEventDetails.Name) != "Prepare" ||
			!strings.Contains(aws.ToString(ev[0].StateExitedEventDetails.Output), `"note":"prepared"`) {
			t.Errorf("PassStateExited: want name Prepare and the state's output, got %+v", ev)
		}
		if ev := byType(okEvents, "WaitStateEntered"); len(ev) != 1 || ev[0].StateEnteredEventDetails == nil ||
			aws.ToString(ev[0].StateEnteredEventDetails.Name) != "Pause" ||
			!strings.Contains(aws.ToString(ev[0].StateEnteredEventDetails.Input), `"note":"prepared"`) {
			t.Errorf("WaitStateEntered: want name Pause and the state's input, got %+v", ev)
		}

		scheduled := byType(okEvents, "TaskScheduled")
		if len(scheduled) != 2 {
			t.Fatalf("TaskScheduled: got %d, want 2", len(scheduled))
		}
		d := scheduled[0].TaskScheduledEventDetails
		if d == nil || aws.ToString(d.ResourceType) != "lambda" || aws.ToString(d.Resource) != "invoke" ||
			aws.ToString(d.Region) != env.backend.Region() || !strings.Contains(aws.ToString(d.Parameters), `"FunctionName":"`+fnARN+`"`) {
			t.Errorf("TaskScheduled details: got %+v, want resourceType lambda, resource invoke, region, parameters with FunctionName", d)
		}

		if ev := byType(okEvents, "TaskFailed"); len(ev) != 1 || ev[0].TaskFailedEventDetails == nil ||
			aws.ToString(ev[0].TaskFailedEventDetails.Error) != "Throttled" {
			t.Errorf("TaskFailed: want one with error Throttled, got %+v", ev)
		}
		if ev := byType(okEvents, "TaskSucceeded"); len(ev) != 1 || ev[0].TaskSucceededEventDetails == nil ||
			!strings.Contains(aws.ToString(ev[0].TaskSucceededEventDetails.Output), `"attempt":2`) {
			t.Errorf("TaskSucceeded: want the second attempt's output, got %+v", ev)
		}
		if ev := byType(failEvents, "ExecutionFailed"); len(ev) != 1 || ev[0].ExecutionFailedEventDetails == nil ||
			aws.ToString(ev[0].ExecutionFailedEventDetails.Error) != "Rejected" {
			t.Errorf("ExecutionFailed: want error Rejected, got %+v", ev)
		}
	})

	t.Run("ids count from 1 in each execution", func(t *testing.T) {
		requireIDs(t, okEvents)
		requireIDs(t, failEvents)
	})

	t.Run("paging with maxResults and nextToken", func(t *testing.T) {
		for _, reverse := range []bool{false, true} {
			var ids []int64
			var token *string
			pages := 0
			for {
				page, err := env.sfn.GetExecutionHistory(t.Context(), &sfn.GetExecutionHistoryInput{
					ExecutionArn: aws.String(okARN), MaxResults: 5, NextToken: token, ReverseOrder: reverse,
				})
				if err != nil {
					t.Fatalf("GetExecutionHistory (page %d, reverse %v): %v", pages+1, reverse, err)
				}
				pages++
				if len(page.Events) > 5 {
					t.Fatalf("page %d has %d events, want at most maxResults 5", pages, len(page.Events))
				}
				for _, ev := range page.Events {
					ids = append(ids, ev.Id)
				}
				if page.NextToken == nil {
					break
				}
				if pages > 10 {
					t.Fatal("nextToken never ends")
				}
				token = page.NextToken
			}

			want := make([]int64, len(okEvents))
			for i := range want {
				want[i] = int64(i + 1)
			}
			if reverse {
				slices.Reverse(want)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("ids over %d pages (reverse %v): got %v, want %v", pages, reverse, ids, want)
			}
			if pages != 4 {
				t.Errorf("pages of 5 for %d events: got %d, want 4", len(okEvents), pages)
			}
		}
	})

	t.Run("includeExecutionData=false drops payloads", func(t *testing.T) {
		out, err := env.sfn.GetExecutionHistory(t.Context(), &sfn.GetExecutionHistoryInput{
			ExecutionArn: aws.String(okARN), IncludeExecutionData: aws.Bool(false),
		})
		if err != nil {
			t.Fatalf("GetExecutionHistory: %v", err)
		}
		if len(out.Events) != len(okEvents) {
			t.Fatalf("events: got %d, want %d", len(out.Events), len(okEvents))
		}
		for _, ev := range out.Events {
			var payload string
			switch {
			case ev.ExecutionStartedEventDetails != nil:
				payload = aws.ToString(ev.ExecutionStartedEventDetails.Input)
			case ev.ExecutionSucceededEventDetails != nil:
				payload = aws.ToString(ev.ExecutionSucceededEventDetails.Output)
			case ev.StateEnteredEventDetails != nil:
				payload = aws.ToString(ev.StateEnteredEventDetails.Input)
				if aws.ToString(ev.StateEnteredEventDetails.Name) == "" {
					t.Errorf("event %d (%s) lost its state name", ev.Id, ev.Type)
				}
			case ev.StateExitedEventDetails != nil:
				payload = aws.ToString(ev.StateExitedEventDetails.Output)
			case ev.TaskScheduledEventDetails != nil:
				payload = aws.ToString(ev.TaskScheduledEventDetails.Parameters)
			case ev.TaskSucceededEventDetails != nil:
				payload = aws.ToString(ev.TaskSucceededEventDetails.Output)
			}
			if payload != "" {
				t.Errorf("event %d (%s) still carries execution data: %s", ev.Id, ev.Type, payload)
			}
		}
		if types := historyTypes(out.Events); !slices.Equal(types, historyTypes(okEvents)) {
			t.Errorf("event types without data: got %v, want %v", types, historyTypes(okEvents))
		}
	})
}
