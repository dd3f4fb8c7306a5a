package sleep

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/rulestore"
)

func TestReason(t *testing.T) {
	long := strings.Repeat("the instances never stopped; ", 60) // 1740 bytes
	// Two-byte runes from an odd offset: a cut at a fixed byte count
	// lands inside one.
	accented := "NotStopped: x" + strings.Repeat("é", MaxReasonLength)

	tests := []struct {
		name string
		err  *CaughtError
		want string
	}{
		{name: "no error document", want: "the sleep failed"},
		{
			name: "a Lambda error document: its errorMessage, the name prefixed",
			err:  &CaughtError{Error: "NotStopped", Cause: `{"errorType":"NotStopped","errorMessage":"the instances of rule app were not stopped 10m0s after the sleep began: i-1 stopping"}`},
			want: "NotStopped: the instances of rule app were not stopped 10m0s after the sleep began: i-1 stopping",
		},
		{
			name: "a Lambda error document whose message starts with the name: not prefixed twice",
			err:  &CaughtError{Error: "Throttled", Cause: `{"errorType":"Throttled","errorMessage":"Throttled: slow down"}`},
			want: "Throttled: slow down",
		},
		{
			name: "a plain cause (a Pass state's): the name prefixed",
			err:  &CaughtError{Error: "NotStopped", Cause: "an instance of the rule was still pending after every try to stop it"},
			want: "NotStopped: an instance of the rule was still pending after every try to stop it",
		},
		{name: "an empty cause: the name", err: &CaughtError{Error: "States.TaskFailed"}, want: "States.TaskFailed"},
		{name: "a blank cause: the name", err: &CaughtError{Error: "States.Timeout", Cause: " \n"}, want: "States.Timeout"},
		{name: "no name: the cause", err: &CaughtError{Cause: "something broke"}, want: "something broke"},
		{name: "neither name nor cause: never an empty lastError", err: &CaughtError{}, want: "the sleep failed"},
		{
			name: "a long reason: cut at MaxReasonLength",
			err:  &CaughtError{Error: "NotStopped", Cause: long},
			want: ("NotStopped: " + long)[:MaxReasonLength] + "…",
		},
		{
			name: "a long reason of multi-byte runes: cut between runes",
			err:  &CaughtError{Error: "NotStopped", Cause: `{"errorMessage":"` + accented + `"}`},
			want: accented[:MaxReasonLength-1] + "…",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Reason(tt.err)
			if got != tt.want {
				t.Errorf("Reason = %q,\n want %q", got, tt.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Reason is not valid UTF-8: %q", got)
			}
			if n := len(strings.TrimSuffix(got, "…")); n > MaxReasonLength {
				t.Errorf("Reason is %d bytes before the ellipsis, want at most %d", n, MaxReasonLength)
			}
		})
	}
}

