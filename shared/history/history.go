// Package history reads a Step Functions execution history (all its
// events, oldest first) as an audit timeline: one entry per state entered,
// with when it ran, how often its task was attempted, how its last attempt
// failed, and the resources its output added (the step results name what
// they created, adopted, changed or deleted). It works the same on AWS and
// on the local backend, and knows no workflow: resources are found by
// their shape ({"kind", "id", "action"}) anywhere in a state's output.
package history

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/step"
)

// Entry is one state of the execution, as often as it was entered.
type Entry struct {
	State string `json:"state"`
	// Type is the state's type: Task, Choice, Wait, Pass, Fail, Succeed, …
	Type    string    `json:"type"`
	Entered time.Time `json:"entered"`
	// Exited is zero when the state never exited (the execution failed or
	// is still running in it).
	Exited time.Time `json:"exited,omitzero"`
	// Attempts counts a Task's invocations (1 + its retries).
	Attempts int `json:"attempts,omitempty"`
	// Error and Cause are the last failure of the state, if any (a retried
	// failure that later succeeded keeps them, with Attempts > 1).
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
	// Failed: the state's last attempt failed. With Exited set, a Catch
	// took the execution on from it (Step Functions writes the state's
	// exit with the Catcher's output); without, the execution failed in
	// it or a Catch left it.
	Failed bool `json:"failed,omitempty"`
	// Resources are those the state's output names and its input did not.
	Resources []step.Resource `json:"resources,omitempty"`
}

// Duration is how long the state ran (0 when it never exited).
func (e Entry) Duration() time.Duration {
	if e.Exited.IsZero() {
		return 0
	}

	return e.Exited.Sub(e.Entered)
}

// Timeline builds the entries from the events, in the order the states
// were entered.
func Timeline(events []types.HistoryEvent) []Entry {
	var (
		out     []Entry
		current = -1 // index in out of the state being run
		inputs  = map[int]string{}
	)
	for _, e := range events {
		switch {
		case e.StateEnteredEventDetails != nil:
			d := e.StateEnteredEventDetails
			out = append(out, Entry{
				State:   aws.ToString(d.Name),
				Type:    strings.TrimSuffix(string(e.Type), "StateEntered"),
				Entered: aws.ToTime(e.Timestamp),
			})
			current = len(out) - 1
			inputs[current] = aws.ToString(d.Input)
		case e.StateExitedEventDetails != nil:
			// The state that exits is the last one of that name still
			// open: a Map or Parallel state exits after the states inside
			// it.
			name := aws.ToString(e.StateExitedEventDetails.Name)
			i := current
			for i >= 0 && (out[i].State != name || !out[i].Exited.IsZero()) {
				i--
			}
			if i < 0 {
				continue
			}
			current = i
			out[i].Exited = aws.ToTime(e.Timestamp)
			out[i].Resources = added(inputs[i], aws.ToString(e.StateExitedEventDetails.Output))
		case current >= 0 && IsScheduled(e.Type):
			out[current].Attempts++
		case current >= 0 && isSucceeded(e.Type):
			out[current].Failed = false
		case current >= 0:
			if name, cause, ok := Failure(e); ok {
				out[current].Error, out[current].Cause, out[current].Failed = name, cause, true
			}
		}
	}

	return out
}

// isSucceeded reports whether an event ends a task attempt well.
func isSucceeded(t types.HistoryEventType) bool {
	switch t {
	case types.HistoryEventTypeTaskSucceeded, types.HistoryEventTypeLambdaFunctionSucceeded,
		types.HistoryEventTypeActivitySucceeded:
		return true
	}

	return false
}

// IsScheduled reports whether an event starts a task attempt (a Lambda
// function, a service integration or an activity scheduled).
func IsScheduled(t types.HistoryEventType) bool {
	switch t {
	case types.HistoryEventTypeTaskScheduled, types.HistoryEventTypeLambdaFunctionScheduled,
		types.HistoryEventTypeActivityScheduled:
		return true
	}

	return false
}

// Failure reads a failed task attempt's error and cause (a Lambda
// function, a service integration or an activity that failed, timed out,
// or could not be scheduled, started or submitted); ok is false for any
// other event.
func Failure(e types.HistoryEvent) (name, cause string, ok bool) {
	var errName, errCause *string
	switch {
	case e.LambdaFunctionFailedEventDetails != nil:
		errName, errCause = e.LambdaFunctionFailedEventDetails.Error, e.LambdaFunctionFailedEventDetails.Cause
	case e.LambdaFunctionTimedOutEventDetails != nil:
		errName, errCause = e.LambdaFunctionTimedOutEventDetails.Error, e.LambdaFunctionTimedOutEventDetails.Cause
	case e.LambdaFunctionStartFailedEventDetails != nil:
		errName, errCause = e.LambdaFunctionStartFailedEventDetails.Error, e.LambdaFunctionStartFailedEventDetails.Cause
	case e.LambdaFunctionScheduleFailedEventDetails != nil:
		errName, errCause = e.LambdaFunctionScheduleFailedEventDetails.Error, e.LambdaFunctionScheduleFailedEventDetails.Cause
	case e.TaskFailedEventDetails != nil:
		errName, errCause = e.TaskFailedEventDetails.Error, e.TaskFailedEventDetails.Cause
	case e.TaskTimedOutEventDetails != nil:
		errName, errCause = e.TaskTimedOutEventDetails.Error, e.TaskTimedOutEventDetails.Cause
	case e.TaskStartFailedEventDetails != nil:
		errName, errCause = e.TaskStartFailedEventDetails.Error, e.TaskStartFailedEventDetails.Cause
	case e.TaskSubmitFailedEventDetails != nil:
		errName, errCause = e.TaskSubmitFailedEventDetails.Error, e.TaskSubmitFailedEventDetails.Cause
	case e.ActivityFailedEventDetails != nil:
		errName, errCause = e.ActivityFailedEventDetails.Error, e.ActivityFailedEventDetails.Cause
	case e.ActivityTimedOutEventDetails != nil:
		errName, errCause = e.ActivityTimedOutEventDetails.Error, e.ActivityTimedOutEventDetails.Cause
	case e.ActivityScheduleFailedEventDetails != nil:
		errName, errCause = e.ActivityScheduleFailedEventDetails.Error, e.ActivityScheduleFailedEventDetails.Cause
	default:
		return "", "", false
	}

	return aws.ToString(errName), aws.ToString(errCause), true
}

// added lists the resources output names more often than input does (by
// kind, id and action; an alias updated, then updated back, is named twice),
// in resourcesIn's order.
func added(input, output string) []step.Resource {
	left := map[step.Resource]int{}
	for _, r := range resourcesIn(input) {
		left[r]++
	}
	var out []step.Resource
	for _, r := range resourcesIn(output) {
		if left[r] > 0 {
			left[r]--
			continue
		}
		out = append(out, r)
	}

	return out
}

// resourcesIn finds every {"kind", "id", "action"} object in a JSON
// document, depth first: arrays in order, object keys sorted (a stable
// order; JSON objects have none).
func resourcesIn(doc string) []step.Resource {
	if doc == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	var out []step.Resource
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			kind, k := t["kind"].(string)
			id, i := t["id"].(string)
			action, a := t["action"].(string)
			if k && i && a {
				out = append(out, step.Resource{Kind: kind, ID: id, Action: action})
				return
			}
			for _, key := range slices.Sorted(maps.Keys(t)) {
				walk(t[key])
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(v)

	return out
}
