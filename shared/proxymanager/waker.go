package proxymanager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/rulestore"
)

// SFN is the part of the Step Functions client the waker uses.
type SFN interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// WakeInput is the input of a WakeRule execution.
type WakeInput struct {
	// Host of the rule to wake.
	Host string `json:"host"`
	// WakeRequestedAt identifies the wake: the rule's item carries it while
	// this wake is the current one.
	WakeRequestedAt string `json:"wakeRequestedAt"`
}

// StateMachineWaker starts the WakeRule state machine.
type StateMachineWaker struct {
	Client          SFN
	StateMachineARN string
}

// StartWake starts one execution per wake, named after the rule and the
// wake's time (WakeExecutionName), so a retried start cannot run the same
// wake twice: ExecutionAlreadyExists means it runs already.
func (w StateMachineWaker) StartWake(ctx context.Context, it rulestore.Item) error {
	in, err := json.Marshal(WakeInput{Host: it.Host, WakeRequestedAt: it.WakeRequestedAt.UTC().Format(rulestore.TimeFormat)})
	if err != nil {
		return fmt.Errorf("encode wake input of %s: %w", it.Host, err)
	}
	_, err = w.Client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(w.StateMachineARN),
		Name:            aws.String(WakeExecutionName(it)),
		Input:           aws.String(string(in)),
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "ExecutionAlreadyExists" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("start wake of %s: %w", it.Host, err)
	}

	return nil
}

// WakeExecutionName names a wake's execution: "<rule>-<host hash>-<wake
// time>", within Step Functions' 80 characters and alphabet.
func WakeExecutionName(it rulestore.Item) string {
	name := it.Rule.Name
	if len(name) > 50 {
		name = name[:50]
	}
	sum := sha256.Sum256([]byte(it.Host))

	return name + "-" + hex.EncodeToString(sum[:4]) + "-" + strconv.FormatInt(it.WakeRequestedAt.UnixMilli(), 10)
}
