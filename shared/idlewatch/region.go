package idlewatch

import (
	"context"
	"log/slog"

	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/idle"
	"github.com/autostop/autostop/shared/rulestore"
)

// regionClients are one region's clients, made once per run.
type regionClients struct {
	region string
	cw     CloudWatch
	ec2    EC2
	elb    ELBv2
}

// region reads what a region's rules need (their instances, their
// requests), logs the dry runs, and returns the actions on its rules as
// tasks, with the GetMetricData calls tried and answered.
func (r *run) region(ctx context.Context, region string, items []rulestore.Item) (tasks []func(context.Context), tried, read int) {
	c := regionClients{region: region, cw: r.w.deps.CloudWatch(region), ec2: r.w.deps.EC2(region), elb: r.w.deps.ELBv2(region)}

	// The instances of the rules that are reconciled: running ones, and
	// stopped ones that may be woken.
	var ids []string
	for _, it := range items {
		if it.State == rulestore.Running || (it.State == rulestore.Stopped && it.Broken == "") {
			ids = append(ids, it.Rule.InstanceIDs...)
		}
	}
	var states map[string]ec2types.InstanceStateName
	if len(ids) > 0 {
		var err error
		if states, err = instanceStates(ctx, c.ec2, ids); err != nil {
			r.record(ctx, failed(Action{Region: region, Action: ActionDescribeInstances},
				"the rules' instances could not be read: nothing changed outside autostop is reconciled in this run", err))
		}
	}
	known := states != nil

	var judge []rulestore.Item
	var reconciled []ruleInstances // of judge, nil when unknown
	for _, it := range items {
		var inst ruleInstances
		if known {
			inst = instancesOf(it, states)
		}
		switch it.State {
		case rulestore.Running:
			if known {
				if reason, detail := inst.outside(); reason != "" {
					// Not judged for idleness: it goes to sleep anyway.
					tasks = append(tasks, func(ctx context.Context) { r.sleepOutside(ctx, c, it, reason, detail, inst) })
					continue
				}
			}
			if it.Broken != "" {
				r.w.log.DebugContext(ctx, "not judged", "host", it.Host, "rule", it.Rule.Name, "reason", "broken: "+it.Broken)
				if inst.allRunning() {
					tasks = append(tasks, func(ctx context.Context) { r.repair(ctx, c, it) })
				}
				continue
			}
			judge = append(judge, it)
			reconciled = append(reconciled, inst)
		case rulestore.Stopped:
			if known && it.Broken == "" {
				if up := inst.with(runningState); len(up) > 0 {
					tasks = append(tasks, func(ctx context.Context) { r.wakeOutside(ctx, it, region, inst, up) })
				}
			}
		case rulestore.Stopping:
			if it.SleepExecution == "" && !it.SleepRequestedAt.IsZero() && r.now.Sub(it.SleepRequestedAt) > r.w.cfg.StuckSleepAfter {
				tasks = append(tasks, func(ctx context.Context) { r.resumeSleep(ctx, it, region) })
			}
		}
	}
	if len(judge) == 0 {
		return tasks, 0, 0
	}

	j := r.judge(ctx, region, c.cw, judge)
	var datums []cwtypes.MetricDatum
	for i, it := range judge {
		d := j.decisions[i]
		inst := reconciled[i]
		switch {
		case !d.Idle:
			if j.read[i] {
				r.w.log.DebugContext(ctx, "not idle", "host", it.Host, "rule", it.Rule.Name, "reason", d.Reason,
					"requests", d.Requests, "laterRequests", d.LaterRequests)
			}
		case it.Rule.DryRun:
			a := ruleAction(it, region, ActionWouldStop)
			a.Outcome, a.Reason = OutcomeLogged, d.Reason
			r.record(ctx, a, r.figures(it, d)...)
			datums = append(datums, wouldStopDatum(it, r.now))
		default:
			tasks = append(tasks, func(ctx context.Context) { r.sleepIdle(ctx, region, it, d) })
			continue // going to sleep: nothing to repair
		}
		if inst.allRunning() {
			tasks = append(tasks, func(ctx context.Context) { r.repair(ctx, c, it) })
		}
	}
	r.mu.Lock()
	for i := range judge {
		if j.read[i] {
			r.rep.Judged++
			if j.decisions[i].Idle {
				r.rep.Idle++
			}
		}
	}
	r.mu.Unlock()
	if len(datums) > 0 {
		r.putWouldStop(ctx, region, c.cw, datums)
	}

	return tasks, j.tried, j.ok
}

// figures are the log attributes of an idle decision.
func (r *run) figures(it rulestore.Item, d idle.Decision) []slog.Attr {
	return []slog.Attr{
		slog.Time("windowStart", d.WindowStart), slog.Time("windowEnd", d.WindowEnd),
		slog.Float64("requests", d.Requests), slog.Float64("laterRequests", d.LaterRequests),
		slog.Int("idleMinutes", it.Rule.IdleMinutes), slog.String("lag", r.w.cfg.Idle.Lag.String()),
		slog.Time("readyAt", it.ReadyAt),
	}
}
