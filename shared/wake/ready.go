package wake

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

// ReadyResult is the WaitReady step's output.
type ReadyResult struct {
	// Superseded: the rule is no longer in this wake.
	Superseded bool `json:"superseded"`
	// Ready: every instance runs and every target is healthy.
	Ready bool `json:"ready"`
	// Phase reached: starting (instances not all running) or health-check.
	Phase rulestore.Phase `json:"phase"`
	// Instances and Targets as last seen (target: "state (reason)").
	Instances map[string]string `json:"instances,omitempty"`
	Targets   map[string]string `json:"targets,omitempty"`
	// GraceSeconds to wait before switching (the rule's), for the state
	// machine's Wait.
	GraceSeconds int `json:"graceSeconds"`
	// Checks made by this invocation.
	Checks int `json:"checks"`
}

// WaitReady watches the rule's instances and target health for up to
// Timing.WatchSeconds: it returns Ready as soon as every instance target is
// healthy, not Ready when the watch ends first (the state machine calls
// again), and NotReady when the wake has taken longer than
// Timing.TimeoutSeconds. An instance that stops or disappears during the
// wake ends it too.
func WaitReady(ctx context.Context, d Deps, in Input) (ReadyResult, error) {
	var res ReadyResult
	start := d.now()
	watchEnd := start.Add(time.Duration(in.Timing.WatchSeconds) * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-2*time.Second).Before(watchEnd) {
		watchEnd = dl.Add(-2 * time.Second) // answer before the function times out
	}
	poll := time.Duration(max(in.Timing.PollMillis, 100)) * time.Millisecond

	it, at, ok, err := current(ctx, d, in)
	if err != nil || !ok {
		res.Superseded = err == nil
		return res, err
	}
	res.GraceSeconds = it.Rule.GraceSeconds
	timeoutAt := at.Add(time.Duration(in.Timing.TimeoutSeconds) * time.Second)
	ec2Client, elbClient := d.EC2(region(it)), d.ELBv2(region(it))
	res.Phase = it.Phase
	if res.Phase == "" || res.Phase == rulestore.PhaseSwitching {
		res.Phase = rulestore.PhaseStarting
	}

	for {
		res.Checks++
		if res.Phase == rulestore.PhaseStarting {
			states, err := instanceStates(ctx, ec2Client, it.Rule.InstanceIDs)
			if err != nil {
				return res, err
			}
			res.Instances = states
			if bad := notStarting(states, justStarted(in.Start, d.now())); bad != "" {
				return res, steperr.NotReadyYet("instance %s of rule %s is %s: it was stopped or terminated during the wake", bad, it.Rule.Name, states[bad])
			}
			if allRunning(states) {
				res.Phase = rulestore.PhaseHealthCheck
				if _, err := d.Rules.SetPhase(ctx, in.Host, at, rulestore.PhaseHealthCheck); err != nil {
					return res, err
				}
			}
		}
		if res.Phase == rulestore.PhaseHealthCheck {
			targets, healthy, err := targetHealth(ctx, elbClient, it.TargetGroupARN, it.Rule.InstanceIDs)
			if err != nil {
				return res, err
			}
			res.Targets = targets
			if healthy {
				res.Ready = true
				return res, nil
			}
			if anyUnused(targets) {
				// "unused": the instance is not running any more. Say so
				// now rather than at the wake's timeout.
				states, err := instanceStates(ctx, ec2Client, it.Rule.InstanceIDs)
				if err != nil {
					return res, err
				}
				res.Instances = states
				if bad := notStarting(states, nil); bad != "" {
					return res, steperr.NotReadyYet("instance %s of rule %s is %s: it was stopped or terminated during the wake", bad, it.Rule.Name, states[bad])
				}
			}
		}

		now := d.now()
		if now.After(timeoutAt) {
			return res, steperr.NotReadyYet("rule %s was not ready %s after the first request: %s", it.Rule.Name,
				time.Duration(in.Timing.TimeoutSeconds)*time.Second, describeWait(res))
		}
		if !now.Add(poll).Before(watchEnd) {
			return res, nil
		}
		if err := d.sleep(ctx, poll); err != nil {
			return res, nil
		}
	}
}

// TargetsHealthy reports whether every instance of the rule is a healthy
// target of its target group, with each target's state for the output.
func targetHealth(ctx context.Context, client ELBv2, targetGroupARN string, ids []string) (map[string]string, bool, error) {
	targets := make([]elbtypes.TargetDescription, len(ids))
	for i, id := range ids {
		targets[i] = elbtypes.TargetDescription{Id: aws.String(id)}
	}
	out, err := client.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(targetGroupARN), Targets: targets})
	if steperr.HasCode(err, "TargetGroupNotFound") {
		return nil, false, steperr.Missing("the rule's target group %s does not exist: attach the rule again", targetGroupARN)
	}
	if err != nil {
		return nil, false, fmt.Errorf("describe target health of %s: %w", targetGroupARN, err)
	}
	states := map[string]string{}
	healthy := 0
	for _, d := range out.TargetHealthDescriptions {
		id := aws.ToString(d.Target.Id)
		if d.TargetHealth == nil {
			continue
		}
		s := string(d.TargetHealth.State)
		if d.TargetHealth.Reason != "" {
			s += " (" + string(d.TargetHealth.Reason) + ")"
		}
		states[id] = s
		if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
			healthy++
		}
	}

	return states, healthy == len(ids) && len(ids) > 0, nil
}

func allRunning(states map[string]string) bool {
	for _, s := range states {
		if s != "running" {
			return false
		}
	}

	return true
}

// startedGrace is how long after StartInstances a "stopped" answer is taken
// for EC2's eventual consistency (DescribeInstances may not show the start
// yet) rather than for an instance stopped during the wake.
const startedGrace = 30 * time.Second

// justStarted lists the instances this wake started less than startedGrace
// ago.
func justStarted(start *StartResult, now time.Time) []string {
	if start == nil {
		return nil
	}
	at, err := time.Parse(time.RFC3339Nano, start.StartedAt)
	if err != nil || now.Sub(at) >= startedGrace {
		return nil
	}

	return start.Started
}

// notStarting names an instance that cannot be on its way to running; a
// just-started one may still read "stopped".
func notStarting(states map[string]string, justStarted []string) string {
	for _, id := range sortedIDs(states) {
		switch states[id] {
		case "stopped":
			if !slices.Contains(justStarted, id) {
				return id
			}
		case "stopping", "shutting-down", "terminated":
			return id
		}
	}

	return ""
}

// anyUnused reports a target "unused" because its instance is not running
// (Target.InvalidState; not Target.NotRegistered).
func anyUnused(targets map[string]string) bool {
	invalid := string(elbtypes.TargetHealthStateEnumUnused) + " (" + string(elbtypes.TargetHealthReasonEnumInvalidState) + ")"
	for _, s := range targets {
		if s == invalid {
			return true
		}
	}

	return false
}

// describeWait says what the wake was waiting for, for the rule's lastError.
func describeWait(r ReadyResult) string {
	var parts []string
	if r.Phase == rulestore.PhaseStarting {
		for _, id := range sortedIDs(r.Instances) {
			if r.Instances[id] != "running" {
				parts = append(parts, id+" "+r.Instances[id])
			}
		}
		return "instances not running: " + strings.Join(parts, ", ")
	}
	for _, id := range sortedIDs(r.Targets) {
		if !strings.HasPrefix(r.Targets[id], "healthy") {
			parts = append(parts, id+" "+r.Targets[id])
		}
	}
	sort.Strings(parts)

	return "targets not healthy: " + strings.Join(parts, ", ")
}
