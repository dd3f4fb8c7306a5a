package conformance

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Gap 4: Step Functions calls other services at kumo's own address
// (KUMO_HOST / KUMO_PORT), not a hard-wired localhost:4566, so a kumo on a
// free port can run a state machine whose Task invokes a Lambda function.
func TestGap04SFNTaskReachesLambdaOnKumoPort(t *testing.T) {
	env := startSFN(t)
	fnARN := env.deployFunction(t, "gap04-echo", "../testdata/echo")

	tests := []struct {
		name string
		task string
	}{
		{name: "function ARN", task: `"Resource": "` + fnARN + `"`},
		{name: "lambda:invoke", task: `"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "` + fnARN + `", "Payload.$": "$"}, "OutputPath": "$.Payload"`},
	}

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			definition := `{"StartAt": "Echo", "States": {"Echo": {"Type": "Task", ` + tt.task + `, "End": true}}}`
			sm := env.createStateMachine(t, "gap04-"+string(rune('a'+i)), definition)

			exec := env.run(t, sm, map[string]string{"hello": "kumo"})
			requireStatus(t, exec, sfntypes.ExecutionStatusSucceeded)

			var out struct {
				Event    map[string]string `json:"event"`
				Function string            `json:"function"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(exec.Output)), &out); err != nil {
				t.Fatalf("decode output %s: %v", aws.ToString(exec.Output), err)
			}

			if out.Function != "gap04-echo" || out.Event["hello"] != "kumo" {
				t.Errorf("output: got %s, want the echo function's answer to {\"hello\":\"kumo\"}", aws.ToString(exec.Output))
			}
		})
	}
}
