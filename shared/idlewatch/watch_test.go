package idlewatch

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/rulestore"
)

// sleepStart is the SleepRule start of a sleep requested by this run (the
// fake table's clock is testNow).
func sleepStart(it rulestore.Item, reason rulestore.SleepReason) string {
	return sleepStartAt(it, reason, testNow)
}

func sleepStartAt(it rulestore.Item, reason rulestore.SleepReason, at time.Time) string {
	it.SleepRequestedAt = at
	return fmt.Sprintf(`sleep-rule %s {"host":%q,"sleepRequestedAt":%q,"reason":%q}`,
		SleepExecutionName(it), it.Host, at.Format(rulestore.TimeFormat), reason)
}

func repairStart(it rulestore.Item, ids ...string) string {
	return fmt.Sprintf(`repair-targets %s {"host":%q,"instanceIds":["%s"]}`,
		RepairExecutionName(it, testNow), it.Host, strings.Join(ids, `","`))
}

func wakeStart(it rulestore.Item) string {
	it.WakeRequestedAt = testNow
	return fmt.Sprintf(`wake-rule %s {"host":%q,"wakeRequestedAt":%q}`,
		proxymanager.WakeExecutionName(it), it.Host, testNow.Format(rulestore.TimeFormat))
}

func host(name string) string { return name + ".autostop.example.test" }

// counts is a report without its time and actions.
func counts(r Report) Report {
	r.Now, r.Actions = time.Time{}, nil
	return r
}

// actionsOf lists "host action outcome [sleepReason]" of the report.
func actionsOf(r Report) []string {
	var out []string
	for _, a := range r.Actions {
		who := a.Host
		if who == "" {
			who = a.Region
		}
		out = append(out, strings.TrimSpace(strings.Join([]string{who, a.Action, a.Outcome, string(a.SleepReason)}, " ")))
	}
	slices.Sort(out)

	return out
}

