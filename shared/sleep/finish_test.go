package sleep

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/rulestore"
)

func TestBrokenReason(t *testing.T) {
	tests := []struct {
		ids  []string
		want string
	}{
		{nil, ""},
		{[]string{"i-0abc"}, "instance i-0abc was terminated outside autostop; detach and attach the rule again"},
		{[]string{"i-1", "i-2"}, "instances i-1, i-2 were terminated outside autostop; detach and attach the rule again"},
	}
	for _, tt := range tests {
		if got := BrokenReason(tt.ids); got != tt.want {
			t.Errorf("BrokenReason(%v) = %q, want %q", tt.ids, got, tt.want)
		}
	}
}

func TestFinish(t *testing.T) {
	waitStoppedAt := sleepAt.Add(90 * time.Second)
	stopped := func(broken string) string {
		s := "FinishSleep " + waitStoppedAt.Format(rulestore.TimeFormat)
		if broken != "" {
			s += " broken: " + broken
		}
		return s
	}
	finished := waitStoppedAt.Format(rulestore.TimeFormat)
	woken := func(it rulestore.Item) rulestore.Item {
		it.State, it.Phase, it.WakeRequestedAt, it.WakeWanted = rulestore.Starting, rulestore.PhaseStarting, wokenAt, false
		return it
	}
	wakeName := proxymanager.WakeExecutionName(woken(testItem("i-1")))
	oneGone := BrokenReason([]string{"i-2"})

	tests := []struct {
		name  string
		item  func(it *rulestore.Item)
		in    func(in *Input)
		setup func(w *world)
		want  FinishResult
		// wantErr and wantIn: the error's name and what it says.
		wantErr string
		wantIn  []string
		// wantWrites to the rules table; nil: none.
		wantWrites []string
		// wantState, wantBroken, wantLastError: the rule afterwards.
		wantState     rulestore.State
		wantBroken    string
		wantLastError string
		// wantWakes: the wakes started.
		wantWakes int
	}{
		{
			name:       "the rule stopped since WaitStopped saw it",
			want:       FinishResult{State: rulestore.Stopped, StoppedAt: finished},
			wantWrites: []string{stopped("")},
			wantState:  rulestore.Stopped,
		},
		{
			name:       "no stop time from WaitStopped: the clock's",
			in:         func(in *Input) { in.Wait.StoppedAt = "" },
			want:       FinishResult{State: rulestore.Stopped, StoppedAt: sleepAt.Add(2 * time.Minute).Format(rulestore.TimeFormat)},
			wantWrites: []string{"FinishSleep " + sleepAt.Add(2*time.Minute).Format(rulestore.TimeFormat)},
			wantState:  rulestore.Stopped,
		},
		{
			name: "an instance terminated outside: the rule broken, naming it",
			in: func(in *Input) {
				in.Stop.Terminated = []string{"i-2"}
				in.Wait.Terminated = []string{"i-2"}
			},
			want:       FinishResult{State: rulestore.Stopped, StoppedAt: finished, Broken: oneGone},
			wantWrites: []string{stopped(oneGone)},
			wantState:  rulestore.Stopped, wantBroken: oneGone,
		},
		{
			name: "instances gone at StopInstances or during the wait: all named, once each",
			in: func(in *Input) {
				in.Stop.Terminated = []string{"i-3", "i-2"}
				in.Wait.Terminated = []string{"i-2", "i-4"}
			},
			want: FinishResult{State: rulestore.Stopped, StoppedAt: finished,
				Broken: "instances i-2, i-3, i-4 were terminated outside autostop; detach and attach the rule again"},
			wantWrites: []string{stopped("instances i-2, i-3, i-4 were terminated outside autostop; detach and attach the rule again")},
			wantState:  rulestore.Stopped,
			wantBroken: "instances i-2, i-3, i-4 were terminated outside autostop; detach and attach the rule again",
		},
		{
			name: "a wake wanted: started once the rule is stopped",
			item: func(it *rulestore.Item) { it.WakeWanted = true },
			want: FinishResult{State: rulestore.Stopped, StoppedAt: finished, WakeResult: WakeResult{
				WakeWanted: true, Woke: true, WakeRequestedAt: wokenAt.Format(rulestore.TimeFormat), WakeExecution: wakeName}},
			wantWrites: []string{stopped(""), "BeginWake"},
			wantState:  rulestore.Starting, wantWakes: 1,
		},
		{
			name: "a wake wanted of a broken rule: not woken",
			item: func(it *rulestore.Item) { it.WakeWanted = true },
			in:   func(in *Input) { in.Wait.Terminated = []string{"i-2"} },
			want: FinishResult{State: rulestore.Stopped, StoppedAt: finished, Broken: oneGone,
				WakeResult: WakeResult{WakeWanted: true}},
			wantWrites: []string{stopped(oneGone)},
			wantState:  rulestore.Stopped, wantBroken: oneGone,
		},
		{
			name:  "a wake wanted, its workflow not started: the reason on the rule and in the result, no error",
			item:  func(it *rulestore.Item) { it.WakeWanted = true },
			setup: func(w *world) { w.waker.err = errors.New("ExecutionLimitExceeded") },
			want: FinishResult{State: rulestore.Stopped, StoppedAt: finished, WakeResult: WakeResult{
				WakeWanted: true, WakeError: "wake " + testHost + ": ExecutionLimitExceeded"}},
			wantWrites: []string{stopped(""), "BeginWake", "FailWake the wake could not be started: ExecutionLimitExceeded"},
			wantState:  rulestore.Stopped, wantLastError: "the wake could not be started: ExecutionLimitExceeded",
		},
		{
			name:    "a wake wanted, the table failing: the error (a retry wakes it), the rule stopped",
			item:    func(it *rulestore.Item) { it.WakeWanted = true },
			setup:   func(w *world) { w.rules.errs["BeginWake"] = errBoom },
			wantErr: "Internal", wantIn: []string{"wake rule app, asked for while it was stopping", "boom"},
			wantWrites: []string{stopped(""), "BeginWake"},
			wantState:  rulestore.Stopped,
		},
		{
			name: "a wake wanted, a request's wake first: not woken again",
			item: func(it *rulestore.Item) { it.WakeWanted = true },
			setup: func(w *world) {
				w.rules.supersedeAt = "BeginWake"
			},
			want:       FinishResult{State: rulestore.Stopped, StoppedAt: finished, WakeResult: WakeResult{WakeWanted: true}},
			wantWrites: []string{stopped(""), "BeginWake"},
			wantState:  rulestore.Starting,
		},
		{
			name:    "a wake wanted, no waker configured: the error",
			item:    func(it *rulestore.Item) { it.WakeWanted = true },
			setup:   func(w *world) { w.noWaker = true },
			wantErr: "Internal", wantIn: []string{"WAKE_STATE_MACHINE_ARN"},
			wantWrites: []string{stopped("")},
			wantState:  rulestore.Stopped,
		},
		{
			name: "a retry after the rule was recorded stopped: the wanted wake started",
			item: func(it *rulestore.Item) {
				it.State, it.StoppedAt, it.WakeWanted = rulestore.Stopped, waitStoppedAt, true
			},
			want: FinishResult{State: rulestore.Stopped, StoppedAt: finished, EndedEarlier: true, WakeResult: WakeResult{
				WakeWanted: true, Woke: true, WakeRequestedAt: wokenAt.Format(rulestore.TimeFormat), WakeExecution: wakeName}},
			wantWrites: []string{"BeginWake"},
			wantState:  rulestore.Starting, wantWakes: 1,
		},
		{
			name:      "a retry after the rule was recorded stopped, no wake wanted: nothing to do",
			item:      func(it *rulestore.Item) { it.State, it.StoppedAt = rulestore.Stopped, waitStoppedAt },
			want:      FinishResult{State: rulestore.Stopped, StoppedAt: finished, EndedEarlier: true},
			wantState: rulestore.Stopped,
		},
		{
			name: "superseded: stopped by another sleep",
			item: func(it *rulestore.Item) {
				it.State, it.SleepRequestedAt, it.WakeWanted = rulestore.Stopped, newerAt, true
			},
			want:      FinishResult{Superseded: true},
			wantState: rulestore.Stopped,
		},
		{
			name:      "superseded: the rule is being detached",
			item:      func(it *rulestore.Item) { it.State = rulestore.Detaching },
			want:      FinishResult{Superseded: true},
			wantState: rulestore.Detaching,
		},
		{
			name:      "superseded: the rule is in another sleep",
			item:      func(it *rulestore.Item) { it.SleepRequestedAt, it.WakeWanted = newerAt, true },
			want:      FinishResult{Superseded: true},
			wantState: rulestore.Stopping,
		},
		{
			name:       "superseded between the read and the write: nothing more",
			item:       func(it *rulestore.Item) { it.WakeWanted = true },
			setup:      func(w *world) { w.rules.supersedeAt = "FinishSleep" },
			want:       FinishResult{Superseded: true},
			wantWrites: []string{stopped("")},
			wantState:  rulestore.Stopping,
		},
		{
			name:    "the write failing: the error",
			setup:   func(w *world) { w.rules.errs["FinishSleep"] = errBoom },
			wantErr: "Internal", wantIn: []string{"boom"},
			wantWrites: []string{stopped("")},
			wantState:  rulestore.Stopping,
		},
		{
			name:    "the rule unreadable: the error",
			setup:   func(w *world) { w.rules.getErr = errBoom },
			wantErr: "Internal", wantIn: []string{"read rule " + testHost},
			wantState: rulestore.Stopping,
		},
		{
			name:      "a sleepRequestedAt that is not a time: InvalidRequest",
			in:        func(in *Input) { in.SleepRequestedAt = "now" },
			wantErr:   "InvalidRequest",
			wantState: rulestore.Stopping,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := testItem("i-1", "i-2")
			it.ListenerRuleARN = ""
			if tt.item != nil {
				tt.item(&it)
			}
			w := newWorld(it)
			if tt.setup != nil {
				tt.setup(w)
			}
			in := testInput()
			in.Stop = &StopResult{Attempt: 1, Stopped: []string{"i-1"}}
			in.Wait = &WaitResult{Done: true, StoppedAt: waitStoppedAt.Format(rulestore.TimeFormat)}
			if tt.in != nil {
				tt.in(&in)
			}

			got, err := Finish(context.Background(), w.deps(), in)

			checkErr(t, err, tt.wantErr, tt.wantIn, "")
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Finish = %+v,\n want %+v", got, tt.want)
			}
			w.rules.check(t, tt.wantWrites)
			r := w.rules.item
			if r.State != tt.wantState || r.Broken != tt.wantBroken || r.LastError != tt.wantLastError {
				t.Errorf("rule %s, broken %q, lastError %q; want %s, %q, %q", r.State, r.Broken, r.LastError, tt.wantState, tt.wantBroken, tt.wantLastError)
			}
			if len(w.waker.started) != tt.wantWakes {
				t.Errorf("%d wakes started, want %d", len(w.waker.started), tt.wantWakes)
			}
			for _, s := range w.waker.started {
				if s.Host != testHost || !s.WakeRequestedAt.Equal(wokenAt) {
					t.Errorf("wake started for %s at %v, want %s at %v", s.Host, s.WakeRequestedAt, testHost, wokenAt)
				}
			}
			if len(w.regions) != 0 {
				t.Errorf("clients made: %v; Finish touches no instance", w.regions)
			}
		})
	}
}
