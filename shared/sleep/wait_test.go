package sleep

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/autostop/autostop/shared/rulestore"
)

func TestWaitStopped(t *testing.T) {
	// The fake clock starts 2 minutes into the sleep.
	clockAt := func(d time.Duration) string { return sleepAt.Add(2*time.Minute + d).Format(rulestore.TimeFormat) }
	tests := []struct {
		name      string
		ids       []string // the rule's instances; i-1 when nil
		item      func(it *rulestore.Item)
		in        func(in *Input)
		setup     func(w *world)
		instances []map[string]string // DescribeInstances' answer, look by look
		want      WaitResult          // compared when no error is wanted
		wantErr   string
		wantIn    []string // in the error
		wantNotIn []string
		wantSlept int // sleeps of a poll each
		// wantLooks: DescribeInstances calls.
		wantLooks  int
		superseded bool // no client made
	}{
		{
			name:      "all stopped at the first check: done",
			ids:       []string{"i-1", "i-2"},
			instances: []map[string]string{{"i-1": "stopped", "i-2": "stopped"}},
			want: WaitResult{Done: true, Checks: 1, StoppedAt: clockAt(0),
				Instances: map[string]string{"i-1": "stopped", "i-2": "stopped"}},
			wantLooks: 1,
		},
		{
			name:      "running, stopping, then stopped: done when the last one is",
			ids:       []string{"i-1", "i-2"},
			instances: []map[string]string{{"i-1": "running", "i-2": "stopping"}, {"i-1": "stopping", "i-2": "stopped"}, {"i-1": "stopped", "i-2": "stopped"}},
			want: WaitResult{Done: true, Checks: 3, StoppedAt: clockAt(4 * time.Second),
				Instances: map[string]string{"i-1": "stopped", "i-2": "stopped"}},
			wantSlept: 2, wantLooks: 3,
		},
		{
			name:      "terminated, shutting down and missing instances count as done, and are reported",
			ids:       []string{"i-1", "i-2", "i-3", "i-4"},
			instances: []map[string]string{{"i-1": "stopped", "i-2": "terminated", "i-3": "shutting-down"}},
			want: WaitResult{Done: true, Checks: 1, StoppedAt: clockAt(0), Terminated: []string{"i-2", "i-3", "i-4"},
				Instances: map[string]string{"i-1": "stopped", "i-2": "terminated", "i-3": "shutting-down", "i-4": StateMissing}},
			wantLooks: 1,
		},
		{
			name:      "the watch ends first: not done, no error",
			in:        func(in *Input) { in.Timing.WatchSeconds = 10 },
			instances: []map[string]string{{"i-1": "stopping"}},
			want:      WaitResult{Checks: 5, Instances: map[string]string{"i-1": "stopping"}},
			wantSlept: 4, wantLooks: 5,
		},
		{
			name:      "a watch of 0 seconds: one check",
			in:        func(in *Input) { in.Timing.WatchSeconds = 0 },
			instances: []map[string]string{{"i-1": "stopping"}},
			want:      WaitResult{Checks: 1, Instances: map[string]string{"i-1": "stopping"}},
			wantLooks: 1,
		},
		{
			name:      "a poll under 100 ms counts as 100 ms",
			in:        func(in *Input) { in.Timing.WatchSeconds, in.Timing.PollMillis = 1, 10 },
			instances: []map[string]string{{"i-1": "stopping"}},
			want:      WaitResult{Checks: 10, Instances: map[string]string{"i-1": "stopping"}},
			wantSlept: 9, wantLooks: 10,
		},
		{
			name:      "the sleep interrupted (the function ending): not done, no error",
			setup:     func(w *world) { w.clock.sleepErr = context.Canceled },
			instances: []map[string]string{{"i-1": "stopping"}},
			want:      WaitResult{Checks: 1, Instances: map[string]string{"i-1": "stopping"}},
			wantLooks: 1,
		},
		{
			name:      "past TimeoutSeconds: NotStopped naming the instances not stopped",
			ids:       []string{"i-1", "i-2", "i-3"},
			setup:     func(w *world) { w.clock.now = sleepAt.Add(599 * time.Second) },
			instances: []map[string]string{{"i-1": "stopping", "i-2": "stopped", "i-3": "running"}},
			wantErr:   "NotStopped",
			wantIn:    []string{"rule app", "10m0s", "i-1 stopping, i-3 running"},
			wantNotIn: []string{"i-2"},
			wantSlept: 1, wantLooks: 2,
		},
		{
			name:      "an instance started again outside (pending): waited for, NotStopped at the bound",
			setup:     func(w *world) { w.clock.now = sleepAt.Add(601 * time.Second) },
			instances: []map[string]string{{"i-1": "pending"}},
			wantErr:   "NotStopped", wantIn: []string{"i-1 pending"},
			wantLooks: 1,
		},
		{
			name:      "timed out but stopped at the check: done",
			setup:     func(w *world) { w.clock.now = sleepAt.Add(time.Hour) },
			instances: []map[string]string{{"i-1": "stopped"}},
			want: WaitResult{Done: true, Checks: 1, StoppedAt: sleepAt.Add(time.Hour).Format(rulestore.TimeFormat),
				Instances: map[string]string{"i-1": "stopped"}},
			wantLooks: 1,
		},
		{
			name:    "DescribeInstances failing: wrapped",
			setup:   func(w *world) { w.ec2.describeErr = apiErr("Throttling") },
			wantErr: "Throttled", wantIn: []string{"describe instances [i-1]"},
			wantLooks: 1,
		},
		{
			name:       "superseded: the rule is no longer stopping",
			item:       func(it *rulestore.Item) { it.State = rulestore.Stopped },
			want:       WaitResult{Superseded: true},
			superseded: true,
		},
		{
			name:       "superseded: the rule is in another sleep",
			item:       func(it *rulestore.Item) { it.SleepRequestedAt = newerAt },
			want:       WaitResult{Superseded: true},
			superseded: true,
		},
		{
			name:       "a sleepRequestedAt that is not a time: InvalidRequest",
			in:         func(in *Input) { in.SleepRequestedAt = "1764447067" },
			wantErr:    "InvalidRequest",
			superseded: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := tt.ids
			if ids == nil {
				ids = []string{"i-1"}
			}
			it := testItem(ids...)
			it.ListenerRuleARN = ""
			if tt.item != nil {
				tt.item(&it)
			}
			w := newWorld(it)
			w.ec2.seq = tt.instances
			if tt.setup != nil {
				tt.setup(w)
			}
			in := testInput()
			if tt.in != nil {
				tt.in(&in)
			}

			got, err := WaitStopped(context.Background(), w.deps(), in)

			checkErr(t, err, tt.wantErr, tt.wantIn, "")
			for _, s := range tt.wantNotIn {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q names %q", err, s)
				}
			}
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WaitStopped = %+v,\n want %+v", got, tt.want)
			}
			w.rules.check(t, nil)
			poll := time.Duration(max(in.Timing.PollMillis, 100)) * time.Millisecond
			if len(w.clock.slept) != tt.wantSlept || slices.ContainsFunc(w.clock.slept, func(d time.Duration) bool { return d != poll }) {
				t.Errorf("slept %v, want %d times %v", w.clock.slept, tt.wantSlept, poll)
			}
			if n := len(w.ec2.calls); n != tt.wantLooks {
				t.Errorf("%d DescribeInstances calls, want %d", n, tt.wantLooks)
			}
			if tt.superseded {
				if len(w.regions) != 0 {
					t.Errorf("clients made for a superseded sleep: %v", w.regions)
				}
			} else if !slices.Equal(w.regions, []string{"ec2 " + testRegion}) {
				t.Errorf("clients made for %v, want EC2 in the load balancer's region %s", w.regions, testRegion)
			}
		})
	}
}