func TestRun(t *testing.T) {
	young := running("young")
	young.ReadyAt = testNow.Add(-5 * time.Minute)
	failedWake := func(ago time.Duration) rulestore.Item {
		it := stopped("app")
		it.LastError = "rule app was not ready 10m0s after the first request"
		it.WakeRequestedAt = testNow.Add(-ago)
		return it
	}
	stopping := func(name string, ago time.Duration, execution string) rulestore.Item {
		it := running(name)
		it.State, it.SleepRequestedAt, it.SleepReason, it.SleepExecution = rulestore.Stopping, testNow.Add(-ago), rulestore.SleepIdle, execution
		return it
	}
	broken := stopped("broken")
	broken.Broken = "instance i-broken was terminated outside autostop"

	tests := []struct {
		name  string
		items []rulestore.Item
		setup func(w *world)
		// busy hosts have requests (region1).
		busy []string
		// Run's outcome.
		wantErr     string
		wantWrites  []string // rules table writes, sorted
		wantStarted []string // executions, sorted
		wantReport  Report   // counts
		wantActions []string // actionsOf
		// wantTargetChecks: target groups whose health was read (region1).
		wantTargetChecks []string
		// notQueried: hosts without a GetMetricData query.
		notQueried []string
	}{
		{
			name:             "an idle rule goes to sleep; a busy one has its targets checked",
			items:            []rulestore.Item{running("app"), running("busy")},
			busy:             []string{host("busy")},
			wantWrites:       []string{"BeginSleep app.autostop.example.test idle"},
			wantStarted:      []string{sleepStart(running("app"), rulestore.SleepIdle)},
			wantReport:       Report{Rules: 2, Judged: 2, Idle: 1, SleepsStarted: 1},
			wantActions:      []string{host("app") + " sleep started idle"},
			wantTargetChecks: []string{tgARN(region1, "busy")},
		},
		{
			name:       "a rule running for less than its idle time + lag is not judged",
			items:      []rulestore.Item{young},
			wantReport: Report{Rules: 1},
			notQueried: []string{host("young")},
			// Its targets are checked all the same.
			wantTargetChecks: []string{tgARN(region1, "young")},
		},
		{
			name:  "BeginSleep lost (the rule was woken again meanwhile): no execution",
			items: []rulestore.Item{running("app")},
			setup: func(w *world) {
				w.rules.race = func(op, h string, items map[string]rulestore.Item) {
					if op == "BeginSleep" {
						it := items[h]
						it.ReadyAt = testNow.Add(-time.Second)
						items[h] = it
					}
				}
			},
			wantWrites:  []string{"BeginSleep app.autostop.example.test idle"},
			wantReport:  Report{Rules: 1, Judged: 1, Idle: 1},
			wantActions: []string{host("app") + " sleep lost idle"},
		},
		{
			name:             "a dry-run rule is not stopped",
			items:            []rulestore.Item{dryRun(running("app"))},
			wantReport:       Report{Rules: 1, Judged: 1, Idle: 1, WouldStop: 1},
			wantActions:      []string{host("app") + " would-stop logged"},
			wantTargetChecks: []string{tgARN(region1, "app")},
		},
		{
			name:  "instances started outside autostop: the rule is woken",
			items: []rulestore.Item{stopped("app")},
			// Its instance runs (the world's default); a stopped rule is
			// not judged.
			wantWrites:  []string{"BeginWake app.autostop.example.test"},
			wantStarted: []string{wakeStart(stopped("app"))},
			wantReport:  Report{Rules: 1, WokenOutside: 1},
			wantActions: []string{host("app") + " wake started"},
			notQueried:  []string{host("app")},
		},
		{
			name:        "started outside, but its last wake failed less than its idle time ago: not woken",
			items:       []rulestore.Item{failedWake(10 * time.Minute)},
			wantReport:  Report{Rules: 1},
			wantActions: []string{host("app") + " wake skipped"},
		},
		{
			name:        "started outside, its last wake failed longer than its idle time ago: woken",
			items:       []rulestore.Item{failedWake(16 * time.Minute)},
			wantWrites:  []string{"BeginWake app.autostop.example.test"},
			wantStarted: []string{wakeStart(stopped("app"))},
			wantReport:  Report{Rules: 1, WokenOutside: 1},
			wantActions: []string{host("app") + " wake started"},
		},
		{
			name:  "a wake that cannot start puts the rule back to stopped",
			items: []rulestore.Item{stopped("app")},
			setup: func(w *world) { w.sfn.errs = map[string]error{wakeARN: errBoom} },
			wantWrites: []string{"BeginWake app.autostop.example.test",
				"FailWake app.autostop.example.test"},
			wantStarted: []string{wakeStart(stopped("app"))},
			wantReport:  Report{Rules: 1, Errors: 1},
			wantActions: []string{host("app") + " wake failed"},
		},
		{
			name:  "a stopped rule whose instances are stopped, or one pending: nothing",
			items: []rulestore.Item{stopped("app", "i-1", "i-2"), stopped("boot")},
			setup: func(w *world) {
				w.ec2[region1].states["i-1"] = ec2types.InstanceStateNameStopped
				w.ec2[region1].states["i-2"] = ec2types.InstanceStateNameStopped
				w.ec2[region1].states["i-boot"] = ec2types.InstanceStateNamePending
			},
			wantReport: Report{Rules: 2},
		},
		{
			name:       "a broken rule is never woken",
			items:      []rulestore.Item{broken},
			wantReport: Report{Rules: 1},
		},
		{
			name:  "instances stopped outside autostop: sleep, not judged",
			items: []rulestore.Item{running("app", "i-1", "i-2")},
			setup: func(w *world) { w.ec2[region1].states["i-2"] = ec2types.InstanceStateNameStopped },
			// Busy: were it judged, it would not sleep for idleness.
			busy:        []string{host("app")},
			wantWrites:  []string{"BeginSleep app.autostop.example.test stopped-outside"},
			wantStarted: []string{sleepStart(running("app", "i-1", "i-2"), rulestore.SleepStoppedOutside)},
			wantReport:  Report{Rules: 1, StoppedOutside: 1},
			wantActions: []string{host("app") + " sleep started stopped-outside"},
			notQueried:  []string{host("app")},
		},
		{
			name:        "stopping outside counts as stopped",
			items:       []rulestore.Item{running("app")},
			setup:       func(w *world) { w.ec2[region1].states["i-app"] = ec2types.InstanceStateNameStopping },
			wantWrites:  []string{"BeginSleep app.autostop.example.test stopped-outside"},
			wantStarted: []string{sleepStart(running("app"), rulestore.SleepStoppedOutside)},
			wantReport:  Report{Rules: 1, StoppedOutside: 1},
			wantActions: []string{host("app") + " sleep started stopped-outside"},
		},
		{
			name:  "terminated, shutting down or missing instances: terminated outside, which wins over stopped",
			items: []rulestore.Item{running("term", "i-t", "i-s"), running("shut"), running("gone", "i-gone", "i-ok")},
			setup: func(w *world) {
				w.ec2[region1].states["i-t"] = ec2types.InstanceStateNameTerminated
				w.ec2[region1].states["i-s"] = ec2types.InstanceStateNameStopped
				w.ec2[region1].states["i-shut"] = ec2types.InstanceStateNameShuttingDown
				delete(w.ec2[region1].states, "i-gone")
			},
			wantWrites: []string{
				"BeginSleep gone.autostop.example.test terminated-outside",
				"BeginSleep shut.autostop.example.test terminated-outside",
				"BeginSleep term.autostop.example.test terminated-outside",
			},
			wantStarted: []string{
				sleepStart(running("gone"), rulestore.SleepTerminatedOutside),
				sleepStart(running("shut"), rulestore.SleepTerminatedOutside),
				sleepStart(running("term"), rulestore.SleepTerminatedOutside),
			},
			wantReport: Report{Rules: 3, TerminatedOutside: 3},
			wantActions: []string{
				host("gone") + " sleep started terminated-outside",
				host("shut") + " sleep started terminated-outside",
				host("term") + " sleep started terminated-outside",
			},
			notQueried: []string{host("gone"), host("shut"), host("term")},
		},
		{
			name:  "instances deregistered outside autostop: RepairTargets",
			items: []rulestore.Item{running("app", "i-3", "i-1", "i-2")},
			busy:  []string{host("app")},
			setup: func(w *world) {
				tg := w.elb[region1].targets[tgARN(region1, "app")]
				delete(tg, "i-3")
				tg["i-1"] = elbtypes.TargetHealthReasonEnumNotRegistered
			},
			wantStarted:      []string{repairStart(running("app"), "i-1", "i-3")},
			wantReport:       Report{Rules: 1, Judged: 1, Repaired: 1},
			wantActions:      []string{host("app") + " repair started"},
			wantTargetChecks: []string{tgARN(region1, "app")},
		},
		{
			name:  "a repair started by an earlier run of the minute: already running",
			items: []rulestore.Item{running("app")},
			busy:  []string{host("app")},
			setup: func(w *world) {
				delete(w.elb[region1].targets[tgARN(region1, "app")], "i-app")
				w.sfn.existing[RepairExecutionName(running("app"), testNow)] = true
			},
			wantStarted:      []string{repairStart(running("app"), "i-app")},
			wantReport:       Report{Rules: 1, Judged: 1, Repaired: 1},
			wantActions:      []string{host("app") + " repair started"},
			wantTargetChecks: []string{tgARN(region1, "app")},
		},
		{
			name:  "a target group that cannot be read: that rule's error only",
			items: []rulestore.Item{running("app"), running("other")},
			busy:  []string{host("app"), host("other")},
			setup: func(w *world) {
				w.elb[region1].errs = map[string]error{tgARN(region1, "app"): apiErr("TargetGroupNotFound")}
				delete(w.elb[region1].targets[tgARN(region1, "other")], "i-other")
			},
			wantStarted:      []string{repairStart(running("other"), "i-other")},
			wantReport:       Report{Rules: 2, Judged: 2, Repaired: 1, Errors: 1},
			wantActions:      []string{host("app") + " repair failed", host("other") + " repair started"},
			wantTargetChecks: []string{tgARN(region1, "app"), tgARN(region1, "other")},
		},
		{
			name:        "stopping for over a minute without a SleepRule: started again, under the sleep's name",
			items:       []rulestore.Item{stopping("stuck", 2*time.Minute, "")},
			wantStarted: []string{sleepStartAt(running("stuck"), rulestore.SleepIdle, testNow.Add(-2*time.Minute))},
			wantReport:  Report{Rules: 1, SleepsResumed: 1},
			wantActions: []string{host("stuck") + " resume-sleep started idle"},
		},
		{
			name: "stopping for less than a minute, or with its SleepRule recorded: left alone",
			items: []rulestore.Item{stopping("new", 30*time.Second, ""),
				stopping("going", 5*time.Minute, "arn:aws:states:us-east-1:123456789012:execution:autostop-sleep-rule:x")},
			wantReport: Report{Rules: 2},
		},
		{
			name:  "an error on one rule does not stop the others",
			items: []rulestore.Item{running("a"), running("b"), running("c")},
			setup: func(w *world) { w.rules.errs["BeginSleep "+host("b")] = errBoom },
			wantWrites: []string{
				"BeginSleep a.autostop.example.test idle",
				"BeginSleep b.autostop.example.test idle",
				"BeginSleep c.autostop.example.test idle",
			},
			wantStarted: []string{sleepStart(running("a"), rulestore.SleepIdle), sleepStart(running("c"), rulestore.SleepIdle)},
			wantReport:  Report{Rules: 3, Judged: 3, Idle: 3, SleepsStarted: 2, Errors: 1},
			wantActions: []string{host("a") + " sleep started idle", host("b") + " sleep failed idle", host("c") + " sleep started idle"},
		},
		{
			name:        "instances cannot be read: nothing reconciled, idle rules still judged",
			items:       []rulestore.Item{running("app"), stopped("woken")},
			setup:       func(w *world) { w.ec2[region1].err = errBoom },
			wantWrites:  []string{"BeginSleep app.autostop.example.test idle"},
			wantStarted: []string{sleepStart(running("app"), rulestore.SleepIdle)},
			wantReport:  Report{Rules: 2, Judged: 1, Idle: 1, SleepsStarted: 1, Errors: 1},
			wantActions: []string{host("app") + " sleep started idle", region1 + " describe-instances failed"},
		},
		{
			name:  "no metrics at all: an error, and only the reconciling done",
			items: []rulestore.Item{running("app"), running("off")},
			setup: func(w *world) {
				w.cw[region1].getErr = apiErr("AccessDenied")
				w.ec2[region1].states["i-off"] = ec2types.InstanceStateNameStopped
			},
			wantErr:          "no metrics could be read",
			wantWrites:       []string{"BeginSleep off.autostop.example.test stopped-outside"},
			wantStarted:      []string{sleepStart(running("off"), rulestore.SleepStoppedOutside)},
			wantReport:       Report{Rules: 2, StoppedOutside: 1, Errors: 1},
			wantActions:      []string{region1 + " read-metrics failed", host("off") + " sleep started stopped-outside"},
			wantTargetChecks: []string{tgARN(region1, "app")},
		},
		{
			name:        "one region's metrics fail: its rules are not judged, the other's are",
			items:       []rulestore.Item{running("app"), inRegion(running("far"), region2)},
			setup:       func(w *world) { w.cw[region2].getErr = errBoom },
			wantWrites:  []string{"BeginSleep app.autostop.example.test idle"},
			wantStarted: []string{sleepStart(running("app"), rulestore.SleepIdle)},
			wantReport:  Report{Rules: 2, Judged: 1, Idle: 1, SleepsStarted: 1, Errors: 1},
			wantActions: []string{host("app") + " sleep started idle", region2 + " read-metrics failed"},
		},
		{
			name:        "a rule whose load balancer ARN has no region: its error only",
			items:       []rulestore.Item{func() rulestore.Item { it := running("bad"); it.LoadBalancerARN = "web"; return it }(), running("app")},
			wantWrites:  []string{"BeginSleep app.autostop.example.test idle"},
			wantStarted: []string{sleepStart(running("app"), rulestore.SleepIdle)},
			wantReport:  Report{Rules: 2, Judged: 1, Idle: 1, SleepsStarted: 1, Errors: 1},
			wantActions: []string{host("app") + " sleep started idle", host("bad") + " sleep failed"},
		},
		{
			name: "starting and detaching rules: nothing, even with a malformed ARN",
			items: []rulestore.Item{
				func() rulestore.Item { it := running("s"); it.State = rulestore.Starting; return it }(),
				func() rulestore.Item {
					it := running("d")
					it.State, it.LoadBalancerARN = rulestore.Detaching, ""
					return it
				}(),
			},
			wantReport: Report{Rules: 2},
		},
		{
			name:       "no rules: no calls",
			wantReport: Report{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(tt.items...)
			for _, h := range tt.busy {
				w.cw[region1].busy[h] = true
			}
			if tt.setup != nil {
				tt.setup(w)
			}
			rep, err := w.run(t)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Run: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Run error %v, want %q", err, tt.wantErr)
			}
			if got := w.rules.writes(); !slices.Equal(got, tt.wantWrites) {
				t.Errorf("writes\n got  %q\n want %q", got, tt.wantWrites)
			}
			if got := w.sfn.started(); !slices.Equal(got, tt.wantStarted) {
				t.Errorf("executions\n got  %q\n want %q", got, tt.wantStarted)
			}
			if got := counts(rep); !reflect.DeepEqual(got, tt.wantReport) {
				t.Errorf("report\n got  %+v\n want %+v", got, tt.wantReport)
			}
			if got := actionsOf(rep); !slices.Equal(got, tt.wantActions) {
				t.Errorf("actions\n got  %q\n want %q", got, tt.wantActions)
			}
			for _, a := range rep.Actions {
				if a.Reason == "" || (a.Outcome == OutcomeFailed) != (a.Error != "") {
					t.Errorf("action %+v: a reason, and an error exactly when failed", a)
				}
			}
			gotChecks := slices.Sorted(slices.Values(w.elb[region1].calls))
			if !slices.Equal(gotChecks, tt.wantTargetChecks) {
				t.Errorf("target health read of\n got  %q\n want %q", gotChecks, tt.wantTargetChecks)
			}
			queried := map[string]bool{}
			for _, in := range w.cw[region1].gets {
				for _, q := range in.MetricDataQueries {
					queried[*q.Label] = true
				}
			}
			for _, h := range tt.notQueried {
				if queried[h] {
					t.Errorf("%s was judged", h)
				}
			}
			// Every action is one log line, with host, rule, action and reason.
			var logged int
			for _, l := range w.lines(t, "") {
				if l["action"] == nil {
					continue
				}
				logged++
				if l["reason"] == nil || l["outcome"] == nil || (l["host"] == nil && l["region"] == nil) {
					t.Errorf("log line %v lacks a field", l)
				}
			}
			if logged != len(rep.Actions) {
				t.Errorf("%d action log lines, %d actions", logged, len(rep.Actions))
			}
		})
	}
}

