package conformance

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// gap37Slack is how far before a call's window a date may fall: the server
// writes milliseconds (rounded down) and the SDK's conversion of the epoch
// seconds number may round down one more.
const gap37Slack = 2 * time.Millisecond

// gap37Clock formats a date to the millisecond for failure messages.
func gap37Clock(d time.Time) string { return d.Local().Format("15:04:05.000") }

// gap37Within fails the test unless the date lies within the call's window
// [before, after] (kumo runs on this machine, on the same clock): a date
// cut to whole seconds falls before it.
func gap37Within(t *testing.T, what string, date *time.Time, before, after time.Time) {
	t.Helper()

	if date == nil {
		t.Errorf("%s: no date", what)

		return
	}

	if date.Before(before.Add(-gap37Slack)) || date.After(after) {
		t.Errorf("%s = %s, want within the call's window [%s, %s] (sub-second part lost?)",
			what, gap37Clock(*date), gap37Clock(before), gap37Clock(after))
	}
}

// TestGap37SFNExecutionDatesMilliseconds: execution dates carry milliseconds
// as on AWS, so executions started within the same second can be ordered by
// StartDate (the CLI's `history --last N` merges the executions of several
// state machines that way).
func TestGap37SFNExecutionDatesMilliseconds(t *testing.T) {
	env := startSFN(t)

	// Each execution waits until the test stops it: its StopDate then falls
	// within the StopExecution call.
	const definition = `{
	  "StartAt": "Wait",
	  "States": {
	    "Wait": {"Type": "Wait", "Seconds": 120, "End": true}
	  }
	}`
	smARN := env.createStateMachine(t, "gap37-dates", definition)

	type started struct {
		arn                string
		date               time.Time
		before, after      time.Time
		stopBefore, stopAt time.Time
		stopDate           time.Time
	}

	var execs []*started

	for i, gap := range []time.Duration{0, 150 * time.Millisecond} {
		time.Sleep(gap)

		before := time.Now()
		out, err := env.sfn.StartExecution(t.Context(), &sfn.StartExecutionInput{
			StateMachineArn: aws.String(smARN),
			Input:           aws.String(`{}`),
		})
		after := time.Now()
		if err != nil {
			t.Fatalf("StartExecution %d: %v", i, err)
		}

		gap37Within(t, "StartExecution startDate", out.StartDate, before, after)
		execs = append(execs, &started{arn: aws.ToString(out.ExecutionArn), date: aws.ToTime(out.StartDate), before: before, after: after})
	}

	first, second := execs[0], execs[1]
	if !second.date.After(first.date) {
		t.Errorf("startDates %s and %s, started 150 ms apart: the later execution is not ordered after the earlier",
			gap37Clock(first.date), gap37Clock(second.date))
	}

	for _, e := range execs {
		e.stopBefore = time.Now()
		out, err := env.sfn.StopExecution(t.Context(), &sfn.StopExecutionInput{ExecutionArn: aws.String(e.arn)})
		e.stopAt = time.Now()
		if err != nil {
			t.Fatalf("StopExecution %s: %v", e.arn, err)
		}

		gap37Within(t, "StopExecution stopDate", out.StopDate, e.stopBefore, e.stopAt)
		e.stopDate = aws.ToTime(out.StopDate)
	}

	for _, e := range execs {
		desc, err := env.sfn.DescribeExecution(t.Context(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(e.arn)})
		if err != nil {
			t.Fatalf("DescribeExecution %s: %v", e.arn, err)
		}

		requireStatus(t, desc, sfntypes.ExecutionStatusAborted)
		gap37Within(t, "DescribeExecution startDate", desc.StartDate, e.before, e.after)
		gap37Within(t, "DescribeExecution stopDate", desc.StopDate, e.stopBefore, e.stopAt)

		if got := aws.ToTime(desc.StartDate); !got.Equal(e.date) {
			t.Errorf("DescribeExecution startDate %s, StartExecution said %s", gap37Clock(got), gap37Clock(e.date))
		}

		if got := aws.ToTime(desc.StopDate); !got.Equal(e.stopDate) {
			t.Errorf("DescribeExecution stopDate %s, StopExecution said %s", gap37Clock(got), gap37Clock(e.stopDate))
		}
	}

	list, err := env.sfn.ListExecutions(t.Context(), &sfn.ListExecutionsInput{StateMachineArn: aws.String(smARN)})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}

	if len(list.Executions) != len(execs) {
		t.Fatalf("ListExecutions: %d executions, want %d", len(list.Executions), len(execs))
	}

	// Newest first: the second execution, then the first, by StartDate.
	for i, item := range list.Executions {
		e := execs[len(execs)-1-i]
		if aws.ToString(item.ExecutionArn) != e.arn {
			t.Fatalf("ListExecutions[%d] = %s, want %s (newest first)", i, aws.ToString(item.ExecutionArn), e.arn)
		}

		gap37Within(t, "ListExecutions startDate", item.StartDate, e.before, e.after)
		gap37Within(t, "ListExecutions stopDate", item.StopDate, e.stopBefore, e.stopAt)
	}

	if newer, older := aws.ToTime(list.Executions[0].StartDate), aws.ToTime(list.Executions[1].StartDate); !newer.After(older) {
		t.Errorf("ListExecutions startDates %s then %s: executions 150 ms apart cannot be ordered by StartDate",
			gap37Clock(newer), gap37Clock(older))
	}
}
