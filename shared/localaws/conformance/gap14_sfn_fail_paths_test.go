package conformance

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// TestGap14SFNFailStateErrorPath: a Fail state reports the error and cause
// found at ErrorPath / CausePath in its input — how the provisioning
// workflow fails with the original error after its rollback.
func TestGap14SFNFailStateErrorPath(t *testing.T) {
	env := startSFN(t)

	const definition = `{
	  "StartAt": "Fail",
	  "States": {
	    "Fail": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}
	  }
	}`
	arn := env.createStateMachine(t, "gap14-fail-paths", definition)

	tests := []struct {
		name      string
		input     any
		wantError string
		wantCause string
	}{
		{
			name:      "paths resolve to strings",
			input:     map[string]any{"error": map[string]string{"Error": "Conflict", "Cause": "a load balancer named web exists and is not autostop's"}},
			wantError: "Conflict",
			wantCause: "a load balancer named web exists and is not autostop's",
		},
		{
			name:      "path that is not a string",
			input:     map[string]any{"error": map[string]any{"Error": 7, "Cause": "x"}},
			wantError: "States.Runtime",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exec := env.run(t, arn, tt.input)
			requireStatus(t, exec, sfntypes.ExecutionStatusFailed)
			if got := aws.ToString(exec.Error); got != tt.wantError {
				t.Errorf("execution error = %q, want %q", got, tt.wantError)
			}
			if tt.wantCause != "" && aws.ToString(exec.Cause) != tt.wantCause {
				t.Errorf("execution cause = %q, want %q", aws.ToString(exec.Cause), tt.wantCause)
			}
		})
	}
}
