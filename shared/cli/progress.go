package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

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
	markLoop    = "↻"
)

const (
	maxCauseLen = 140
	indent      = "  "
)

// progress renders Step Functions history events as one line per step, as
// they arrive. A task failure is held until the next event says whether the
// state machine retries it (or until the watcher says it has waited long
// enough, see idle). A wait loop (a Task, the Choice that checks its result,
// a Wait going back to the Task) shows as one line per turn, see waitLoop.
type progress struct {
	w io.Writer
	// tty: w is a terminal, where a wait loop's line is rewritten in place
	// at each turn; elsewhere (a file, a pipe, CI logs) each turn adds a
	// line, as lines cannot be taken back there.
	tty bool
	// waits maps a Wait state's name to how it waits (from the state
	// machine's definition; may be empty).
	waits map[string]waitSpec

	entered     map[string]time.Time // state name → when it was entered
	current     string               // last state entered
	currentType types.HistoryEventType
	// previous is the state entered before current, and its type.
	previous     string
	previousType types.HistoryEventType
	open         bool            // current has not exited
	failed       map[string]bool // state whose last attempt failed
	pending      *failure        // failure not printed yet

	// lastOutput is the output of the last state that exited: on a failed
	// execution it holds the rollback's result.
	lastOutput string
	// toldValidation is set once the validation records the user must add
	// (another DNS provider) were printed.
	toldValidation bool

	loop     *waitLoop // the wait loop being shown, if any
	loopOpen bool      // the loop's line is on the terminal without its newline
}

// waitLoop is a wait loop shown as one line. The certificate can take many
// minutes (up to a day with another DNS provider), the load balancer a few:
// five lines per check would bury the rest, so from the Wait's first entry
// on, the states of a turn (the Task re-run and the Choice) get no lines of
// their own; the loop's line says what is awaited, the check and the next
// one, and a last line how long it took.
type waitLoop struct {
	wait string // the Wait state (the Task of a polling loop)
	// polling: a Task that checks until ready, run again by its Choice
	// without a Wait (the wake's WaitReady watches for a while each run).
	polling bool
	choice  string          // the state that went into the Wait (the Choice)
	rerun   string          // the first state a turn enters (the Task), once seen
	members map[string]bool // the states of a turn
	checks  int             // times the Wait was entered
	next    string          // the Wait's last waitSpec.describe
	start   time.Time       // the Wait's first entry
	last    time.Time       // the last exit of a state of the loop
	// decided: the Choice exited in this turn; the next state entered says
	// whether the loop goes on (the Wait) or ends (anything else).
	decided bool
	// broken: a state of the loop failed for good; its failure line says
	// how the loop ended, so there is no "done" line.
	broken bool
}

type failure struct {
	state, err, cause string
	printed           bool // printed without knowing whether a retry follows
}

func newProgress(w io.Writer, waits map[string]waitSpec) *progress {
	return &progress{w: w, tty: isCharDevice(w), waits: waits, entered: map[string]time.Time{}, failed: map[string]bool{}}
}

