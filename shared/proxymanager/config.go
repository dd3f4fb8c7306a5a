package proxymanager

import (
	"fmt"
	"log/slog"
	"os"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/rulestore"
)

// EnvWakeStateMachineARN names the environment variable holding the
// WakeRule state machine's ARN (shared/app sets it).
const EnvWakeStateMachineARN = "WAKE_STATE_MACHINE_ARN"

var stateMachineARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$`)

// FromEnv builds the function's manager from its environment:
// RULES_TABLE_NAME (the rules table) and WAKE_STATE_MACHINE_ARN (the
// WakeRule state machine), both required.
func FromEnv(cfg aws.Config, log *slog.Logger) (*Manager, error) {
	table, err := rulestore.TableNameFromEnv()
	if err != nil {
		return nil, err
	}
	arn := os.Getenv(EnvWakeStateMachineARN)
	if !stateMachineARNRE.MatchString(arn) {
		return nil, fmt.Errorf("%s=%q is not a state machine ARN", EnvWakeStateMachineARN, arn)
	}
	waker := StateMachineWaker{Client: sfn.NewFromConfig(cfg), StateMachineARN: arn}

	return New(rulestore.New(dynamodb.NewFromConfig(cfg), table), waker, Config{}, log), nil
}
