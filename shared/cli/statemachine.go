package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/app"
)

// DefaultStateMachine is the provisioning state machine's name as the app
// deploys it.
var DefaultStateMachine = app.NamePrefix + app.ProvisionLoadBalancer

// StepFunctions is the part of the Step Functions client the CLI uses.
type StepFunctions interface {
	ListStateMachines(ctx context.Context, in *sfn.ListStateMachinesInput, optFns ...func(*sfn.Options)) (*sfn.ListStateMachinesOutput, error)
	DescribeStateMachine(ctx context.Context, in *sfn.DescribeStateMachineInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error)
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	GetExecutionHistory(ctx context.Context, in *sfn.GetExecutionHistoryInput, optFns ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	DescribeStateMachineForExecution(ctx context.Context, in *sfn.DescribeStateMachineForExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeStateMachineForExecutionOutput, error)
}

// findStateMachine returns the ARN of the state machine called nameOrARN
// (an ARN is returned as is), reading every page of ListStateMachines.
func findStateMachine(ctx context.Context, states StepFunctions, nameOrARN string) (string, error) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN, nil
	}

	var token *string
	for {
		out, err := states.ListStateMachines(ctx, &sfn.ListStateMachinesInput{NextToken: token})
		if err != nil {
			return "", fmt.Errorf("list state machines: %w", err)
		}
		for _, m := range out.StateMachines {
			if aws.ToString(m.Name) == nameOrARN {
				return aws.ToString(m.StateMachineArn), nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return "", fmt.Errorf("no state machine named %q in this account and region: deploy autostop first "+
				"(or, on the local backend, run 'make up'), or pass --state-machine NAME|ARN", nameOrARN)
		}
		token = out.NextToken
	}
}
