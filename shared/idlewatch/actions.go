package idlewatch

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/idle"
	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/rulestore"
)

// sleepIdle puts an idle rule to sleep.
func (r *run) sleepIdle(ctx context.Context, region string, it rulestore.Item, d idle.Decision) {
	r.sleep(ctx, region, it, rulestore.SleepIdle, d.Reason, r.figures(it, d)...)
}

// sleepOutside puts to sleep a running rule whose instances were stopped or
// terminated outside autostop: its host rule must not forward to them.
func (r *run) sleepOutside(ctx context.Context, c regionClients, it rulestore.Item, reason rulestore.SleepReason, detail string, inst ruleInstances) {
	r.sleep(ctx, c.region, it, reason, detail, slog.Any("instances", map[string]string(inst)))
}

// sleep moves the rule from running to stopping (unless it was woken or
// changed since it was read: its readyAt must be the one judged) and, when
// this run did, starts its SleepRule.
func (r *run) sleep(ctx context.Context, region string, it rulestore.Item, reason rulestore.SleepReason, why string, figures ...slog.Attr) {
	a := ruleAction(it, region, ActionSleep)
	a.SleepReason = reason
	now, won, err := r.w.deps.Rules.BeginSleep(ctx, it.Host, it.ReadyAt, reason)
	if err != nil {
		r.record(ctx, failed(a, why+"; the rule could not be moved to stopping", err), figures...)
		return
	}
	if !won {
		a.Outcome = OutcomeLost
		a.Reason = fmt.Sprintf("%s; but the rule moved on since it was read (now %s, readyAt %s): left alone",
			why, now.State, fmtTime(now.ReadyAt))
		r.record(ctx, a, figures...)
		return
	}
	figures = append(figures, slog.Time("sleepRequestedAt", now.SleepRequestedAt))
	s, err := r.w.startSleep(ctx, now)
	if err != nil {
		a.Execution = s.name
		r.record(ctx, failed(a, fmt.Sprintf("%s; the rule is stopping but its SleepRule did not start: a run %s from now starts it again",
			why, r.w.cfg.StuckSleepAfter), err), figures...)
		return
	}
	a.Reason = why
	r.record(ctx, withExecution(a, s), figures...)
}

// resumeSleep starts again the SleepRule of a rule stopping for longer than
// StuckSleepAfter without one recorded: the run that moved it to stopping
// ended before starting it, or the start failed. The execution's name is
// the sleep's, so an execution that did start is not started twice.
func (r *run) resumeSleep(ctx context.Context, it rulestore.Item, region string) {
	a := ruleAction(it, region, ActionResumeSleep)
	a.SleepReason = it.SleepReason
	why := fmt.Sprintf("stopping since %s (%s ago) without a SleepRule execution recorded",
		fmtTime(it.SleepRequestedAt), r.now.Sub(it.SleepRequestedAt).Round(time.Second))
	s, err := r.w.startSleep(ctx, it)
	if err != nil {
		a.Execution = s.name
		r.record(ctx, failed(a, why, err))
		return
	}
	a.Reason = why
	r.record(ctx, withExecution(a, s), slog.Time("sleepRequestedAt", it.SleepRequestedAt))
}

// wakeOutside wakes a stopped rule whose instances were started outside
// autostop: the WakeRule finds them running and switches traffic once they
// are healthy. Unless the rule's last wake failed less than its idle time
// ago: an app that never gets healthy would be woken, fail and be woken
// again every run.
func (r *run) wakeOutside(ctx context.Context, it rulestore.Item, region string, inst ruleInstances, up []string) {
	a := ruleAction(it, region, ActionWake)
	why := "started outside autostop: " + inst.describe(up)
	figures := []slog.Attr{slog.Any("instances", map[string]string(inst))}
	backoff := time.Duration(it.Rule.IdleMinutes) * r.w.cfg.Idle.IdleUnit
	if it.LastError != "" && !it.WakeRequestedAt.IsZero() && r.now.Sub(it.WakeRequestedAt) < backoff {
		a.Outcome = OutcomeSkipped
		a.Reason = fmt.Sprintf("%s; but its last wake (%s, %s ago) failed: %q; not woken again before its idle time (%s) has passed",
			why, fmtTime(it.WakeRequestedAt), r.now.Sub(it.WakeRequestedAt).Round(time.Second), it.LastError, backoff)
		r.record(ctx, a, figures...)
		return
	}
	waker := proxymanager.StateMachineWaker{Client: r.w.deps.SFN, StateMachineARN: r.w.cfg.WakeStateMachineARN}
	now, won, err := proxymanager.BeginWake(ctx, r.w.deps.Rules, waker, it.Host, r.now.Add(-proxymanager.DefaultStaleWakeAfter))
	switch {
	case err != nil && won:
		// BeginWake put the rule back to stopped with the reason.
		a.Execution = proxymanager.WakeExecutionName(now)
		r.record(ctx, failed(a, why+"; the WakeRule did not start", err), figures...)
	case err != nil:
		r.record(ctx, failed(a, why+"; the rule could not be moved to starting", err), figures...)
	case !won:
		a.Outcome = OutcomeLost
		a.Reason = fmt.Sprintf("%s; but the rule moved on since it was read (now %s): left alone", why, now.State)
		r.record(ctx, a, figures...)
	default:
		a.Outcome, a.Reason, a.Execution = OutcomeStarted, why, proxymanager.WakeExecutionName(now)
		r.record(ctx, a, append(figures, slog.Time("wakeRequestedAt", now.WakeRequestedAt))...)
	}
}

// repair checks that every instance of a running rule is registered with
// its target group, and starts RepairTargets for those that are not (they
// were deregistered outside autostop). A target the answer lacks, or
// reports Target.NotRegistered, is not registered.
func (r *run) repair(ctx context.Context, c regionClients, it rulestore.Item) {
	a := ruleAction(it, c.region, ActionRepair)
	out, err := c.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(it.TargetGroupARN)})
	if err != nil {
		r.record(ctx, failed(a, "the target group's targets could not be read",
			fmt.Errorf("describe target health of %s: %w", it.TargetGroupARN, err)))
		return
	}
	registered := map[string]bool{}
	for _, d := range out.TargetHealthDescriptions {
		if d.Target == nil || (d.TargetHealth != nil && d.TargetHealth.Reason == elbtypes.TargetHealthReasonEnumNotRegistered) {
			continue
		}
		registered[aws.ToString(d.Target.Id)] = true
	}
	var missing []string
	for _, id := range it.Rule.InstanceIDs {
		if !registered[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return
	}
	slices.Sort(missing)
	missing = slices.Compact(missing)
	why := fmt.Sprintf("instances %s are not registered with target group %s (deregistered outside autostop)",
		strings.Join(missing, ", "), it.TargetGroupARN)
	s, err := r.w.start(ctx, r.w.cfg.RepairStateMachineARN, RepairExecutionName(it, r.now), RepairInput{Host: it.Host, InstanceIDs: missing})
	if err != nil {
		a.Execution = s.name
		r.record(ctx, failed(a, why, err))
		return
	}
	a.Reason = why
	r.record(ctx, withExecution(a, s), slog.Any("instanceIds", missing))
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}

	return t.UTC().Format(time.RFC3339)
}
