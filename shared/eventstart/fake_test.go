package eventstart

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

const (
	fakeAttachARN  = "arn:aws:states:us-east-1:123456789012:stateMachine:autostop-attach-rule"
	fakeDetachARN  = "arn:aws:states:us-east-1:123456789012:stateMachine:autostop-detach-rule"
	samplesDir     = "../../statemachine/samples/events"
	sampleNew      = "rule-created-new-load-balancer.json"
	sampleExisting = "rule-created-existing-load-balancer.json"
	sampleDeleted  = "rule-deleted.json"
)

// fakeSFN is an in-memory Step Functions with AWS's semantics for the calls
// the starter makes: StartExecution with the name of a running execution and
// the same input returns it; any other existing name is
// ExecutionAlreadyExists; DescribeExecution of a missing ARN is
// ExecutionDoesNotExist.
type fakeSFN struct {
	execs map[string]*fakeExec // by ARN
	calls []string
	// errs fails the next calls of an operation, in order.
	errs map[string][]error
	// beforeStart runs at the start of StartExecution (to simulate a
	// concurrent delivery starting the execution first).
	beforeStart func(f *fakeSFN)
}

type fakeExec struct {
	name, input string
	status      sfntypes.ExecutionStatus
}

func newFakeSFN() *fakeSFN {
	return &fakeSFN{execs: map[string]*fakeExec{}, errs: map[string][]error{}}
}

func (f *fakeSFN) fail(op string) error {
	f.calls = append(f.calls, op)
	if errs := f.errs[op]; len(errs) > 0 {
		f.errs[op] = errs[1:]
		return errs[0]
	}

	return nil
}

func (f *fakeSFN) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	if err := f.fail("StartExecution"); err != nil {
		return nil, err
	}
	if f.beforeStart != nil {
		f.beforeStart(f)
	}
	arn := ExecutionARN(aws.ToString(in.StateMachineArn), aws.ToString(in.Name))
	if e, ok := f.execs[arn]; ok {
		if e.status == sfntypes.ExecutionStatusRunning && e.input == aws.ToString(in.Input) {
			return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: aws.Time(time.Unix(0, 0))}, nil
		}
		return nil, &sfntypes.ExecutionAlreadyExists{Message: aws.String("Execution Already Exists: '" + arn + "'")}
	}
	f.execs[arn] = &fakeExec{name: aws.ToString(in.Name), input: aws.ToString(in.Input), status: sfntypes.ExecutionStatusRunning}

	return &sfn.StartExecutionOutput{ExecutionArn: aws.String(arn), StartDate: aws.Time(time.Now())}, nil
}

func (f *fakeSFN) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	if err := f.fail("DescribeExecution"); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.ExecutionArn)
	e, ok := f.execs[arn]
	if !ok {
		return nil, &sfntypes.ExecutionDoesNotExist{Message: aws.String("Execution Does Not Exist: '" + arn + "'")}
	}

	return &sfn.DescribeExecutionOutput{ExecutionArn: aws.String(arn), Name: aws.String(e.name), Input: aws.String(e.input), Status: e.status}, nil
}

// sampleEvent reads a sample event, strictly (a typo in a sample's envelope
// fails too).
func sampleEvent(t testing.TB, file string) events.EventBridgeEvent {
	t.Helper()

	data, err := os.ReadFile(filepath.Join(samplesDir, file))
	if err != nil {
		t.Fatalf("read sample: %v", err)
	}
	var ev events.EventBridgeEvent
	if err := strictDecode(data, &ev); err != nil {
		t.Fatalf("decode sample %s: %v", file, err)
	}

	return ev
}

// withDetail returns ev with its detail changed by edit (on the decoded
// JSON object), or replaced by raw when edit is nil.
func withDetail(t testing.TB, ev events.EventBridgeEvent, edit func(d map[string]any)) events.EventBridgeEvent {
	t.Helper()

	var d map[string]any
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		t.Fatalf("decode detail: %v", err)
	}
	edit(d)
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatalf("encode detail: %v", err)
	}
	ev.Detail = data

	return ev
}

// obj returns the object at a dotted path of a decoded JSON document.
func obj(d map[string]any, path string) map[string]any {
	m := d
	for _, k := range strings.Split(path, ".") {
		if k == "" {
			continue
		}
		m = m[k].(map[string]any)
	}

	return m
}
