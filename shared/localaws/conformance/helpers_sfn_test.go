package conformance

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// sfnRoleARN is the role state machines are created with; kumo does not
// evaluate IAM.
const sfnRoleARN = "arn:aws:iam::" + localaws.AccountID + ":role/autostop-sfn-test"

// sfnEnv is a fresh kumo with a Step Functions client.
type sfnEnv struct {
	backend *localaws.Backend
	sfn     *sfn.Client
}

// startSFN starts a fresh kumo for the test and returns a Step Functions
// client for it.
func startSFN(t *testing.T) *sfnEnv {
	t.Helper()

	b := localawstest.Start(t)

	cfg, err := b.AWSConfig(t.Context())
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}

	return &sfnEnv{backend: b, sfn: sfn.NewFromConfig(cfg)}
}

// deployFunction builds the test function at pkg, creates it in kumo as name
// and starts its process; it returns the function's ARN.
func (e *sfnEnv) deployFunction(t *testing.T, name, pkg string) string {
	t.Helper()

	bin := localawstest.BuildFunction(t, pkg)
	if err := e.backend.DeployFunction(t.Context(), localaws.FunctionConfig{Name: name, TimeoutSec: 30, MemoryMB: 128}, bin); err != nil {
		t.Fatalf("deploy function %s: %v", name, err)
	}

	return "arn:aws:lambda:" + e.backend.Region() + ":" + localaws.AccountID + ":function:" + name
}

// createStateMachine creates a Standard state machine and returns its ARN.
func (e *sfnEnv) createStateMachine(t *testing.T, name, definition string) string {
	t.Helper()

	out, err := e.sfn.CreateStateMachine(t.Context(), &sfn.CreateStateMachineInput{
		Name:       aws.String(name),
		Definition: aws.String(definition),
		RoleArn:    aws.String(sfnRoleARN),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine %s: %v", name, err)
	}

	return aws.ToString(out.StateMachineArn)
}

// run starts an execution of the state machine with input and waits until
// it leaves RUNNING.
func (e *sfnEnv) run(t *testing.T, stateMachineARN string, input any) *sfn.DescribeExecutionOutput {
	t.Helper()

	raw, err := json.Marshal(input)
	if err != nil {
		t.Fatalf("marshal input: %v", err)
	}

	start, err := e.sfn.StartExecution(t.Context(), &sfn.StartExecutionInput{
		StateMachineArn: aws.String(stateMachineARN),
		Input:           aws.String(string(raw)),
	})
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}

	return e.await(t, aws.ToString(start.ExecutionArn))
}

// await polls DescribeExecution until the execution leaves RUNNING.
func (e *sfnEnv) await(t *testing.T, executionARN string) *sfn.DescribeExecutionOutput {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	for {
		out, err := e.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
		if err != nil {
			t.Fatalf("DescribeExecution %s: %v", executionARN, err)
		}

		if out.Status != sfntypes.ExecutionStatusRunning {
			return out
		}

		select {
		case <-ctx.Done():
			t.Fatalf("execution %s still RUNNING after 60 s", executionARN)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// history returns the execution's whole history, oldest first, following
// nextToken.
func (e *sfnEnv) history(t *testing.T, executionARN string) []sfntypes.HistoryEvent {
	t.Helper()

	var events []sfntypes.HistoryEvent

	p := sfn.NewGetExecutionHistoryPaginator(e.sfn, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(executionARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatalf("GetExecutionHistory %s: %v", executionARN, err)
		}

		events = append(events, page.Events...)
	}

	return events
}

// requireStatus fails the test unless the execution ended with want.
func requireStatus(t *testing.T, exec *sfn.DescribeExecutionOutput, want sfntypes.ExecutionStatus) {
	t.Helper()

	if exec.Status != want {
		t.Fatalf("execution status: got %s, want %s (error %q, cause %q, output %s)",
			exec.Status, want, aws.ToString(exec.Error), aws.ToString(exec.Cause), aws.ToString(exec.Output))
	}
}

// invocationCounter returns a fresh file path for failfn's "counter" input
// and a function that reports how many invocations it has recorded.
func invocationCounter(t *testing.T) (path string, count func() int) {
	t.Helper()

	path = filepath.Join(t.TempDir(), "invocations")

	return path, func() int {
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return 0
		}
		if err != nil {
			t.Fatalf("read invocation counter: %v", err)
		}

		return strings.Count(string(data), "\n")
	}
}
