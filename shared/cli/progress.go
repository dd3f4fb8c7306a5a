package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	execution "github.com/autostop/autostop/shared/history"
	"github.com/autostop/autostop/shared/step"
)

// Progress marks.
const (
	markEntered = "→"
	markExited  = "✓"
	markFailed  = "✗"
	markRetry   = "↻"
)

const (
	maxCauseLen = 140
	indent      = "  "
)

// progress renders Step Functions history events as one line per step, as
// they arrive. A task failure is held until the next event says whether the
// state machine retries it (or until the watcher says it has waited long
// enough, see idle).
type progress struct {
	w io.Writer
	// waits maps a Wait state's name to how it waits (from the state
	// machine's definition; may be empty).
	waits map[string]waitSpec

	entered     map[string]time.Time // state name → when it was entered
	current     string               // last state entered
	currentType types.HistoryEventType
	open        bool            // current has not exited
	failed      map[string]bool // state whose last attempt failed
	pending     *failure        // failure not printed yet

	// lastOutput is the output of the last state that exited: on a failed
	// execution it holds the rollback's result.
	lastOutput string
	// toldValidation is set once the validation records the user must add
	// (another DNS provider) were printed.
	toldValidation bool
}

type failure struct {
	state, err, cause string
	printed           bool // printed without knowing whether a retry follows
}

func newProgress(w io.Writer, waits map[string]waitSpec) *progress {
	return &progress{w: w, waits: waits, entered: map[string]time.Time{}, failed: map[string]bool{}}
}

// event renders one history event.
func (p *progress) event(e types.HistoryEvent) {
	if p.pending != nil && !isFailure(e.Type) {
		p.resolve(execution.IsScheduled(e.Type))
	}

	switch {
	case e.StateEnteredEventDetails != nil:
		p.stateEntered(e)
	case e.StateExitedEventDetails != nil:
		p.stateExited(e)
	case isFailure(e.Type):
		if p.pending != nil {
			p.resolve(false)
		}
		name, cause := failureDetails(e)
		p.pending = &failure{state: p.current, err: name, cause: cause}
		p.failed[p.current] = true
	case execution.IsScheduled(e.Type):
		delete(p.failed, p.current)
	case isTerminal(e.Type) && e.Type != types.HistoryEventTypeExecutionSucceeded:
		// The execution ended inside a state that neither exited nor said
		// why (a States.Runtime error, a timeout, an abort): name it.
		if p.open && !p.failed[p.current] && p.currentType != types.HistoryEventTypeFailStateEntered {
			p.line("%s%s %s: %s", indent, markFailed, p.current, endReason(e))
		}
	}
}

// endReason says why an execution ended without succeeding.
func endReason(e types.HistoryEvent) string {
	switch {
	case e.ExecutionFailedEventDetails != nil:
		f := failure{err: aws.ToString(e.ExecutionFailedEventDetails.Error), cause: shorten(causeMessage(aws.ToString(e.ExecutionFailedEventDetails.Cause)), maxCauseLen)}
		return f.describe()
	case e.Type == types.HistoryEventTypeExecutionTimedOut:
		return "execution timed out"
	case e.Type == types.HistoryEventTypeExecutionAborted:
		return "execution aborted"
	}

	return string(e.Type)
}

// idle is called when no event arrived for a while: a held failure is
// printed without waiting longer for a retry (which would then show as its
// own line).
func (p *progress) idle() {
	if p.pending != nil && !p.pending.printed {
		p.line("%s%s %s: %s", indent, markFailed, p.pending.state, p.pending.describe())
		p.pending.printed = true
	}
}

// flush prints a held failure at the end of the history.
func (p *progress) flush() {
	if p.pending != nil {
		p.resolve(false)
	}
}

func (p *progress) resolve(retrying bool) {
	f := p.pending
	p.pending = nil
	switch {
	case f.printed && retrying:
		p.line("%s%s %s: retrying", indent, markRetry, f.state)
	case f.printed:
	case retrying:
		p.line("%s%s %s: %s (retrying)", indent, markFailed, f.state, f.describe())
	default:
		p.line("%s%s %s: %s", indent, markFailed, f.state, f.describe())
	}
}

func (f *failure) describe() string {
	if f.cause == "" {
		return f.err
	}

	return f.err + ": " + f.cause
}

func (p *progress) stateEntered(e types.HistoryEvent) {
	name := aws.ToString(e.StateEnteredEventDetails.Name)
	p.current, p.currentType, p.open = name, e.Type, true
	p.entered[name] = aws.ToTime(e.Timestamp)
	delete(p.failed, name)

	switch e.Type {
	case types.HistoryEventTypeTaskStateEntered, types.HistoryEventTypeChoiceStateEntered,
		types.HistoryEventTypeParallelStateEntered, types.HistoryEventTypeMapStateEntered:
		p.line("%s%s %s", indent, markEntered, name)
	case types.HistoryEventTypeWaitStateEntered:
		if wait := p.waits[name].describe(aws.ToString(e.StateEnteredEventDetails.Input)); wait != "" {
			p.line("%s%s %s  (%s)", indent, markEntered, name, wait)
		} else {
			p.line("%s%s %s", indent, markEntered, name)
		}
	case types.HistoryEventTypeFailStateEntered:
		p.line("%s%s %s", indent, markFailed, name)
	}
}

