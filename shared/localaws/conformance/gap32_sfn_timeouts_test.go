package conformance

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// gap32LongSleep is how long the slow function runs in the case that shows
// a Lambda Task waiting for the function's own Timeout: longer than the
// fixed 30 s kumo v0.33.1 gave every call the Step Functions engine made.
const gap32LongSleep = 35

// gap32Deploy deploys the sleepfn test function as name with the given
// function Timeout (seconds) and returns its ARN. The subtests run in
// parallel and timed-out invocations keep their process busy, so the
// function may run more processes than the runner's default: an invocation
// waiting for a free process would spoil the timings checked.
func gap32Deploy(t *testing.T, env *sfnEnv, name string, timeoutSec int32) string {
	t.Helper()

	bin := localawstest.BuildFunction(t, "./testdata/sleepfn")
	cfg := localaws.FunctionConfig{Name: name, TimeoutSec: timeoutSec, MemoryMB: 128, MaxProcesses: 20}
	if err := env.backend.DeployFunction(t.Context(), cfg, bin); err != nil {
		t.Fatalf("deploy function %s: %v", name, err)
	}

	return "arn:aws:lambda:" + env.backend.Region() + ":" + localaws.AccountID + ":function:" + name
}

// gap32Task returns the Task fields invoking fnARN in one of the two
// resource styles, the state input being the function's event.
func gap32Task(style, fnARN string) string {
	if style == "lambda:invoke" {
		return `"Resource": "arn:aws:states:::lambda:invoke",
			"Parameters": {"FunctionName": "` + fnARN + `", "Payload.$": "$"},
			"ResultSelector": {"slept.$": "$.Payload.slept"}`
	}

	return `"Resource": "` + fnARN + `"`
}

// gap32Time is an event's timestamp.
func gap32Time(ev sfntypes.HistoryEvent) time.Time { return aws.ToTime(ev.Timestamp) }

// gap32Last returns the history's last event.
func gap32Last(t *testing.T, events []sfntypes.HistoryEvent) sfntypes.HistoryEvent {
	t.Helper()

	if len(events) == 0 {
		t.Fatal("empty execution history")
	}

	return events[len(events)-1]
}

// gap32Output decodes the execution's output.
func gap32Output(t *testing.T, exec *sfn.DescribeExecutionOutput) map[string]any {
	t.Helper()

	var out map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(exec.Output)), &out); err != nil {
		t.Fatalf("decode output %q: %v", aws.ToString(exec.Output), err)
	}

	return out
}

// gap32RetryDelays returns, for each failed Task attempt followed by
// another attempt, the time from its TaskFailed event to the next
// TaskScheduled: the Retrier's wait.
func gap32RetryDelays(events []sfntypes.HistoryEvent) []time.Duration {
	var delays []time.Duration
	var failedAt time.Time
	for _, ev := range events {
		switch ev.Type {
		case sfntypes.HistoryEventTypeTaskFailed:
			failedAt = gap32Time(ev)
		case sfntypes.HistoryEventTypeTaskScheduled:
			if !failedAt.IsZero() {
				delays = append(delays, gap32Time(ev).Sub(failedAt))
				failedAt = time.Time{}
			}
		}
	}

	return delays
}