// TestWaitStoppedAnswersBeforeTheDeadline: the watch ends 2 s before the
// function's deadline, however long Timing.WatchSeconds is.
func TestWaitStoppedAnswersBeforeTheDeadline(t *testing.T) {
	for _, tt := range []struct {
		name     string
		deadline time.Duration // from now
		minSlept time.Duration
		maxSlept time.Duration
	}{
		{name: "deadline under 2 s away: one check", deadline: time.Second},
		{name: "deadline 3 s away: about a second of watching", deadline: 3 * time.Second, minSlept: 800 * time.Millisecond, maxSlept: time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Millisecond)
			it := testItem("i-1")
			it.SleepRequestedAt = now
			w := newWorld(it)
			w.clock.now = now
			w.ec2.seq = []map[string]string{{"i-1": "stopping"}}
			in := testInput()
			in.SleepRequestedAt = now.Format(rulestore.TimeFormat)
			in.Timing.PollMillis = 100
			ctx, cancel := context.WithDeadline(context.Background(), now.Add(tt.deadline))
			defer cancel()

			got, err := WaitStopped(ctx, w.deps(), in)
			if err != nil || got.Done {
				t.Fatalf("WaitStopped = %+v, %v; want not done, no error", got, err)
			}
			var slept time.Duration
			for _, d := range w.clock.slept {
				slept += d
			}
			if slept < tt.minSlept || slept > tt.maxSlept || got.Checks != len(w.clock.slept)+1 {
				t.Errorf("slept %v in %d checks, want %v–%v (the watch is 50 s)", slept, got.Checks, tt.minSlept, tt.maxSlept)
			}
		})
	}
}