func TestRunListFails(t *testing.T) {
	w := newWorld(running("app"))
	w.rules.listErr = errBoom
	rep, err := w.run(t)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Run: %v, want the list's error", err)
	}
	if rep.Errors != 1 || len(w.sfn.started()) != 0 || len(w.made) != 0 {
		t.Errorf("report %+v, executions %v, clients %v", rep, w.sfn.started(), w.made)
	}
}

// A sleep whose execution did not start is started by a run a minute later
// (the watcher died, or StartExecution failed, between the two).
func TestSleepStartFailsThenResumed(t *testing.T) {
	w := newWorld(running("app"))
	w.sfn.errs = map[string]error{sleepARN: apiErr("ServiceUnavailable")}
	rep, err := w.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 1 || rep.SleepsStarted != 0 || w.rules.items[host("app")].State != rulestore.Stopping {
		t.Fatalf("first run: report %+v, rule %s", counts(rep), w.rules.items[host("app")].State)
	}
	if a := rep.Actions[0]; a.Execution != SleepExecutionName(w.rules.items[host("app")]) || !strings.Contains(a.Reason, "starts it again") {
		t.Errorf("first run's action %+v", a)
	}

	w.sfn.errs = nil
	// 30 s later: too early, the first run may still be starting it.
	d := w.deps()
	d.Now = func() time.Time { return testNow.Add(30 * time.Second) }
	wt, _ := New(testConfig(), d, nil)
	if rep, _ := wt.Run(context.Background()); rep.SleepsResumed != 0 {
		t.Errorf("resumed after 30 s: %+v", counts(rep))
	}
	d.Now = func() time.Time { return testNow.Add(61 * time.Second) }
	wt, _ = New(testConfig(), d, nil)
	rep, err = wt.Run(context.Background())
	if err != nil || rep.SleepsResumed != 1 {
		t.Fatalf("a minute later: %+v, %v", counts(rep), err)
	}
	want := sleepStart(running("app"), rulestore.SleepIdle)
	if got := w.sfn.started(); !slices.Equal(got, []string{want, want}) {
		t.Errorf("executions %q, want the same one twice", got)
	}
}

// An overlapping run (the next one, while this one is still acting) or a
// retried one changes nothing more.
func TestRunTwiceIsIdempotent(t *testing.T) {
	w := newWorld(running("idle"), stopped("woken"), running("gone"))
	delete(w.ec2[region1].states, "i-gone")
	if _, err := w.run(t); err != nil {
		t.Fatal(err)
	}
	first := w.sfn.started()
	rep, err := w.run(t)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.sfn.started(); !slices.Equal(got, first) {
		t.Errorf("the second run started %q", got[len(first):])
	}
	if c := counts(rep); !reflect.DeepEqual(c, Report{Rules: 3}) {
		t.Errorf("second run: %+v", c)
	}
}