func TestRecordFailure(t *testing.T) {
	caught := &CaughtError{Error: "Throttled", Cause: `{"errorType":"Throttled","errorMessage":"delete host rule: Throttling: rate exceeded"}`}
	const reason = "Throttled: delete host rule: Throttling: rate exceeded"
	wakeName := func() string {
		it := testItem("i-1")
		it.WakeRequestedAt = wokenAt
		return proxymanager.WakeExecutionName(it)
	}()
	woke := WakeResult{WakeWanted: true, Woke: true, WakeRequestedAt: wokenAt.Format(rulestore.TimeFormat), WakeExecution: wakeName}

	tests := []struct {
		name          string
		item          func(it *rulestore.Item)
		in            func(in *Input)
		setup         func(w *world)
		want          FailureResult
		wantErr       string
		wantWrites    []string
		wantState     rulestore.State
		wantLastError string
		wantWakes     int
		// wantGets: reads of the rule.
		wantGets int
	}{
		{
			name:       "the host rule still there (its deletion failed): back to running with the reason",
			item:       func(it *rulestore.Item) { it.ListenerRuleARN = testRuleARN },
			want:       FailureResult{Reason: reason, Recorded: true, State: rulestore.Running},
			wantWrites: []string{"FailSleep " + reason},
			wantState:  rulestore.Running, wantLastError: reason,
		},
		{
			name:       "a wake wanted, the host rule still there: running, no wake",
			item:       func(it *rulestore.Item) { it.ListenerRuleARN, it.WakeWanted = testRuleARN, true },
			want:       FailureResult{Reason: reason, Recorded: true, State: rulestore.Running, WakeResult: WakeResult{WakeWanted: true}},
			wantWrites: []string{"FailSleep " + reason},
			wantState:  rulestore.Running, wantLastError: reason,
		},
		{
			name:       "the host rule deleted, but not recorded (the failure came in between): recorded gone, then stopped",
			item:       func(it *rulestore.Item) { it.ListenerRuleARN = testRuleARN },
			setup:      func(w *world) { delete(w.elb.rules, testRuleARN) },
			want:       FailureResult{Reason: reason, Recorded: true, State: rulestore.Stopped},
			wantWrites: []string{"ClearHostRule", "FailSleep " + reason},
			wantState:  rulestore.Stopped, wantLastError: reason,
		},
		{
			name:       "the host rule gone: stopped with the reason, whatever the instances do",
			want:       FailureResult{Reason: reason, Recorded: true, State: rulestore.Stopped},
			wantWrites: []string{"FailSleep " + reason},
			wantState:  rulestore.Stopped, wantLastError: reason,
		},
		{
			name:       "the host rule gone, a wake wanted: stopped, then woken",
			item:       func(it *rulestore.Item) { it.WakeWanted = true },
			want:       FailureResult{Reason: reason, Recorded: true, State: rulestore.Stopped, WakeResult: woke},
			wantWrites: []string{"FailSleep " + reason, "BeginWake"},
			wantState:  rulestore.Starting, wantWakes: 1,
		},
		{
			name:  "a wake wanted, its workflow not started: in the result, no error",
			item:  func(it *rulestore.Item) { it.WakeWanted = true },
			setup: func(w *world) { w.waker.err = errors.New("AccessDeniedException") },
			want: FailureResult{Reason: reason, Recorded: true, State: rulestore.Stopped,
				WakeResult: WakeResult{WakeWanted: true, WakeError: "wake " + testHost + ": AccessDeniedException"}},
			wantWrites: []string{"FailSleep " + reason, "BeginWake", "FailWake the wake could not be started: AccessDeniedException"},
			wantState:  rulestore.Stopped, wantLastError: "the wake could not be started: AccessDeniedException",
		},
		{
			name:       "a wake wanted, the table failing: the error (a retry wakes it)",
			item:       func(it *rulestore.Item) { it.WakeWanted = true },
			setup:      func(w *world) { w.rules.errs["BeginWake"] = errBoom },
			wantErr:    "Internal",
			wantWrites: []string{"FailSleep " + reason, "BeginWake"},
			wantState:  rulestore.Stopped, wantLastError: reason,
		},
		{
			name:       "ended by Finish (its wake failed): not recorded again, the wanted wake started",
			item:       func(it *rulestore.Item) { it.State, it.WakeWanted = rulestore.Stopped, true },
			want:       FailureResult{Reason: reason, State: rulestore.Stopped, WakeResult: woke},
			wantWrites: []string{"FailSleep " + reason, "BeginWake"},
			wantState:  rulestore.Starting, wantWakes: 1, wantGets: 1,
		},
		{
			name: "superseded (another sleep): not recorded, no wake, no error",
			item: func(it *rulestore.Item) {
				it.State, it.SleepRequestedAt, it.WakeWanted = rulestore.Stopped, newerAt, true
			},
			want:       FailureResult{Reason: reason},
			wantWrites: []string{"FailSleep " + reason},
			wantState:  rulestore.Stopped, wantGets: 1,
		},
		{
			name:       "superseded (the rule being detached): not recorded",
			item:       func(it *rulestore.Item) { it.State = rulestore.Detaching },
			want:       FailureResult{Reason: reason},
			wantWrites: []string{"FailSleep " + reason},
			wantState:  rulestore.Detaching, wantGets: 1,
		},
		{
			name:      "the rule unreadable: the error, nothing written",
			item:      func(it *rulestore.Item) { it.State = rulestore.Detaching },
			setup:     func(w *world) { w.rules.getErr = errBoom },
			wantErr:   "Internal",
			wantState: rulestore.Detaching,
		},
		{
			name:       "no error document: a generic reason",
			in:         func(in *Input) { in.Error = nil },
			want:       FailureResult{Reason: "the sleep failed", Recorded: true, State: rulestore.Stopped},
			wantWrites: []string{"FailSleep the sleep failed"},
			wantState:  rulestore.Stopped, wantLastError: "the sleep failed",
		},
		{
			name:       "sleepRequestedAt in another zone and precision: the same sleep",
			in:         func(in *Input) { in.SleepRequestedAt = "2026-11-29T21:11:07.123000+01:00" },
			want:       FailureResult{Reason: reason, Recorded: true, State: rulestore.Stopped},
			wantWrites: []string{"FailSleep " + reason},
			wantState:  rulestore.Stopped, wantLastError: reason,
		},
		{
			name:      "a sleepRequestedAt that is not a time: InvalidRequest, nothing written",
			in:        func(in *Input) { in.SleepRequestedAt = "later" },
			wantErr:   "InvalidRequest",
			wantState: rulestore.Stopping,
		},
		{
			name:       "the write failing: the error",
			setup:      func(w *world) { w.rules.errs["FailSleep"] = errBoom },
			wantErr:    "Internal",
			wantWrites: []string{"FailSleep " + reason},
			wantState:  rulestore.Stopping,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := testItem("i-1")
			it.ListenerRuleARN = ""
			if tt.item != nil {
				tt.item(&it)
			}
			w := newWorld(it)
			if tt.setup != nil {
				tt.setup(w)
			}
			in := testInput()
			in.Error = caught
			if tt.in != nil {
				tt.in(&in)
			}

			got, err := RecordFailure(context.Background(), w.deps(), in)

			checkErr(t, err, tt.wantErr, nil, "")
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RecordFailure = %+v,\n want %+v", got, tt.want)
			}
			w.rules.check(t, tt.wantWrites)
			// Plus the read that checks whether a recorded host rule
			// still exists, once the input is understood.
			wantGets := tt.wantGets
			if tt.in == nil || in.SleepRequestedAt != "later" {
				wantGets++
			}
			if w.rules.gets != wantGets {
				t.Errorf("%d reads of the rule, want %d", w.rules.gets, wantGets)
			}
			if r := w.rules.item; r.State != tt.wantState || r.LastError != tt.wantLastError {
				t.Errorf("rule %s, lastError %q; want %s, %q", r.State, r.LastError, tt.wantState, tt.wantLastError)
			}
			if len(w.waker.started) != tt.wantWakes {
				t.Errorf("%d wakes started, want %d", len(w.waker.started), tt.wantWakes)
			}
			for _, r := range w.regions {
				if !strings.HasPrefix(r, "elbv2 ") {
					t.Errorf("clients made: %v; the instances are left as they are", w.regions)
				}
			}
		})
	}
}
