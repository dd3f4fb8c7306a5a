package conformance

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// TestGap38SFNDescribeStateMachineForExecution: DescribeStateMachineForExecution
// returns the state machine an execution ran, with its definition; an
// unknown execution is ExecutionDoesNotExist.
func TestGap38SFNDescribeStateMachineForExecution(t *testing.T) {
	env := startSFN(t)

	const definition = `{
	  "StartAt": "Done",
	  "States": {
	    "Done": {"Type": "Pass", "Result": {"gap": 38}, "End": true}
	  }
	}`
	smARN := env.createStateMachine(t, "gap38-for-execution", definition)
	exec := env.run(t, smARN, map[string]any{})
	requireStatus(t, exec, sfntypes.ExecutionStatusSucceeded)

	t.Run("the execution's state machine and definition", func(t *testing.T) {
		out, err := env.sfn.DescribeStateMachineForExecution(t.Context(), &sfn.DescribeStateMachineForExecutionInput{
			ExecutionArn: exec.ExecutionArn,
		})
		if err != nil {
			t.Fatalf("DescribeStateMachineForExecution: %v", err)
		}

		if got := aws.ToString(out.StateMachineArn); got != smARN {
			t.Errorf("stateMachineArn = %q, want %q", got, smARN)
		}

		if got := aws.ToString(out.Name); got != "gap38-for-execution" {
			t.Errorf("name = %q, want %q", got, "gap38-for-execution")
		}

		if got := aws.ToString(out.Definition); got != definition {
			t.Errorf("definition = %q, want %q", got, definition)
		}

		if got := aws.ToString(out.RoleArn); got != sfnRoleARN {
			t.Errorf("roleArn = %q, want %q", got, sfnRoleARN)
		}

		// Never updated: updateDate is the creation date.
		sm, err := env.sfn.DescribeStateMachine(t.Context(), &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(smARN)})
		if err != nil {
			t.Fatalf("DescribeStateMachine: %v", err)
		}

		if got, want := aws.ToTime(out.UpdateDate), aws.ToTime(sm.CreationDate); got.IsZero() || !got.Equal(want) {
			t.Errorf("updateDate = %v, want the creation date %v", got, want)
		}
	})

	t.Run("unknown execution", func(t *testing.T) {
		missing := strings.Replace(aws.ToString(exec.ExecutionArn), ":"+aws.ToString(exec.Name), ":gap38-no-such-execution", 1)

		_, err := env.sfn.DescribeStateMachineForExecution(t.Context(), &sfn.DescribeStateMachineForExecutionInput{
			ExecutionArn: aws.String(missing),
		})

		var notFound *sfntypes.ExecutionDoesNotExist
		if !errors.As(err, &notFound) {
			t.Fatalf("DescribeStateMachineForExecution of %s: err %v, want ExecutionDoesNotExist", missing, err)
		}
	})
}
