package rollback

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/step"
)

// States is the Step Functions API the rollback reads other executions with.
type States interface {
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// maxExecutionsRead bounds how many recent executions per status the
// rollback reads (newest first).
const maxExecutionsRead = 200

// OtherUsers names the other executions of the same state machine, for the
// same load balancer, that may have adopted what in's execution created:
// those still running, and those that succeeded after in's execution
// started. Ownership is a single execution tag, so without this check a
// failed execution would delete an ALB a racing execution had already
// adopted and finished with.
func OtherUsers(ctx context.Context, api States, in step.Input) ([]string, error) {
	if in.StateMachine == "" || in.Execution == "" || in.Spec.Name == "" {
		return nil, nil
	}

	own, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN(in.StateMachine, in.Execution))})
	if err != nil {
		return nil, fmt.Errorf("describe execution %s: %w", in.Execution, err)
	}
	started := aws.ToTime(own.StartDate)

	var others []string
	for _, status := range []sfntypes.ExecutionStatus{sfntypes.ExecutionStatusRunning, sfntypes.ExecutionStatusSucceeded} {
		items, err := listExecutions(ctx, api, in.StateMachine, status)
		if err != nil {
			return nil, err
		}
		for _, e := range items {
			if aws.ToString(e.Name) == in.Execution {
				continue
			}
			d, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: e.ExecutionArn})
			if err != nil {
				return nil, fmt.Errorf("describe execution %s: %w", aws.ToString(e.Name), err)
			}
			if status == sfntypes.ExecutionStatusSucceeded && aws.ToTime(d.StopDate).Before(started) {
				continue // ended before this execution created anything (a tie keeps: timestamps may be in seconds)
			}
			if loadBalancerOf(aws.ToString(d.Input)) == in.Spec.Name {
				others = append(others, aws.ToString(e.Name))
			}
		}
	}

	return others, nil
}

func listExecutions(ctx context.Context, api States, machine string, status sfntypes.ExecutionStatus) ([]sfntypes.ExecutionListItem, error) {
	var (
		out   []sfntypes.ExecutionListItem
		token *string
	)
	for len(out) < maxExecutionsRead {
		page, err := api.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine), StatusFilter: status, NextToken: token, MaxResults: 100})
		if err != nil {
			return nil, fmt.Errorf("list %s executions of %s: %w", status, machine, err)
		}
		out = append(out, page.Executions...)
		if page.NextToken == nil {
			break
		}
		token = page.NextToken
	}

	return out, nil
}

// loadBalancerOf reads the load balancer name from an execution's input (a
// LoadBalancerSpec); "" when the input is not one.
func loadBalancerOf(input string) string {
	var spec struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(input), &spec); err != nil {
		return ""
	}

	return spec.Name
}

// executionARN is the ARN of execution name of the state machine.
func executionARN(machine, name string) string {
	return strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":" + name
}

// RunGuarded is Run, unless another execution may be using what this one
// created: then it deletes nothing and names those executions in KeptFor.
func RunGuarded(ctx context.Context, in step.Input, api States, deleters []Deleter) (step.RollbackResult, error) {
	others, err := OtherUsers(ctx, api, in)
	if err != nil {
		return step.RollbackResult{Deleted: []step.Resource{}, Left: []step.Resource{}, State: step.RollbackDone}, fmt.Errorf("check other executions of %s: %w", in.Spec.Name, err)
	}
	if len(others) > 0 {
		return step.RollbackResult{Deleted: []step.Resource{}, Left: []step.Resource{}, KeptFor: others, State: step.RollbackDone}, nil
	}

	return Run(ctx, in, deleters)
}
