package conformance

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// TestGap16SFNContextObjectInParameters: a Pass state's Parameters read the
// execution's name, id, input and state machine from the Context object, as
// the provisioning workflow's Init state does.
func TestGap16SFNContextObjectInParameters(t *testing.T) {
	env := startSFN(t)

	const definition = `{
	  "StartAt": "Init",
	  "States": {
	    "Init": {
	      "Type": "Pass",
	      "Parameters": {
	        "spec.$": "$",
	        "execution.$": "$$.Execution.Name",
	        "executionId.$": "$$.Execution.Id",
	        "input.$": "$$.Execution.Input",
	        "machine.$": "$$.StateMachine.Name",
	        "state.$": "$$.State.Name"
	      },
	      "End": true
	    }
	  }
	}`
	arn := env.createStateMachine(t, "gap16-context", definition)

	exec := env.run(t, arn, map[string]string{"name": "web"})
	requireStatus(t, exec, sfntypes.ExecutionStatusSucceeded)

	var got struct {
		Spec        map[string]string `json:"spec"`
		Execution   string            `json:"execution"`
		ExecutionID string            `json:"executionId"`
		Input       map[string]string `json:"input"`
		Machine     string            `json:"machine"`
		State       string            `json:"state"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(exec.Output)), &got); err != nil {
		t.Fatalf("output %s: %v", aws.ToString(exec.Output), err)
	}
	if got.Execution != aws.ToString(exec.Name) || got.ExecutionID != aws.ToString(exec.ExecutionArn) {
		t.Errorf("execution name/id = %q/%q, want %q/%q", got.Execution, got.ExecutionID, aws.ToString(exec.Name), aws.ToString(exec.ExecutionArn))
	}
	if got.Spec["name"] != "web" || got.Input["name"] != "web" {
		t.Errorf("spec %v, $$.Execution.Input %v: want the execution input", got.Spec, got.Input)
	}
	if got.Machine != "gap16-context" || got.State != "Init" {
		t.Errorf("state machine %q, state %q", got.Machine, got.State)
	}
	if !strings.Contains(got.ExecutionID, ":execution:gap16-context:") {
		t.Errorf("execution id %q is not an execution ARN of the state machine", got.ExecutionID)
	}
}
