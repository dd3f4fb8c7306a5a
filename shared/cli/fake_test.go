package cli

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// fakeStates is a scripted Step Functions: each poll (a GetExecutionHistory
// call without a token) reveals the next batch of events; DescribeExecution
// says RUNNING until every batch is revealed, then returns final.
type fakeStates struct {
	mu sync.Mutex

	pages      [][]types.StateMachineListItem // ListStateMachines pages
	listCalls  int
	definition string

	startErr error
	started  *sfn.StartExecutionInput

	batches  [][]types.HistoryEvent
	revealed []types.HistoryEvent
	pageSize int // history page size; default 3, to exercise paging
	polls    int

	final     sfn.DescribeExecutionOutput
	describes int
	// describeErr, when set, is DescribeExecution's answer.
	describeErr error
	// executions are ListExecutions' answer.
	executions []types.ExecutionListItem
}

func (f *fakeStates) ListStateMachines(_ context.Context, in *sfn.ListStateMachinesInput, _ ...func(*sfn.Options)) (*sfn.ListStateMachinesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listCalls++
	page := 0
	if in.NextToken != nil {
		page, _ = strconv.Atoi(*in.NextToken)
	}
	if page >= len(f.pages) {
		return &sfn.ListStateMachinesOutput{}, nil
	}
	out := &sfn.ListStateMachinesOutput{StateMachines: f.pages[page]}
	if page+1 < len(f.pages) {
		out.NextToken = aws.String(strconv.Itoa(page + 1))
	}

	return out, nil
}

func (f *fakeStates) DescribeStateMachine(_ context.Context, in *sfn.DescribeStateMachineInput, _ ...func(*sfn.Options)) (*sfn.DescribeStateMachineOutput, error) {
	if f.definition == "" {
		return nil, errors.New("AccessDeniedException")
	}

	return &sfn.DescribeStateMachineOutput{StateMachineArn: in.StateMachineArn, Definition: aws.String(f.definition)}, nil
}

func (f *fakeStates) StartExecution(_ context.Context, in *sfn.StartExecutionInput, _ ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	f.started = in
	f.final.ExecutionArn = aws.String(execARN(aws.ToString(in.Name)))

	return &sfn.StartExecutionOutput{ExecutionArn: f.final.ExecutionArn, StartDate: aws.Time(time.Unix(0, 0))}, nil
}

func execARN(name string) string {
	return "arn:aws:states:us-east-1:123456789012:execution:autostop-provision-load-balancer:" + name
}

func (f *fakeStates) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in.NextToken == nil {
		f.polls++
		if len(f.batches) > 0 {
			f.revealed = append(f.revealed, f.batches[0]...)
			f.batches = f.batches[1:]
		}
	}
	size := f.pageSize
	if size == 0 {
		size = 3
	}
	events := append([]types.HistoryEvent(nil), f.revealed...)
	if in.ReverseOrder {
		for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
			events[i], events[j] = events[j], events[i]
		}
	}
	offset := 0
	if in.NextToken != nil {
		offset, _ = strconv.Atoi(*in.NextToken)
	}
	end := min(offset+size, len(events))
	out := &sfn.GetExecutionHistoryOutput{Events: events[offset:end]}
	if end < len(events) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}

	return out, nil
}

func (f *fakeStates) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	if f.describeErr != nil {
		return nil, f.describeErr
	}
	if len(f.batches) > 0 || f.final.Status == "" {
		return &sfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: types.ExecutionStatusRunning}, nil
	}
	out := f.final

	return &out, nil
}

// history builds a scripted execution history: ids from 1, each event a
// given time after the previous one.
type history struct {
	now    time.Time
	events []types.HistoryEvent
}

func newHistory() *history {
	h := &history{now: time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)}
	h.add(types.HistoryEventTypeExecutionStarted, 0, nil)

	return h
}

func (h *history) add(t types.HistoryEventType, after time.Duration, set func(*types.HistoryEvent)) *history {
	h.now = h.now.Add(after)
	e := types.HistoryEvent{Id: int64(len(h.events) + 1), Type: t, Timestamp: aws.Time(h.now)}
	if len(h.events) > 0 {
		e.PreviousEventId = e.Id - 1
	}
	if set != nil {
		set(&e)
	}
	h.events = append(h.events, e)

	return h
}

// enter adds <kind>StateEntered (kind: Task, Choice, Wait, Pass, Fail).
func (h *history) enter(kind, name, input string) *history {
	return h.add(types.HistoryEventType(kind+"StateEntered"), 10*time.Millisecond, func(e *types.HistoryEvent) {
		e.StateEnteredEventDetails = &types.StateEnteredEventDetails{Name: aws.String(name), Input: aws.String(input)}
	})
}

// exit adds <kind>StateExited after d.
func (h *history) exit(kind, name string, d time.Duration, output string) *history {
	return h.add(types.HistoryEventType(kind+"StateExited"), d, func(e *types.HistoryEvent) {
		e.StateExitedEventDetails = &types.StateExitedEventDetails{Name: aws.String(name), Output: aws.String(output)}
	})
}

// task adds a Lambda task attempt that succeeds after d.
func (h *history) attempt(d time.Duration, errName, cause string) *history {
	h.add(types.HistoryEventTypeLambdaFunctionScheduled, 0, nil)
	h.add(types.HistoryEventTypeLambdaFunctionStarted, 0, nil)
	if errName == "" {
		return h.add(types.HistoryEventTypeLambdaFunctionSucceeded, d, nil)
	}

	return h.add(types.HistoryEventTypeLambdaFunctionFailed, d, func(e *types.HistoryEvent) {
		e.LambdaFunctionFailedEventDetails = &types.LambdaFunctionFailedEventDetails{Error: aws.String(errName), Cause: aws.String(cause)}
	})
}

// task adds a whole Task state that succeeds on its first attempt.
func (h *history) task(name string, d time.Duration) *history {
	return h.enter("Task", name, "{}").attempt(d, "", "").exit("Task", name, 0, "{}")
}

func (h *history) succeeded(output string) *history {
	return h.add(types.HistoryEventTypeExecutionSucceeded, 0, func(e *types.HistoryEvent) {
		e.ExecutionSucceededEventDetails = &types.ExecutionSucceededEventDetails{Output: aws.String(output)}
	})
}

func (h *history) failed(errName, cause string) *history {
	return h.add(types.HistoryEventTypeExecutionFailed, 0, func(e *types.HistoryEvent) {
		e.ExecutionFailedEventDetails = &types.ExecutionFailedEventDetails{Error: aws.String(errName), Cause: aws.String(cause)}
	})
}

func (f *fakeStates) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	var out []types.ExecutionListItem
	for _, e := range f.executions {
		if aws.ToString(e.StateMachineArn) == aws.ToString(in.StateMachineArn) {
			out = append(out, e)
		}
	}

	return &sfn.ListExecutionsOutput{Executions: out}, nil
}

func (f *fakeStates) DescribeStateMachineForExecution(_ context.Context, in *sfn.DescribeStateMachineForExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeStateMachineForExecutionOutput, error) {
	return nil, errors.New("UnknownOperationException")
}