func (p *progress) stateExited(e types.HistoryEvent) {
	name := aws.ToString(e.StateExitedEventDetails.Name)
	p.lastOutput = aws.ToString(e.StateExitedEventDetails.Output)
	if name == p.current {
		p.open = false
	}
	if p.failed[name] {
		// The failure line said how it ended; the Catch goes on.
		delete(p.failed, name)
		return
	}
	took := ""
	if start, ok := p.entered[name]; ok && e.Timestamp != nil {
		took = "  " + duration(e.Timestamp.Sub(start))
	}
	p.line("%s%s %s%s", indent, markExited, name, took)
	p.tellValidation(p.lastOutput)
}

// tellValidation prints, as soon as a step reports them, the validation
// records of a certificate autostop requested when the user's DNS is not
// Route 53: the workflow waits for them, and cannot succeed without them,
// so they must not wait for the end of the run.
func (p *progress) tellValidation(output string) {
	if p.toldValidation || !strings.Contains(output, `"validationRecords"`) {
		return
	}
	var doc struct {
		Spec struct {
			DNS struct {
				Provider string `json:"provider"`
			} `json:"dns"`
		} `json:"spec"`
		Results struct {
			Certificate *step.CertificateResult `json:"certificate"`
		} `json:"results"`
	}
	if json.Unmarshal([]byte(output), &doc) != nil || doc.Spec.DNS.Provider == "route53" {
		return
	}
	c := doc.Results.Certificate
	if c == nil || len(c.ValidationRecords) == 0 || c.Status != "PENDING_VALIDATION" {
		return
	}
	p.toldValidation = true
	p.line("%s! Add this record at your DNS provider now: ACM issues the certificate once it sees it,", indent)
	p.line("%s  and the workflow waits for that (checking with growing intervals, up to about 24 hours):", indent)
	recordTableAt(p.w, indent+indent+indent, c.ValidationRecords)
}

func (p *progress) line(format string, a ...any) {
	fmt.Fprintf(p.w, format+"\n", a...)
}

func isFailure(t types.HistoryEventType) bool {
	switch t {
	case types.HistoryEventTypeTaskFailed, types.HistoryEventTypeTaskTimedOut,
		types.HistoryEventTypeTaskStartFailed, types.HistoryEventTypeTaskSubmitFailed,
		types.HistoryEventTypeLambdaFunctionFailed, types.HistoryEventTypeLambdaFunctionTimedOut,
		types.HistoryEventTypeLambdaFunctionStartFailed, types.HistoryEventTypeLambdaFunctionScheduleFailed,
		types.HistoryEventTypeActivityFailed, types.HistoryEventTypeActivityTimedOut,
		types.HistoryEventTypeActivityScheduleFailed:
		return true
	}

	return false
}

func isTerminal(t types.HistoryEventType) bool {
	switch t {
	case types.HistoryEventTypeExecutionSucceeded, types.HistoryEventTypeExecutionFailed,
		types.HistoryEventTypeExecutionAborted, types.HistoryEventTypeExecutionTimedOut:
		return true
	}

	return false
}

// failureDetails returns a failure event's error name (its type when it
// has none) and short cause.
func failureDetails(e types.HistoryEvent) (name, cause string) {
	name, cause, _ = execution.Failure(e)
	if name == "" {
		name = string(e.Type)
	}

	return name, shorten(causeMessage(cause), maxCauseLen)
}

// causeMessage extracts the message of a Lambda error's cause, which is the
// JSON {"errorMessage": …, "errorType": …}; other causes are returned as they are.
func causeMessage(cause string) string {
	var doc struct {
		ErrorMessage string `json:"errorMessage"`
	}
	if strings.HasPrefix(strings.TrimSpace(cause), "{") && json.Unmarshal([]byte(cause), &doc) == nil && doc.ErrorMessage != "" {
		return doc.ErrorMessage
	}

	return cause
}

// shorten makes s one line of at most n runes.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}

	return s
}

// duration formats a step's duration: "0.4s", "12.0s", "3m05s".
func duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)

	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}

// rollbackOf returns the rollback's result and error from the last state
// output of a failed execution (the Rollback state stores its result at
// $.rollback, its own failure at $.rollbackError).
func rollbackOf(lastOutput string) (*step.RollbackResult, *step.Error) {
	var doc struct {
		Rollback      *step.RollbackResult `json:"rollback"`
		RollbackError *step.Error          `json:"rollbackError"`
	}
	if lastOutput == "" || json.Unmarshal([]byte(lastOutput), &doc) != nil {
		return nil, nil
	}

	return doc.Rollback, doc.RollbackError
}
