package idlewatch

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/spec"
)

// Watcher runs the idle watch. It holds no state between runs.
type Watcher struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
}

// The actions of a run (Action.Action).
const (
	// ActionSleep: BeginSleep and the SleepRule execution, for an idle rule
	// or one whose instances were stopped or terminated outside autostop
	// (Action.SleepReason).
	ActionSleep = "sleep"
	// ActionWouldStop: an idle dry-run rule, logged and counted only.
	ActionWouldStop = "would-stop"
	// ActionWake: a stopped rule whose instances were started outside
	// autostop is woken.
	ActionWake = "wake"
	// ActionRepair: RepairTargets for a running rule's deregistered
	// instances.
	ActionRepair = "repair"
	// ActionResumeSleep: the SleepRule of a rule left stopping without
	// one is started again.
	ActionResumeSleep = "resume-sleep"
	// Calls about a whole region: DescribeInstances, GetMetricData,
	// PutMetricData (recorded when they fail).
	ActionDescribeInstances = "describe-instances"
	ActionReadMetrics       = "read-metrics"
	ActionPutMetrics        = "put-metrics"
)

// The outcomes of an action (Action.Outcome).
const (
	// OutcomeStarted: the execution was started (or existed already).
	OutcomeStarted = "started"
	// OutcomeLogged: a dry run's "would stop", nothing changed.
	OutcomeLogged = "logged"
	// OutcomeLost: the conditional write found the rule moved on (woken,
	// stopped or changed by someone else since it was read): nothing done.
	OutcomeLost = "lost"
	// OutcomeSkipped: not attempted, Reason says why.
	OutcomeSkipped = "skipped"
	// OutcomeFailed: an error, in Error.
	OutcomeFailed = "failed"
)

// Action is one thing a run did, or failed to do, about a rule (or a
// region).
type Action struct {
	Host   string `json:"host,omitempty"`
	Rule   string `json:"rule,omitempty"`
	Region string `json:"region,omitempty"`
	// Action is one of the Action* constants, Outcome of the Outcome*.
	Action  string `json:"action"`
	Outcome string `json:"outcome"`
	// SleepReason of an ActionSleep.
	SleepReason rulestore.SleepReason `json:"sleepReason,omitempty"`
	// Reason says why, with the figures.
	Reason string `json:"reason"`
	// Execution is the name of the execution started; AlreadyRunning when
	// it existed already (an earlier run started it).
	Execution      string `json:"execution,omitempty"`
	AlreadyRunning bool   `json:"alreadyRunning,omitempty"`
	Error          string `json:"error,omitempty"`
}

// message is the log line's msg.
func (a Action) message() string {
	if a.Action == ActionWouldStop {
		return "would stop"
	}

	return a.Action + " " + a.Outcome
}

// Report sums up a run.
type Report struct {
	// Now is the time the run judged at.
	Now time.Time `json:"now"`
	// Rules listed.
	Rules int `json:"rules"`
	// Judged: rules whose idle window was read from CloudWatch. Idle: of
	// those, the idle ones (dry runs included).
	Judged int `json:"judged"`
	Idle   int `json:"idle"`
	// SleepsStarted for idle rules; WouldStop: idle dry-run rules.
	SleepsStarted int `json:"sleepsStarted"`
	WouldStop     int `json:"wouldStop"`
	// WokenOutside: stopped rules woken because their instances were
	// started outside autostop. StoppedOutside, TerminatedOutside: running
	// rules put to sleep because their instances were stopped, or
	// terminated, outside autostop.
	WokenOutside      int `json:"wokenOutside"`
	StoppedOutside    int `json:"stoppedOutside"`
	TerminatedOutside int `json:"terminatedOutside"`
	// Repaired: RepairTargets started. SleepsResumed: SleepRule started
	// again for rules left stopping without one.
	Repaired      int `json:"repaired"`
	SleepsResumed int `json:"sleepsResumed"`
	// Errors: failed actions.
	Errors int `json:"errors"`
	// Actions, by host (region-wide ones first).
	Actions []Action `json:"actions,omitempty"`
}

// Handle is the function's handler: one run per scheduled event. It judges
// at the clock's time, not the event's: a late or retried delivery must not
// judge windows older than the metrics it can read.
func (w *Watcher) Handle(ctx context.Context, ev events.EventBridgeEvent) (Report, error) {
	rep, err := w.Run(ctx)
	attrs := []any{"event", ev.ID, "scheduledAt", ev.Time, "report", summary(rep)}
	if err != nil {
		w.log.ErrorContext(ctx, "idle watch failed", append(attrs, "error", err.Error())...)
		return rep, err
	}
	w.log.InfoContext(ctx, "idle watch done", attrs...)

	return rep, nil
}

// summary is a report without its actions (each was logged already).
func summary(rep Report) Report {
	rep.Actions = nil
	return rep
}

// run is one run's state.
type run struct {
	w   *Watcher
	now time.Time

	mu  sync.Mutex
	rep Report
}

