package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// failfnTask returns the Task fields invoking fnARN in one of the two
// resource styles, passing the state input as the function's event.
func failfnTask(style, fnARN string) string {
	if style == "lambda:invoke" {
		return `"Resource": "arn:aws:states:::lambda:invoke",
			"Parameters": {"FunctionName": "` + fnARN + `", "Payload.$": "$"},
			"ResultSelector": {"ok.$": "$.Payload.ok", "attempt.$": "$.Payload.attempt"}`
	}

	return `"Resource": "` + fnARN + `"`
}

// Gap 1: a Lambda function error fails the Task with Error = the error's
// errorType and Cause = the error payload, for both resource styles; Retry
// and Catch match that name; States.TaskFailed and States.ALL match it too;
// a Catch's ResultPath receives {"Error", "Cause"}; a Parallel state fails
// with its branch's error.
func TestGap01SFNLambdaFunctionErrors(t *testing.T) {
	env := startSFN(t)
	fnARN := env.deployFunction(t, "gap01-failfn", "./testdata/failfn")

	type errorOutput struct {
		Error string `json:"Error"`
		Cause string `json:"Cause"`
	}

	// caught is the input of the state a Catch routed to.
	type caught struct {
		Fail   string      `json:"fail"`
		Caught errorOutput `json:"caught"`
	}

	tests := []struct {
		name string
		// states is the States object; %[1]s is the Task's resource fields.
		states string
		// fail, failTimes are failfn's input.
		fail      string
		failTimes int
		// wantStatus, wantInvocations, wantCaught, wantError are the expectations.
		wantStatus      sfntypes.ExecutionStatus
		wantInvocations int
		wantCaught      string // Error name delivered to the "Caught" state, "" if none
		wantError       string // execution Error when FAILED
	}{
		{
			name: "retry by error name until success",
			states: `"Call": {"Type": "Task", %[1]s,
					"Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}],
					"End": true}`,
			fail: "Throttled", failTimes: 2,
			wantStatus: sfntypes.ExecutionStatusSucceeded, wantInvocations: 3,
		},
		{
			name: "retries exhausted then caught by name",
			states: `"Call": {"Type": "Task", %[1]s,
					"Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2}],
					"Catch": [
						{"ErrorEquals": ["InvalidRequest"], "ResultPath": "$.caught", "Next": "Wrong"},
						{"ErrorEquals": ["Throttled"], "ResultPath": "$.caught", "Next": "Caught"}
					],
					"End": true},
				"Wrong": {"Type": "Fail", "Error": "WrongCatcher"},
				"Caught": {"Type": "Pass", "End": true}`,
			fail:       "Throttled",
			wantStatus: sfntypes.ExecutionStatusSucceeded, wantInvocations: 3, wantCaught: "Throttled",
		},
		{
			name: "retrier for another name does not retry",
			states: `"Call": {"Type": "Task", %[1]s,
					"Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "MaxAttempts": 3}],
					"Catch": [{"ErrorEquals": ["InvalidRequest"], "ResultPath": "$.caught", "Next": "Caught"}],
					"End": true},
				"Caught": {"Type": "Pass", "End": true}`,
			fail:       "InvalidRequest",
			wantStatus: sfntypes.ExecutionStatusSucceeded, wantInvocations: 1, wantCaught: "InvalidRequest",
		},
		{
			name: "States.TaskFailed matches a function error",
			states: `"Call": {"Type": "Task", %[1]s,
					"Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.caught", "Next": "Caught"}],
					"End": true},
				"Caught": {"Type": "Pass", "End": true}`,
			fail:       "InvalidRequest",
			wantStatus: sfntypes.ExecutionStatusSucceeded, wantInvocations: 1, wantCaught: "InvalidRequest",
		},
		{
			name: "States.ALL matches a function error",
			states: `"Call": {"Type": "Task", %[1]s,
					"Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
					"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Caught"}],
					"End": true},
				"Caught": {"Type": "Pass", "End": true}`,
			fail:       "InvalidRequest",
			wantStatus: sfntypes.ExecutionStatusSucceeded, wantInvocations: 2, wantCaught: "InvalidRequest",
		},
		{
			name:       "uncaught error fails the execution with its name",
			states:     `"Call": {"Type": "Task", %[1]s, "End": true}`,
			fail:       "InvalidRequest",
			wantStatus: sfntypes.ExecutionStatusFailed, wantInvocations: 1, wantError: "InvalidRequest",
		},
		{
			name: "Parallel fails with its branch's error",
			states: `"Fork": {"Type": "Parallel",
					"Branches": [{"StartAt": "Call", "States": {"Call": {"Type": "Task", %[1]s, "End": true}}}],
					"Catch": [{"ErrorEquals": ["InvalidRequest"], "ResultPath": "$.caught", "Next": "Caught"}],
					"End": true},
				"Caught": {"Type": "Pass", "End": true}`,
			fail:       "InvalidRequest",
			wantStatus: sfntypes.ExecutionStatusSucceeded, wantInvocations: 1, wantCaught: "InvalidRequest",
		},
	}

	n := 0
	for _, style := range []string{"function ARN", "lambda:invoke"} {
		for _, tt := range tests {
			n++
			t.Run(style+"/"+tt.name, func(t *testing.T) {
				states := fmt.Sprintf(tt.states, failfnTask(style, fnARN))
				start := "Call"
				if strings.HasPrefix(states, `"Fork"`) {
					start = "Fork"
				}
				definition := `{"StartAt": "` + start + `", "States": {` + states + `}}`
				sm := env.createStateMachine(t, fmt.Sprintf("gap01-%d", n), definition)

				counter, invocations := invocationCounter(t)
				exec := env.run(t, sm, map[string]any{"counter": counter, "fail": tt.fail, "failTimes": tt.failTimes})
				requireStatus(t, exec, tt.wantStatus)

				if got := invocations(); got != tt.wantInvocations {
					t.Errorf("function invocations: got %d, want %d", got, tt.wantInvocations)
				}

				if tt.wantError != "" {
					if got := aws.ToString(exec.Error); got != tt.wantError {
						t.Errorf("execution Error: got %q, want %q", got, tt.wantError)
					}
					checkCause(t, aws.ToString(exec.Cause), tt.wantError)
				}

				if tt.wantCaught == "" {
					return
				}

				var out caught
				if err := json.Unmarshal([]byte(aws.ToString(exec.Output)), &out); err != nil {
					t.Fatalf("decode output %s: %v", aws.ToString(exec.Output), err)
				}
				if out.Fail != tt.fail {
					t.Errorf("Catch ResultPath must keep the state input: output %s", aws.ToString(exec.Output))
				}
				if out.Caught.Error != tt.wantCaught {
					t.Errorf("caught Error: got %q, want %q (output %s)", out.Caught.Error, tt.wantCaught, aws.ToString(exec.Output))
				}
				checkCause(t, out.Caught.Cause, tt.wantCaught)
			})
		}
	}
}

// checkCause checks that cause is the function's error payload, as AWS
// reports it: {"errorMessage": ..., "errorType": <name>}.
func checkCause(t *testing.T, cause, errorType string) {
	t.Helper()

	var payload struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if err := json.Unmarshal([]byte(cause), &payload); err != nil {
		t.Errorf("Cause is not the function's error payload: %q (%v)", cause, err)
		return
	}
	if payload.ErrorType != errorType || !strings.Contains(payload.ErrorMessage, "failed on purpose") {
		t.Errorf("Cause: got %s, want the error payload with errorType %q", cause, errorType)
	}
}