// isCharDevice says whether w is a terminal (a character device), where a
// line can be rewritten with a carriage return.
func isCharDevice(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()

	return err == nil && info.Mode()&os.ModeCharDevice != 0
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

// flush prints a held failure at the end of the history, and ends a wait
// loop's line left open on the terminal (the watch stopped inside the loop),
// so that what follows starts on its own line.
func (p *progress) flush() {
	if p.pending != nil {
		p.resolve(false)
	}
	p.endLine()
}

func (p *progress) resolve(retrying bool) {
	f := p.pending
	p.pending = nil
	if !retrying && p.loop != nil {
		p.loop.broken = true
	}
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
	lastEntered, seen := p.entered[name]
	from, fromType, before := p.current, p.currentType, p.previous
	p.previous, p.previousType = from, fromType
	p.current, p.currentType, p.open = name, e.Type, true
	p.entered[name] = aws.ToTime(e.Timestamp)
	delete(p.failed, name)

	if p.pollingEntered(e, name, from, fromType, before, lastEntered) || p.loopEntered(e, name, from, seen) {
		return
	}
	switch e.Type {
	case types.HistoryEventTypeTaskStateEntered, types.HistoryEventTypeChoiceStateEntered,
		types.HistoryEventTypeParallelStateEntered, types.HistoryEventTypeMapStateEntered:
		p.line("%s%s %s", indent, markEntered, name)
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
	inLoop := p.loopExited(name, aws.ToTime(e.Timestamp))
	if p.failed[name] {
		// The failure line said how it ended; the Catch goes on.
		delete(p.failed, name)
		return
	}
	if inLoop {
		p.tellValidation(p.lastOutput)
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

// loopEntered follows wait loops through a state's entry, from the state
// entered before (from); seen: the state was entered before. It reports
// whether the loop's line stands for the entry, which then gets no line.
//
// A Wait's entry starts a loop, or a new turn of its loop. The states of
// a turn are, in the first turn, those entered again (the Task and the
// Choice of the first pass, which printed their lines), in later turns, the
// first turn's. Anything else entered (a Catch's Rollback, a state the
// Wait leads to for the first time), or anything but the Wait once the
// Choice exited, ends the loop.
func (p *progress) loopEntered(e types.HistoryEvent, name, from string, seen bool) bool {
	at := aws.ToTime(e.Timestamp)
	l := p.loop
	if e.Type == types.HistoryEventTypeWaitStateEntered {
		if l == nil || l.wait != name {
			p.endLoop()
			l = &waitLoop{wait: name, choice: from, members: map[string]bool{}, start: at}
			p.loop = l
		}
		l.checks++
		l.decided = false
		l.last = at
		l.next = p.waits[name].describe(aws.ToString(e.StateEnteredEventDetails.Input))
		p.showLoop()
		return true
	}
	if l == nil {
		return false
	}
	if l.decided || !l.members[name] && (l.checks > 1 || !seen) {
		p.endLoop()
		return false
	}
	l.members[name] = true
	if l.rerun == "" {
		l.rerun = name
	}

	return true
}

// pollingEntered follows polling loops: a Task entered again right after
// the Choice that checked its previous run (Task → Choice → Task) is a new
// check of the loop; it reports whether the loop's line stands for the
// entry. The first run (entered at lastEntered) printed its lines; the
// loop counts it.
func (p *progress) pollingEntered(e types.HistoryEvent, name, from string, fromType types.HistoryEventType, before string, lastEntered time.Time) bool {
	if e.Type != types.HistoryEventTypeTaskStateEntered || before != name || fromType != types.HistoryEventTypeChoiceStateEntered {
		return false
	}
	at := aws.ToTime(e.Timestamp)
	l := p.loop
	if l == nil || l.wait != name {
		p.endLoop()
		l = &waitLoop{wait: name, choice: from, polling: true, members: map[string]bool{from: true}, checks: 1, start: lastEntered}
		p.loop = l
	}
	l.checks++
	l.decided = false
	l.last = at
	p.showLoop()

	return true
}

// loopExited follows the loop through a state's exit; it reports whether
// the state is one of the loop's, whose exit gets no line.
func (p *progress) loopExited(name string, at time.Time) bool {
	l := p.loop
	if l == nil || name != l.wait && !l.members[name] {
		return false
	}
	l.last = at
	if name == l.choice {
		l.decided = true
	}

	return true
}

// showLoop shows the loop's line for a new turn: rewritten in place on a
// terminal, a new line elsewhere.
func (p *progress) showLoop() {
	text := indent + markLoop + " " + p.loop.describe()
	if !p.tty {
		p.line("%s", text)
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K"+text)
	p.loopOpen = true
}

// endLoop ends the loop shown, if any: its line, then, unless a state of
// the loop failed for good, how many checks and how long it took.
func (p *progress) endLoop() {
	l := p.loop
	if l == nil {
		return
	}
	p.loop = nil
	switch {
	case l.broken:
	case l.checks == 1:
		// One wait, no loop: it ends as any state does.
		p.line("%s%s %s  %s", indent, markExited, l.wait, duration(l.last.Sub(l.start)))
	default:
		p.line("%s%s %s: done after %s, %s", indent, markExited, l.wait, nChecks(l.checks), duration(l.last.Sub(l.start)))
	}
	p.endLine()
}

// describe is the loop line's text: "WaitForLoadBalancer: waiting for the
// load balancer (EnsureLoadBalancer), check 3, next in 15s". The Task is
// known from the second check on (the history names it only once re-run).
func (l *waitLoop) describe() string {
	if l.polling {
		return fmt.Sprintf("%s: not yet (%s), check %d", l.wait, l.choice, l.checks)
	}
	what := "waiting"
	if s := waitSubject(l.wait); s != "" {
		what += " for " + s
	}
	if l.rerun != "" {
		what += " (" + l.rerun + ")"
	}
	parts := []string{what, fmt.Sprintf("check %d", l.checks)}
	if t, ok := strings.CutPrefix(l.next, "wait until "); ok {
		parts = append(parts, "next at "+t)
	} else if d, ok := strings.CutPrefix(l.next, "wait "); ok {
		parts = append(parts, "next in "+d)
	}

	return l.wait + ": " + strings.Join(parts, ", ")
}

// waitSubject says what a Wait state waits for, from its name:
// WaitForLoadBalancer → "the load balancer", WaitForDNS → "DNS" (a lone
// acronym takes no article), RollbackWait → "rollback".
func waitSubject(name string) string {
	rest, the := strings.CutPrefix(name, "WaitFor")
	if !the {
		rest = strings.TrimSuffix(strings.TrimPrefix(name, "Wait"), "Wait")
	}
	words := camelWords(rest)
	if len(words) == 0 {
		return ""
	}
	for i, w := range words {
		if !isAcronym(w) {
			words[i] = strings.ToLower(w)
		}
	}
	if the && (len(words) > 1 || !isAcronym(words[0])) {
		words = append([]string{"the"}, words...)
	}

	return strings.Join(words, " ")
}

// camelWords splits a CamelCase name into its words, keeping acronyms
// whole: "DNSRecordSet" → DNS, Record, Set.
func camelWords(s string) []string {
	var words []string
	r := []rune(s)
	start := -1
	for i := 0; i <= len(r); i++ {
		if i == len(r) || !unicode.IsLetter(r[i]) && !unicode.IsDigit(r[i]) {
			if start >= 0 {
				words = append(words, string(r[start:i]))
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		if unicode.IsUpper(r[i]) && (!unicode.IsUpper(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			words = append(words, string(r[start:i]))
			start = i
		}
	}

	return words
}

// isAcronym: a word of several letters, none lower-case ("DNS").
func isAcronym(w string) bool {
	return len([]rune(w)) > 1 && strings.IndexFunc(w, unicode.IsLower) < 0
}

// nChecks is "1 check", "3 checks".
func nChecks(n int) string {
	if n == 1 {
		return "1 check"
	}

	return fmt.Sprintf("%d checks", n)
}

// line prints a line; a loop line open on the terminal is ended first, so
// that a failure or a message inside a turn shows below it (the next turn
// then starts a new loop line).
func (p *progress) line(format string, a ...any) {
	p.endLine()
	fmt.Fprintf(p.w, format+"\n", a...)
}

// endLine ends the loop line open on the terminal, if any.
func (p *progress) endLine() {
	if p.loopOpen {
		fmt.Fprintln(p.w)
		p.loopOpen = false
	}
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