// Run lists the rules and acts on them (see the package documentation).
func (w *Watcher) Run(ctx context.Context) (Report, error) {
	r := &run{w: w, now: w.deps.now().UTC()}
	r.rep.Now = r.now

	items, err := w.deps.Rules.List(ctx)
	if err != nil {
		r.rep.Errors++
		return r.rep, fmt.Errorf("idle watch: %w", err)
	}
	r.rep.Rules = len(items)

	byRegion := map[string][]rulestore.Item{}
	for _, it := range items {
		region := spec.ARNRegion(it.LoadBalancerARN)
		if region == "" {
			// Only a rule the watcher would act on is an error.
			if action := actionFor(it); action != "" {
				r.record(ctx, Action{Host: it.Host, Rule: it.Rule.Name, Action: action, Outcome: OutcomeFailed,
					Reason: "its load balancer ARN names no region", Error: fmt.Sprintf("load balancer ARN %q", it.LoadBalancerARN)})
			}
			continue
		}
		byRegion[region] = append(byRegion[region], it)
	}

	var tasks []func(context.Context)
	tried, read := 0, 0
	for _, region := range slices.Sorted(maps.Keys(byRegion)) {
		rs := byRegion[region]
		slices.SortFunc(rs, func(a, b rulestore.Item) int { return cmp.Compare(a.Host, b.Host) })
		t, mt, mr := r.region(ctx, region, rs)
		tasks = append(tasks, t...)
		tried, read = tried+mt, read+mr
	}
	r.each(ctx, tasks)

	slices.SortStableFunc(r.rep.Actions, func(a, b Action) int { return cmp.Compare(a.Host, b.Host) })
	if tried > 0 && read == 0 {
		return r.rep, fmt.Errorf("idle watch: no metrics could be read (%d GetMetricData calls failed): no rule was judged", tried)
	}

	return r.rep, nil
}

// actionFor is what the watcher may do about a rule in its state, ""
// nothing.
func actionFor(it rulestore.Item) string {
	switch it.State {
	case rulestore.Running:
		return ActionSleep
	case rulestore.Stopped:
		return ActionWake
	case rulestore.Stopping:
		return ActionResumeSleep
	default:
		return ""
	}
}

// each runs the tasks, cfg.Concurrency at a time.
func (r *run) each(ctx context.Context, tasks []func(context.Context)) {
	sem := make(chan struct{}, r.w.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, t := range tasks {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t(ctx)
		})
	}
	wg.Wait()
}

// record counts an action, keeps it in the report and logs it as one line
// with its figures.
func (r *run) record(ctx context.Context, a Action, figures ...slog.Attr) {
	r.mu.Lock()
	r.rep.Actions = append(r.rep.Actions, a)
	switch {
	case a.Outcome == OutcomeFailed:
		r.rep.Errors++
	case a.Action == ActionWouldStop:
		r.rep.WouldStop++
	case a.Outcome != OutcomeStarted:
	case a.Action == ActionSleep && a.SleepReason == rulestore.SleepIdle:
		r.rep.SleepsStarted++
	case a.Action == ActionSleep && a.SleepReason == rulestore.SleepStoppedOutside:
		r.rep.StoppedOutside++
	case a.Action == ActionSleep && a.SleepReason == rulestore.SleepTerminatedOutside:
		r.rep.TerminatedOutside++
	case a.Action == ActionWake:
		r.rep.WokenOutside++
	case a.Action == ActionRepair:
		r.rep.Repaired++
	case a.Action == ActionResumeSleep:
		r.rep.SleepsResumed++
	}
	r.mu.Unlock()

	level := slog.LevelInfo
	if a.Outcome == OutcomeFailed {
		level = slog.LevelError
	}
	attrs := []slog.Attr{slog.String("action", a.Action), slog.String("outcome", a.Outcome)}
	for _, kv := range [][2]string{
		{"host", a.Host}, {"rule", a.Rule}, {"region", a.Region}, {"sleepReason", string(a.SleepReason)},
		{"reason", a.Reason}, {"execution", a.Execution}, {"error", a.Error},
	} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], kv[1]))
		}
	}
	if a.AlreadyRunning {
		attrs = append(attrs, slog.Bool("alreadyRunning", true))
	}
	r.w.log.LogAttrs(ctx, level, a.message(), append(attrs, figures...)...)
}

// ruleAction is the start of a rule's Action.
func ruleAction(it rulestore.Item, region, action string) Action {
	return Action{Host: it.Host, Rule: it.Rule.Name, Region: region, Action: action}
}

// failed fills a failed action.
func failed(a Action, reason string, err error) Action {
	a.Outcome, a.Reason, a.Error = OutcomeFailed, reason, err.Error()
	return a
}

// withExecution fills a started action.
func withExecution(a Action, s started) Action {
	a.Outcome, a.Execution, a.AlreadyRunning = OutcomeStarted, s.name, s.already
	return a
}
