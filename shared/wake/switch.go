package wake

import (
	"context"
	"fmt"

	"github.com/autostop/autostop/shared/hostrule"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rulestore"
)

// SwitchResult is the SwitchTraffic step's output.
type SwitchResult struct {
	// Superseded: the rule is no longer in this wake.
	Superseded bool `json:"superseded"`
	// NotHealthy: a target was no longer healthy after the grace period;
	// the state machine goes back to WaitReady.
	NotHealthy bool              `json:"notHealthy"`
	Targets    map[string]string `json:"targets,omitempty"`
	// HostRule is the listener rule now sending the host to the instances.
	HostRule *hostrule.Result `json:"hostRule,omitempty"`
	// ReadyAt is when the rule became running (RFC 3339).
	ReadyAt string `json:"readyAt,omitempty"`
}

// SwitchTraffic checks the targets once more (the grace period has passed
// since WaitReady saw them healthy), adds the host listener rule that sends
// the host to the instances, and records the rule running. The host rule
// carries the ownership tags of the load balancer and this execution.
func SwitchTraffic(ctx context.Context, d Deps, in Input) (SwitchResult, error) {
	var res SwitchResult
	it, at, ok, err := current(ctx, d, in)
	if err != nil || !ok {
		res.Superseded = err == nil
		return res, err
	}
	elbClient := d.ELBv2(region(it))

	targets, healthy, err := targetHealth(ctx, elbClient, it.TargetGroupARN, it.Rule.InstanceIDs)
	if err != nil {
		return res, err
	}
	res.Targets = targets
	if !healthy {
		res.NotHealthy = true
		return res, nil
	}
	changed, err := d.Rules.SetPhase(ctx, in.Host, at, rulestore.PhaseSwitching)
	if err != nil {
		return res, err
	}
	if !changed { // superseded since the check: add no host rule
		res.Superseded = true
		return res, nil
	}

	hr, err := hostrule.Ensure(ctx, elbClient, hostrule.Spec{
		ListenerARN:    it.ListenerARN,
		Host:           it.Host,
		TargetGroupARN: it.TargetGroupARN,
		Tags:           ownership.Tags(it.LoadBalancer, in.Execution, it.Rule.Tags),
	})
	if err != nil {
		return res, err
	}
	res.HostRule = &hr

	readyAt := d.now().UTC()
	changed, err = d.Rules.FinishWake(ctx, in.Host, at, hr.ARN, readyAt)
	if err != nil {
		return res, err
	}
	if !changed {
		// Superseded between the check and now (a detach, a sleep or a
		// newer wake took over). A host rule this step added would send
		// traffic nobody manages: take it back (a newer wake adds its own).
		res.Superseded = true
		if hr.Created {
			if _, err := hostrule.Delete(ctx, elbClient, it.ListenerARN, it.Host); err != nil {
				return res, fmt.Errorf("take back the host rule of a superseded wake: %w", err)
			}
			res.HostRule = nil
		}
		return res, nil
	}
	res.ReadyAt = readyAt.Format(rulestore.TimeFormat)

	return res, nil
}
