package cli

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

const (
	historyPageSize = 100
	// idlePolls without a new event before a held task failure is shown
	// without knowing whether it is retried (~1 s).
	idlePolls = 4
	// describeEvery idle polls, DescribeExecution checks the status, in
	// case the history's end event is missing.
	describeEvery = 8
)

// watcher follows an execution's history until it ends.
type watcher struct {
	states   StepFunctions
	arn      string
	poll     time.Duration
	progress *progress
	lastID   int64 // the last event rendered
}

// watch renders new history events every poll interval until the
// execution ends, and returns its description. It stops with ctx's error
// when ctx ends (Ctrl-C, --timeout); the execution goes on.
func (w *watcher) watch(ctx context.Context) (*sfn.DescribeExecutionOutput, error) {
	idle := 0
	for {
		events, err := w.newEvents(ctx)
		if err != nil {
			return nil, err
		}
		ended := false
		for _, e := range events {
			w.progress.event(e)
			ended = ended || isTerminal(e.Type)
		}

		if len(events) > 0 {
			idle = 0
		} else {
			idle++
			if idle == idlePolls {
				w.progress.idle()
			}
		}

		if ended || (idle > 0 && idle%describeEvery == 0) {
			d, err := w.states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(w.arn)})
			if err != nil {
				return nil, fmt.Errorf("describe execution: %w", err)
			}
			if d.Status != types.ExecutionStatusRunning && d.Status != types.ExecutionStatusPendingRedrive {
				if !ended {
					// The end event may have been written since.
					if events, err = w.newEvents(ctx); err != nil {
						return nil, err
					}
					for _, e := range events {
						w.progress.event(e)
					}
				}
				w.progress.flush()
				return d, nil
			}
		}

		select {
		case <-ctx.Done():
			w.progress.flush()
			return nil, ctx.Err()
		case <-time.After(w.poll):
		}
	}
}

// newEvents returns the events after lastID, oldest first. It reads the
// history newest first, page by page, until it reaches an event already
// seen, so each poll costs one call however long the history is.
func (w *watcher) newEvents(ctx context.Context) ([]types.HistoryEvent, error) {
	var fresh []types.HistoryEvent
	var token *string
	for {
		out, err := w.states.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{
			ExecutionArn:         aws.String(w.arn),
			ReverseOrder:         true,
			MaxResults:           historyPageSize,
			NextToken:            token,
			IncludeExecutionData: aws.Bool(true),
		})
		if err != nil {
			return nil, fmt.Errorf("get execution history: %w", err)
		}
		seen := false
		for _, e := range out.Events {
			if e.Id <= w.lastID {
				seen = true
				break
			}
			fresh = append(fresh, e)
		}
		if seen || aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
	}
	slices.Reverse(fresh)
	if len(fresh) > 0 {
		w.lastID = fresh[len(fresh)-1].Id
	}

	return fresh, nil
}
