package wake

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/rulestore"
)

var (
	unhealthy    = target(elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthReasonEnumFailedHealthChecks)
	registering  = target(elbtypes.TargetHealthStateEnumInitial, elbtypes.TargetHealthReasonEnumRegistrationInProgress)
	healthCheck  = rulestore.PhaseHealthCheck
	setPhaseHC   = "SetPhase " + string(rulestore.PhaseHealthCheck)
	twoInstances = []string{"i-1", "i-2"}
)

type health = map[string]elbtypes.TargetHealth

func TestWaitReady(t *testing.T) {
	tests := []struct {
		name      string
		ids       []string // the rule's instances; i-1 when nil
		item      func(it *rulestore.Item)
		in        func(in *Input)
		setup     func(w *world)
		instances []map[string]string // DescribeInstances' answer, look by look
		health    []health            // DescribeTargetHealth's answer, call by call
		want      ReadyResult         // compared when no error is wanted
		wantErr   string
		wantIn    []string // in the error
		wantNotIn []string
		// wantWrites to the rules table; nil: none.
		wantWrites []string
		wantSlept  int // sleeps of a poll each
		// wantLooks: DescribeInstances calls.
		wantLooks  int
		superseded bool // no client made
	}{
		{
			name:      "all running, all healthy at the first check: ready",
			ids:       twoInstances,
			instances: []map[string]string{{"i-1": "running", "i-2": "running"}},
			health:    []health{{"i-1": healthy(), "i-2": healthy()}},
			want: ReadyResult{Ready: true, Phase: healthCheck, GraceSeconds: 15, Checks: 1,
				Instances: map[string]string{"i-1": "running", "i-2": "running"},
				Targets:   map[string]string{"i-1": "healthy", "i-2": "healthy"}},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:      "pending, then running, then healthy: phase health-check once running",
			instances: []map[string]string{{"i-1": "pending"}, {"i-1": "running"}},
			health:    []health{{"i-1": registering}, {"i-1": healthy()}},
			want: ReadyResult{Ready: true, Phase: healthCheck, GraceSeconds: 15, Checks: 3,
				Instances: map[string]string{"i-1": "running"}, Targets: map[string]string{"i-1": "healthy"}},
			wantWrites: []string{setPhaseHC}, wantSlept: 2, wantLooks: 2,
		},
		{
			name:   "phase health-check recorded by an earlier watch: instances not described again",
			item:   func(it *rulestore.Item) { it.Phase = healthCheck },
			health: []health{{"i-1": healthy()}},
			want: ReadyResult{Ready: true, Phase: healthCheck, GraceSeconds: 15, Checks: 1,
				Targets: map[string]string{"i-1": "healthy"}},
		},
		{
			name:      "phase switching (a switch that failed and was retried) counts as starting",
			item:      func(it *rulestore.Item) { it.Phase = rulestore.PhaseSwitching },
			instances: []map[string]string{{"i-1": "running"}},
			health:    []health{{"i-1": healthy()}},
			want: ReadyResult{Ready: true, Phase: healthCheck, GraceSeconds: 15, Checks: 1,
				Instances: map[string]string{"i-1": "running"}, Targets: map[string]string{"i-1": "healthy"}},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:      "no phase counts as starting; GraceSeconds is the rule's",
			item:      func(it *rulestore.Item) { it.Phase, it.Rule.GraceSeconds = "", 0 },
			instances: []map[string]string{{"i-1": "running"}},
			health:    []health{{"i-1": healthy()}},
			want: ReadyResult{Ready: true, Phase: healthCheck, Checks: 1,
				Instances: map[string]string{"i-1": "running"}, Targets: map[string]string{"i-1": "healthy"}},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:      "the watch ends first: not ready, no error",
			in:        func(in *Input) { in.Timing.WatchSeconds = 5 },
			instances: []map[string]string{{"i-1": "running"}},
			health:    []health{{"i-1": unhealthy}},
			want: ReadyResult{Phase: healthCheck, GraceSeconds: 15, Checks: 5,
				Instances: map[string]string{"i-1": "running"}, Targets: map[string]string{"i-1": "unhealthy (Target.FailedHealthChecks)"}},
			wantWrites: []string{setPhaseHC}, wantSlept: 4, wantLooks: 1,
		},
		{
			name:      "the watch ends while the instances start: phase starting",
			in:        func(in *Input) { in.Timing.WatchSeconds = 3 },
			instances: []map[string]string{{"i-1": "pending"}},
			want: ReadyResult{Phase: rulestore.PhaseStarting, GraceSeconds: 15, Checks: 3,
				Instances: map[string]string{"i-1": "pending"}},
			wantSlept: 2, wantLooks: 3,
		},
		{
			name:      "a watch of 0 seconds: one check",
			in:        func(in *Input) { in.Timing.WatchSeconds = 0 },
			instances: []map[string]string{{"i-1": "running"}},
			health:    []health{{"i-1": registering}},
			want: ReadyResult{Phase: healthCheck, GraceSeconds: 15, Checks: 1,
				Instances: map[string]string{"i-1": "running"}, Targets: map[string]string{"i-1": "initial (Elb.RegistrationInProgress)"}},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:      "a poll under 100 ms counts as 100 ms",
			in:        func(in *Input) { in.Timing.WatchSeconds, in.Timing.PollMillis = 1, 10 },
			instances: []map[string]string{{"i-1": "running"}},
			health:    []health{{"i-1": unhealthy}},
			want: ReadyResult{Phase: healthCheck, GraceSeconds: 15, Checks: 10,
				Instances: map[string]string{"i-1": "running"}, Targets: map[string]string{"i-1": "unhealthy (Target.FailedHealthChecks)"}},
			wantWrites: []string{setPhaseHC}, wantSlept: 9, wantLooks: 1,
		},
		{
			name:      "a target not registered is not healthy",
			ids:       twoInstances,
			in:        func(in *Input) { in.Timing.WatchSeconds = 1 },
			instances: []map[string]string{{"i-1": "running", "i-2": "running"}},
			health:    []health{{"i-1": healthy()}},
			want: ReadyResult{Phase: healthCheck, GraceSeconds: 15, Checks: 1,
				Instances: map[string]string{"i-1": "running", "i-2": "running"},
				Targets:   map[string]string{"i-1": "healthy", "i-2": "unused (Target.NotRegistered)"}},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:      "a target described without health: not healthy",
			ids:       twoInstances,
			in:        func(in *Input) { in.Timing.WatchSeconds = 1 },
			instances: []map[string]string{{"i-1": "running", "i-2": "running"}},
			health:    []health{{"i-1": healthy(), "i-2": {}}},
			want: ReadyResult{Phase: healthCheck, GraceSeconds: 15, Checks: 1,
				Instances: map[string]string{"i-1": "running", "i-2": "running"},
				Targets:   map[string]string{"i-1": "healthy"}},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:      "the sleep interrupted (the function ending): not ready, no error",
			setup:     func(w *world) { w.clock.sleepErr = context.Canceled },
			instances: []map[string]string{{"i-1": "running"}},
			health:    []health{{"i-1": unhealthy}},
			want: ReadyResult{Phase: healthCheck, GraceSeconds: 15, Checks: 1,
				Instances: map[string]string{"i-1": "running"}, Targets: map[string]string{"i-1": "unhealthy (Target.FailedHealthChecks)"}},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:      "past TimeoutSeconds: NotReady naming the targets not healthy and why",
			ids:       []string{"i-1", "i-2", "i-3"},
			setup:     func(w *world) { w.clock.now = wakeAt.Add(299500 * time.Millisecond) },
			instances: []map[string]string{{"i-1": "running", "i-2": "running", "i-3": "running"}},
			health:    []health{{"i-1": unhealthy, "i-2": healthy(), "i-3": registering}},
			wantErr:   "NotReady",
			wantIn: []string{"rule app", "5m0s", "targets not healthy",
				"i-1 unhealthy (Target.FailedHealthChecks)", "i-3 initial (Elb.RegistrationInProgress)"},
			wantNotIn:  []string{"i-2"},
			wantWrites: []string{setPhaseHC}, wantSlept: 1, wantLooks: 1,
		},
		{
			name:       "past TimeoutSeconds while starting: NotReady naming the instances not running",
			ids:        twoInstances,
			setup:      func(w *world) { w.clock.now = wakeAt.Add(301 * time.Second) },
			instances:  []map[string]string{{"i-1": "pending", "i-2": "running"}},
			wantErr:    "NotReady",
			wantIn:     []string{"instances not running: i-1 pending"},
			wantNotIn:  []string{"i-2"},
			wantLooks:  1,
			wantWrites: nil,
		},
		{
			name:      "timed out but healthy at the check: ready",
			setup:     func(w *world) { w.clock.now = wakeAt.Add(time.Hour) },
			instances: []map[string]string{{"i-1": "running"}},
			health:    []health{{"i-1": healthy()}},
			want: ReadyResult{Ready: true, Phase: healthCheck, GraceSeconds: 15, Checks: 1,
				Instances: map[string]string{"i-1": "running"}, Targets: map[string]string{"i-1": "healthy"}},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:      "an instance found stopped mid-wake: NotReady",
			ids:       twoInstances,
			instances: []map[string]string{{"i-1": "running", "i-2": "stopped"}},
			wantErr:   "NotReady", wantIn: []string{"instance i-2 of rule app is stopped"},
			wantLooks: 1,
		},
		{
			name: "stopped right after this wake started it (EC2 not caught up yet): not yet, not a failure",
			in: func(in *Input) {
				in.Start = &StartResult{Started: []string{"i-1"}, StartedAt: wakeAt.Add(9 * time.Second).Format(time.RFC3339Nano)}
				in.Timing.WatchSeconds = 3
			},
			instances: []map[string]string{{"i-1": "stopped"}, {"i-1": "pending"}},
			want: ReadyResult{Phase: rulestore.PhaseStarting, GraceSeconds: 15, Checks: 3,
				Instances: map[string]string{"i-1": "pending"}},
			wantSlept: 2, wantLooks: 3,
		},
		{
			name: "stopped 30 s after this wake started it: NotReady",
			in: func(in *Input) {
				in.Start = &StartResult{Started: []string{"i-1"}, StartedAt: wakeAt.Add(-20 * time.Second).Format(time.RFC3339Nano)}
			},
			instances: []map[string]string{{"i-1": "stopped"}},
			wantErr:   "NotReady", wantIn: []string{"i-1", "stopped"},
			wantLooks: 1,
		},
		{
			name:      "a target unused because its instance stopped during the health check: NotReady at once",
			item:      func(it *rulestore.Item) { it.Phase = rulestore.PhaseHealthCheck },
			health:    []health{{"i-1": target(elbtypes.TargetHealthStateEnumUnused, elbtypes.TargetHealthReasonEnumInvalidState)}},
			instances: []map[string]string{{"i-1": "stopped"}},
			wantErr:   "NotReady", wantIn: []string{"i-1", "stopped", "during the wake"},
			wantLooks: 1,
		},
		{
			name:      "an instance found stopping mid-wake: NotReady",
			instances: []map[string]string{{"i-1": "pending"}, {"i-1": "stopping"}},
			wantErr:   "NotReady", wantIn: []string{"i-1", "stopping"},
			wantSlept: 1, wantLooks: 2,
		},
		{
			name:      "an instance found terminated mid-wake: NotReady",
			instances: []map[string]string{{"i-1": "terminated"}},
			wantErr:   "NotReady", wantIn: []string{"i-1", "terminated"},
			wantLooks: 1,
		},
		{
			name:      "an instance found shutting down mid-wake: NotReady",
			instances: []map[string]string{{"i-1": "shutting-down"}},
			wantErr:   "NotReady", wantIn: []string{"i-1", "shutting-down"},
			wantLooks: 1,
		},
		{
			name:      "an instance gone: InvalidRequest",
			ids:       twoInstances,
			instances: []map[string]string{{"i-1": "running"}},
			wantErr:   "InvalidRequest", wantIn: []string{"i-2"},
			wantLooks: 1,
		},
		{
			name:      "target group gone: NotFound",
			item:      func(it *rulestore.Item) { it.TargetGroupARN = testTG + "-gone" },
			instances: []map[string]string{{"i-1": "running"}},
			wantErr:   "NotFound", wantIn: []string{testTG + "-gone"},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:      "DescribeTargetHealth failing otherwise: wrapped",
			setup:     func(w *world) { w.elb.healthErr = apiErr("Throttling") },
			instances: []map[string]string{{"i-1": "running"}},
			wantErr:   "Throttled", wantIn: []string{"describe target health of " + testTG},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:      "recording the phase failing: the error",
			setup:     func(w *world) { w.rules.errs["SetPhase"] = errBoom },
			instances: []map[string]string{{"i-1": "running"}},
			wantErr:   "Internal", wantIn: []string{"boom"},
			wantWrites: []string{setPhaseHC}, wantLooks: 1,
		},
		{
			name:       "superseded: the rule is no longer starting",
			item:       func(it *rulestore.Item) { it.State = rulestore.Stopping },
			want:       ReadyResult{Superseded: true},
			superseded: true,
		},
		{
			name:       "superseded: the rule is in another wake",
			item:       func(it *rulestore.Item) { it.WakeRequestedAt = newerAt },
			want:       ReadyResult{Superseded: true},
			superseded: true,
		},
		{
			name:       "a wakeRequestedAt that is not a time: InvalidRequest",
			in:         func(in *Input) { in.WakeRequestedAt = "" },
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
			if tt.item != nil {
				tt.item(&it)
			}
			w := newWorld(it)
			w.ec2.seq, w.elb.health = tt.instances, tt.health
			if tt.setup != nil {
				tt.setup(w)
			}
			in := testInput()
			if tt.in != nil {
				tt.in(&in)
			}

			got, err := WaitReady(context.Background(), w.deps(), in)

			if name := stepError(err); name != tt.wantErr {
				t.Fatalf("err = %v (%s), want %q", err, name, tt.wantErr)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			for _, s := range tt.wantNotIn {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q names %q", err, s)
				}
			}
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WaitReady = %+v,\n want %+v", got, tt.want)
			}
			if !slices.Equal(w.rules.writes, tt.wantWrites) {
				t.Errorf("rule writes %q, want %q", w.rules.writes, tt.wantWrites)
			}
			for _, at := range w.rules.ats {
				if !at.Equal(wakeAt) {
					t.Errorf("a write for the wake at %v, want %v", at, wakeAt)
				}
			}
			if w.rules.eventualGets != 0 {
				t.Errorf("%d eventually consistent reads of the rule", w.rules.eventualGets)
			}
			poll := time.Duration(max(in.Timing.PollMillis, 100)) * time.Millisecond
			if len(w.clock.slept) != tt.wantSlept || slices.ContainsFunc(w.clock.slept, func(d time.Duration) bool { return d != poll }) {
				t.Errorf("slept %v, want %d times %v", w.clock.slept, tt.wantSlept, poll)
			}
			if n := len(w.ec2.calls); n != tt.wantLooks {
				t.Errorf("%d DescribeInstances calls, want %d", n, tt.wantLooks)
			}
			for _, asked := range w.elb.asked {
				if !slices.Equal(asked, ids) {
					t.Errorf("target health asked for %v, want the rule's instances %v", asked, ids)
				}
			}
			if tt.superseded {
				if len(w.regions) != 0 {
					t.Errorf("clients made for a superseded wake: %v", w.regions)
				}
			} else if !slices.Equal(w.regions, []string{"ec2 " + testRegion, "elbv2 " + testRegion}) {
				t.Errorf("clients made for %v, want the load balancer's region %s", w.regions, testRegion)
			}
		})
	}
}

