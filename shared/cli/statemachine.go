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
// (an ARN is returned as is), reading pages until it is found.
func findStateMachine(ctx context.Context, states StepFunctions, nameOrARN string) (string, error) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN, nil
	}
	var found string
	err := eachStateMachine(ctx, states, func(name, arn string) bool {
		if name == nameOrARN {
			found = arn
		}
		return found == ""
	})
	if err != nil {
		return "", err
	}
	if found == "" {
		return "", fmt.Errorf("no state machine named %q in this account and region: deploy autostop first "+
			"(or, on the local backend, run 'make up'), or pass --state-machine NAME|ARN", nameOrARN)
	}

	return found, nil
}

// eachStateMachine calls yield with each state machine's name and ARN,
// reading pages of ListStateMachines until yield returns false or none
// is left.
func eachStateMachine(ctx context.Context, states StepFunctions, yield func(name, arn string) bool) error {
	pages := sfn.NewListStateMachinesPaginator(states, &sfn.ListStateMachinesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list state machines: %w", err)
		}
		for _, m := range page.StateMachines {
			if !yield(aws.ToString(m.Name), aws.ToString(m.StateMachineArn)) {
				return nil
			}
		}
	}

	return nil
}
