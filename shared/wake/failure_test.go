package wake

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/autostop/autostop/shared/rulestore"
)

func TestReason(t *testing.T) {
	long := strings.Repeat("the targets never became healthy; ", 60) // 2040 bytes
	// Two-byte runes from an odd offset: a cut at a fixed byte count
	// lands inside one.
	accented := "NotReady: x" + strings.Repeat("é", MaxReasonLength)

	tests := []struct {
		name string
		err  *CaughtError
		want string
	}{
		{name: "no error document", want: "the wake failed"},
		{
			name: "a Lambda error document: its errorMessage, the name prefixed",
			err:  &CaughtError{Error: "NotReady", Cause: `{"errorType":"NotReady","errorMessage":"rule app was not ready 5m0s after the first request: targets not healthy: i-1 unhealthy (Target.Timeout)"}`},
			want: "NotReady: rule app was not ready 5m0s after the first request: targets not healthy: i-1 unhealthy (Target.Timeout)",
		},
		{
			name: "a Lambda error document whose message starts with the name: not prefixed twice",
			err:  &CaughtError{Error: "InvalidRequest", Cause: `{"errorType":"InvalidRequest","errorMessage":"InvalidRequest: instance i-1 of the rule does not exist"}`},
			want: "InvalidRequest: instance i-1 of the rule does not exist",
		},
		{
			name: "a Lambda error document, message padded: trimmed",
			err:  &CaughtError{Error: "Internal", Cause: `{"errorType":"Internal","errorMessage":"  boom\n"}`},
			want: "Internal: boom",
		},
		{
			name: "a plain cause (a Pass state's, a timeout's): the name prefixed",
			err:  &CaughtError{Error: "NotReady", Cause: "the rule's instances were still stopping after every try to start them"},
			want: "NotReady: the rule's instances were still stopping after every try to start them",
		},
		{
			name: "a plain cause with the name already: as is",
			err:  &CaughtError{Error: "States.Timeout", Cause: "States.Timeout: the task timed out"},
			want: "States.Timeout: the task timed out",
		},
		{
			name: "JSON without errorMessage: the cause as is",
			err:  &CaughtError{Error: "Lambda.Unknown", Cause: `{"errorType":"Runtime.ExitError"}`},
			want: `Lambda.Unknown: {"errorType":"Runtime.ExitError"}`,
		},
		{name: "an empty cause: the name", err: &CaughtError{Error: "States.TaskFailed"}, want: "States.TaskFailed"},
		{name: "a blank cause: the name", err: &CaughtError{Error: "States.TaskFailed", Cause: " \n"}, want: "States.TaskFailed"},
		{name: "a Lambda document with an empty message: the name", err: &CaughtError{Error: "Internal", Cause: `{"errorMessage":""}`},
			want: `Internal: {"errorMessage":""}`},
		{name: "no name: the cause", err: &CaughtError{Cause: "something broke"}, want: "something broke"},
		{name: "neither name nor cause: never an empty lastError", err: &CaughtError{}, want: "the wake failed"},
		{
			name: "a long reason: cut at MaxReasonLength",
			err:  &CaughtError{Error: "NotReady", Cause: long},
			want: ("NotReady: " + long)[:MaxReasonLength] + "…",
		},
		{
			name: "a long reason of multi-byte runes: cut between runes",
			err:  &CaughtError{Error: "NotReady", Cause: `{"errorMessage":"` + accented + `"}`},
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
	caught := &CaughtError{Error: "NotReady", Cause: `{"errorType":"NotReady","errorMessage":"instance i-1 of rule app is stopped"}`}
	const reason = "NotReady: instance i-1 of rule app is stopped"

	tests := []struct {
		name        string
		item        func(it *rulestore.Item)
		in          func(in *Input)
		setup       func(w *world)
		want        FailureResult
		wantErr     string
		wantWrites  []string
		wantState   rulestore.State
		wantLastErr string
	}{
		{
			name:       "the rule back to stopped with the reason",
			want:       FailureResult{Reason: reason, Recorded: true},
			wantWrites: []string{"FailWake " + reason},
			wantState:  rulestore.Stopped, wantLastErr: reason,
		},
		{
			name:       "wakeRequestedAt in another zone and precision: the same wake",
			in:         func(in *Input) { in.WakeRequestedAt = "2026-11-29T21:11:07.123000+01:00" },
			want:       FailureResult{Reason: reason, Recorded: true},
			wantWrites: []string{"FailWake " + reason},
			wantState:  rulestore.Stopped, wantLastErr: reason,
		},
		{
			name:       "superseded (another wake): not recorded, no error",
			item:       func(it *rulestore.Item) { it.WakeRequestedAt = newerAt },
			want:       FailureResult{Reason: reason},
			wantWrites: []string{"FailWake " + reason},
			wantState:  rulestore.Starting,
		},
		{
			name:       "superseded (the rule running): not recorded",
			item:       func(it *rulestore.Item) { it.State = rulestore.Running },
			want:       FailureResult{Reason: reason},
			wantWrites: []string{"FailWake " + reason},
			wantState:  rulestore.Running,
		},
		{
			name:       "no error document: a generic reason",
			in:         func(in *Input) { in.Error = nil },
			want:       FailureResult{Reason: "the wake failed", Recorded: true},
			wantWrites: []string{"FailWake the wake failed"},
			wantState:  rulestore.Stopped, wantLastErr: "the wake failed",
		},
		{
			name:      "a wakeRequestedAt that is not a time: InvalidRequest, nothing written",
			in:        func(in *Input) { in.WakeRequestedAt = "1764447067" },
			wantErr:   "InvalidRequest",
			wantState: rulestore.Starting,
		},
		{
			name:       "the write failing: the error",
			setup:      func(w *world) { w.rules.errs["FailWake"] = errBoom },
			wantErr:    "Internal",
			wantWrites: []string{"FailWake " + reason},
			wantState:  rulestore.Starting,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := testItem("i-1")
			it.Phase = rulestore.PhaseHealthCheck
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

			if name := stepError(err); name != tt.wantErr {
				t.Fatalf("err = %v (%s), want %q", err, name, tt.wantErr)
			}
			if tt.wantErr == "" && got != tt.want {
				t.Errorf("RecordFailure = %+v, want %+v", got, tt.want)
			}
			if !slices.Equal(w.rules.writes, tt.wantWrites) {
				t.Errorf("rule writes %q, want %q", w.rules.writes, tt.wantWrites)
			}
			for _, at := range w.rules.ats {
				if !at.Equal(wakeAt) {
					t.Errorf("FailWake for the wake at %v, want %v", at, wakeAt)
				}
			}
			if w.rules.item.State != tt.wantState || w.rules.item.LastError != tt.wantLastErr {
				t.Errorf("rule %s, lastError %q; want %s, %q", w.rules.item.State, w.rules.item.LastError, tt.wantState, tt.wantLastErr)
			}
			if tt.wantState == rulestore.Stopped && w.rules.item.Phase != "" {
				t.Errorf("a stopped rule kept phase %s", w.rules.item.Phase)
			}
			if len(w.regions) != 0 {
				t.Errorf("clients made: %v; the instances are left as they are", w.regions)
			}
		})
	}
}