// TestWaitReadyAnswersBeforeTheDeadline: the watch ends 2 s before the
// function's deadline, however long Timing.WatchSeconds is.
func TestWaitReadyAnswersBeforeTheDeadline(t *testing.T) {
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
			it.WakeRequestedAt = now
			w := newWorld(it)
			w.clock.now = now
			w.ec2.seq = []map[string]string{{"i-1": "running"}}
			w.elb.health = []health{{"i-1": unhealthy}}
			in := testInput()
			in.WakeRequestedAt = now.Format(rulestore.TimeFormat)
			in.Timing.PollMillis = 100
			ctx, cancel := context.WithDeadline(context.Background(), now.Add(tt.deadline))
			defer cancel()

			got, err := WaitReady(ctx, w.deps(), in)
			if err != nil || got.Ready {
				t.Fatalf("WaitReady = %+v, %v; want not ready, no error", got, err)
			}
			var slept time.Duration
			for _, d := range w.clock.slept {
				slept += d
			}
			if slept < tt.minSlept || slept > tt.maxSlept || got.Checks != len(w.clock.slept)+1 {
				t.Errorf("slept %v in %d checks, want %v–%v (the watch is 60 s)", slept, got.Checks, tt.minSlept, tt.maxSlept)
			}
		})
	}
}

// TestDepsDefaults: without Now and Sleep, the steps use the real clock, and
// a sleep ends with the context.
func TestDepsDefaults(t *testing.T) {
	var d Deps
	if now := d.now(); time.Since(now) > time.Minute || time.Until(now) > time.Minute {
		t.Errorf("now = %v, want the real time", now)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := d.sleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("sleep with a cancelled context = %v, want %v", err, context.Canceled)
	}
	if err := d.sleep(context.Background(), 0); err != nil {
		t.Errorf("sleep(0) = %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the sleeps took %v", took)
	}
}
