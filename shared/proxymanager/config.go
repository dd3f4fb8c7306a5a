package proxymanager

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	rules, waker, err := WakeFromEnv(cfg)
	if err != nil {
		return nil, err
	}

	// Lambda names the version an execution environment runs.
	return New(rules, waker, Config{Version: os.Getenv("AWS_LAMBDA_FUNCTION_VERSION")}, log), nil
}

// WakeFromEnv returns the rules table and the WakeRule starter named by
// RULES_TABLE_NAME and WAKE_STATE_MACHINE_ARN.
func WakeFromEnv(cfg aws.Config) (*rulestore.Store, StateMachineWaker, error) {
	store, err := rulestore.FromEnv(cfg)
	if err != nil {
		return nil, StateMachineWaker{}, err
	}
	arn := os.Getenv(EnvWakeStateMachineARN)
	if !stateMachineARNRE.MatchString(arn) {
		return nil, StateMachineWaker{}, fmt.Errorf("%s=%q is not a state machine ARN", EnvWakeStateMachineARN, arn)
	}

	return store, StateMachineWaker{Client: sfn.NewFromConfig(cfg), StateMachineARN: arn}, nil
}

// WakeAttached is the WakeRunningRule step of AttachRule: a rule just
// attached to instances that already run is woken at once (the wake finds
// them running, waits for their targets to be healthy and switches), so it
// serves without waiting for a first request to reach the proxy.
func WakeAttached(ctx context.Context, rules WakeRules, waker Waker, in WakeAttachedInput) (WakeAttachedResult, error) {
	it, won, err := BeginWake(ctx, rules, waker, in.Host, time.Now().Add(-DefaultStaleWakeAfter))
	res := WakeAttachedResult{Host: it.Host, State: string(it.State), Woken: won && err == nil}
	if res.Woken {
		res.WakeRequestedAt = it.WakeRequestedAt.UTC().Format(rulestore.TimeFormat)
		res.WakeExecution = WakeExecutionName(it)
	}

	return res, err
}

// WakeAttachedInput is the step's input: the rule's host.
type WakeAttachedInput struct {
	Host string `json:"host"`
}

// WakeAttachedResult is the step's output.
type WakeAttachedResult struct {
	Host string `json:"host"`
	// State of the rule after the step (starting when woken).
	State string `json:"state"`
	// Woken is true when this step started the wake (false: another
	// request or attach had started one).
	Woken           bool   `json:"woken"`
	WakeRequestedAt string `json:"wakeRequestedAt,omitempty"`
	// WakeExecution is the WakeRule execution's name.
	WakeExecution string `json:"wakeExecution,omitempty"`
}