// Gap 32: Step Functions timeouts and retry jitter.
//
//   - A state machine's TimeoutSeconds ends the execution TIMED_OUT (error
//     States.Timeout, an ExecutionTimedOut event) when it runs longer, even
//     while a state with a Catch is running.
//   - A Task's TimeoutSeconds / TimeoutSecondsPath fails the attempt with
//     States.Timeout (TaskTimedOut / LambdaFunctionTimedOut), which Retry
//     and Catch match by name and States.TaskFailed does not.
//   - A Retrier's JitterStrategy FULL waits a random time between 0 and the
//     computed interval (capped by MaxDelaySeconds).
//   - A Lambda Task without TimeoutSeconds waits for the function as long as
//     the function's own Timeout allows (AWS documents no default Task
//     timeout: "By default, the Amazon States Language doesn't specify
//     timeouts", docs.aws.amazon.com/step-functions/latest/dg/sfn-stuck-execution.html);
//     kumo v0.33.1 cut every call off after a fixed 30 s.
//
//nolint:funlen,gocognit,maintidx // one table of scenarios sharing one kumo
func TestGap32SFNTimeoutsAndJitter(t *testing.T) {
	env := startSFN(t)
	slowARN := gap32Deploy(t, env, "gap32-sleep-60", 60)
	shortARN := gap32Deploy(t, env, "gap32-sleep-2", 2)
	failARN := env.deployFunction(t, "gap32-failfn", "./testdata/failfn")

	t.Run("execution TimeoutSeconds ends it TIMED_OUT", func(t *testing.T) {
		t.Parallel()
		sm := env.createStateMachine(t, "gap32-exec-timeout", `{"TimeoutSeconds": 1, "StartAt": "Pause", "States": {
			"Pause": {"Type": "Wait", "Seconds": 10, "Next": "Done"},
			"Done": {"Type": "Succeed"}}}`)

		exec := env.run(t, sm, map[string]any{})
		requireStatus(t, exec, sfntypes.ExecutionStatusTimedOut)
		if got := aws.ToString(exec.Error); got != "States.Timeout" {
			t.Errorf("execution Error: got %q, want States.Timeout", got)
		}

		events := env.history(t, aws.ToString(exec.ExecutionArn))
		last := gap32Last(t, events)
		if last.Type != sfntypes.HistoryEventTypeExecutionTimedOut {
			t.Fatalf("last event: got %s, want ExecutionTimedOut\nhistory: %v", last.Type, historyTypes(events))
		}
		if d := last.ExecutionTimedOutEventDetails; d == nil || aws.ToString(d.Error) != "States.Timeout" {
			t.Errorf("ExecutionTimedOut details: got %+v, want Error States.Timeout", d)
		}
		if took := gap32Time(last).Sub(gap32Time(events[0])); took < 900*time.Millisecond || took > 3*time.Second {
			t.Errorf("execution timed out after %v, want about its TimeoutSeconds (1 s), not the Wait's 10 s", took)
		}
	})

	t.Run("execution TimeoutSeconds is not caught by a running Task's Catch", func(t *testing.T) {
		t.Parallel()
		sm := env.createStateMachine(t, "gap32-exec-timeout-catch", `{"TimeoutSeconds": 2, "StartAt": "Call", "States": {
			"Call": {"Type": "Task", `+gap32Task("function ARN", slowARN)+`, "TimeoutSeconds": 30,
				"Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Caught"}],
				"End": true},
			"Caught": {"Type": "Pass", "End": true}}}`)

		exec := env.run(t, sm, map[string]any{"sleepSeconds": 5})
		requireStatus(t, exec, sfntypes.ExecutionStatusTimedOut)

		events := env.history(t, aws.ToString(exec.ExecutionArn))
		if got := enteredStates(events); !slices.Equal(got, []string{"Call"}) {
			t.Errorf("states entered: got %v, want [Call] (the execution's timeout ends it, no Catch runs)", got)
		}
		if last := gap32Last(t, events); last.Type != sfntypes.HistoryEventTypeExecutionTimedOut {
			t.Errorf("last event: got %s, want ExecutionTimedOut\nhistory: %v", last.Type, historyTypes(events))
		}
	})

	for _, style := range []string{"function ARN", "lambda:invoke"} {
		scheduled, timedOut := sfntypes.HistoryEventTypeTaskScheduled, sfntypes.HistoryEventTypeTaskTimedOut
		if style == "function ARN" {
			scheduled, timedOut = sfntypes.HistoryEventTypeLambdaFunctionScheduled, sfntypes.HistoryEventTypeLambdaFunctionTimedOut
		}

		t.Run(style+"/Task TimeoutSeconds fails the attempt with States.Timeout", func(t *testing.T) {
			t.Parallel()
			sm := env.createStateMachine(t, "gap32-task-timeout-"+map[string]string{"function ARN": "fn", "lambda:invoke": "invoke"}[style],
				`{"StartAt": "Call", "States": {
				"Call": {"Type": "Task", `+gap32Task(style, slowARN)+`, "TimeoutSeconds": 1,
					"Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 1}],
					"Catch": [
						{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.caught", "Next": "Wrong"},
						{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.caught", "Next": "Caught"}],
					"End": true},
				"Wrong": {"Type": "Fail", "Error": "TaskFailedMatchedTimeout"},
				"Caught": {"Type": "Pass", "End": true}}}`)

			counter, invocations := invocationCounter(t)
			exec := env.run(t, sm, map[string]any{"sleepSeconds": 4, "counter": counter})
			requireStatus(t, exec, sfntypes.ExecutionStatusSucceeded)

			caught, _ := gap32Output(t, exec)["caught"].(map[string]any)
			if caught["Error"] != "States.Timeout" {
				t.Errorf("caught: got %v, want Error States.Timeout", caught)
			}
			if got := invocations(); got != 2 {
				t.Errorf("function invocations: got %d, want 2 (1 + 1 retry of States.Timeout)", got)
			}

			events := env.history(t, aws.ToString(exec.ExecutionArn))
			var scheduledAt []time.Time
			var timeouts int
			for _, ev := range events {
				switch ev.Type {
				case scheduled:
					scheduledAt = append(scheduledAt, gap32Time(ev))
				case timedOut:
					timeouts++
					took := gap32Time(ev).Sub(scheduledAt[len(scheduledAt)-1])
					if took < 900*time.Millisecond || took > 2500*time.Millisecond {
						t.Errorf("%s %v after the attempt was scheduled, want about TimeoutSeconds (1 s), not the function's 4 s", timedOut, took)
					}
				}
			}
			if timeouts != 2 {
				t.Errorf("%s events: got %d, want 2\nhistory: %v", timedOut, timeouts, historyTypes(events))
			}
		})
	}

	t.Run("TimeoutSecondsPath fails the execution with States.Timeout", func(t *testing.T) {
		t.Parallel()
		sm := env.createStateMachine(t, "gap32-task-timeout-path", `{"StartAt": "Call", "States": {
			"Call": {"Type": "Task", `+gap32Task("lambda:invoke", slowARN)+`, "TimeoutSecondsPath": "$.timeout", "End": true}}}`)

		exec := env.run(t, sm, map[string]any{"sleepSeconds": 4, "timeout": 1})
		requireStatus(t, exec, sfntypes.ExecutionStatusFailed)
		if got := aws.ToString(exec.Error); got != "States.Timeout" {
			t.Errorf("execution Error: got %q, want States.Timeout", got)
		}

		events := env.history(t, aws.ToString(exec.ExecutionArn))
		for _, ev := range events {
			if d := ev.TaskScheduledEventDetails; d != nil && aws.ToInt64(d.TimeoutInSeconds) != 1 {
				t.Errorf("TaskScheduled timeoutInSeconds: got %d, want 1 (from TimeoutSecondsPath)", aws.ToInt64(d.TimeoutInSeconds))
			}
		}
		if took := gap32Time(gap32Last(t, events)).Sub(gap32Time(events[0])); took > 3*time.Second {
			t.Errorf("execution failed after %v, want about the Task's 1 s timeout", took)
		}
	})

	t.Run("a Task that answers within TimeoutSeconds succeeds", func(t *testing.T) {
		t.Parallel()
		sm := env.createStateMachine(t, "gap32-task-in-time", `{"StartAt": "Call", "States": {
			"Call": {"Type": "Task", `+gap32Task("lambda:invoke", slowARN)+`, "TimeoutSeconds": 5, "End": true}}}`)

		exec := env.run(t, sm, map[string]any{"sleepSeconds": 1})
		requireStatus(t, exec, sfntypes.ExecutionStatusSucceeded)
	})

	// Retry waits: FailFn always fails; the Retrier's computed interval is
	// 1 s every time (IntervalSeconds 1, and MaxDelaySeconds 1 caps the
	// BackoffRate 2 growth).
	retryWaits := func(t *testing.T, name, jitter string, attempts int) []time.Duration {
		t.Helper()
		sm := env.createStateMachine(t, name, `{"StartAt": "Call", "States": {
			"Call": {"Type": "Task", `+failfnTask("lambda:invoke", failARN)+`,
				"Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxDelaySeconds": 1,
					"MaxAttempts": `+fmt.Sprint(attempts)+jitter+`}],
				"Catch": [{"ErrorEquals": ["Throttled"], "ResultPath": "$.caught", "Next": "Caught"}],
				"End": true},
			"Caught": {"Type": "Pass", "End": true}}}`)

		exec := env.run(t, sm, map[string]any{"fail": "Throttled"})
		requireStatus(t, exec, sfntypes.ExecutionStatusSucceeded)

		delays := gap32RetryDelays(env.history(t, aws.ToString(exec.ExecutionArn)))
		if len(delays) != attempts {
			t.Fatalf("retry waits: got %d (%v), want %d", len(delays), delays, attempts)
		}

		return delays
	}

	t.Run("JitterStrategy FULL waits between 0 and the interval", func(t *testing.T) {
		t.Parallel()
		delays := retryWaits(t, "gap32-jitter-full", `, "JitterStrategy": "FULL"`, 8)

		short := 0
		for _, d := range delays {
			if d > 1200*time.Millisecond {
				t.Errorf("retry wait %v exceeds the 1 s interval (MaxDelaySeconds 1) (all waits %v)", d, delays)
			}
			if d < 800*time.Millisecond {
				short++
			}
		}
		// Uniform in [0, 1 s]: all 8 waits at 0.8 s or more has a
		// probability of 0.2^8, about 3 in a million.
		if short == 0 {
			t.Errorf("retry waits %v: every one is the full 1 s interval, want random waits between 0 and 1 s", delays)
		}
	})

	t.Run("without JitterStrategy the wait is the interval", func(t *testing.T) {
		t.Parallel()
		delays := retryWaits(t, "gap32-jitter-none", "", 4)
		for _, d := range delays {
			if d < 950*time.Millisecond || d > 1500*time.Millisecond {
				t.Errorf("retry wait %v, want the 1 s interval (MaxDelaySeconds caps BackoffRate 2) (all waits %v)", d, delays)
			}
		}
	})

	for _, style := range []string{"function ARN", "lambda:invoke"} {
		t.Run(style+"/Lambda Task waits for the function's own Timeout", func(t *testing.T) {
			t.Parallel()
			sm := env.createStateMachine(t, "gap32-long-"+map[string]string{"function ARN": "fn", "lambda:invoke": "invoke"}[style],
				`{"StartAt": "Call", "States": {"Call": {"Type": "Task", `+gap32Task(style, slowARN)+`, "End": true}}}`)

			exec := env.run(t, sm, map[string]any{"sleepSeconds": gap32LongSleep})
			requireStatus(t, exec, sfntypes.ExecutionStatusSucceeded)
			if got := gap32Output(t, exec)["slept"]; got != float64(gap32LongSleep) {
				t.Errorf("output slept: got %v, want %d", got, gap32LongSleep)
			}
		})
	}

	t.Run("Lambda Task fails when the function exceeds its own Timeout", func(t *testing.T) {
		t.Parallel()
		sm := env.createStateMachine(t, "gap32-function-timeout",
			`{"StartAt": "Call", "States": {"Call": {"Type": "Task", `+gap32Task("function ARN", shortARN)+`, "End": true}}}`)

		exec := env.run(t, sm, map[string]any{"sleepSeconds": 6})
		requireStatus(t, exec, sfntypes.ExecutionStatusFailed)
		// Lambda reports a function timeout as a function error
		// (Sandbox.Timedout); it is not the Task's States.Timeout.
		if got := aws.ToString(exec.Error); got == "States.Timeout" || got == "States.TaskFailed" {
			t.Errorf("execution Error: got %q, want the function's timeout error (Sandbox.Timedout)", got)
		}

		events := env.history(t, aws.ToString(exec.ExecutionArn))
		if took := gap32Time(gap32Last(t, events)).Sub(gap32Time(events[0])); took > 4500*time.Millisecond {
			t.Errorf("execution failed after %v, want about the function's 2 s Timeout", took)
		}
	})
}
