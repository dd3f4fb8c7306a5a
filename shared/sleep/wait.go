package sleep

import (
	"context"
	"github.com/autostop/autostop/shared/steperr"
	"strings"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/rulestore"
)

// WaitResult is the WaitStopped step's output.
type WaitResult struct {
	// Superseded: the rule is no longer in this sleep.
	Superseded bool `json:"superseded"`
	// Done: every instance is stopped, or terminated (or missing).
	Done bool `json:"done"`
	// Instances as last seen (StateMissing for one EC2 does not know).
	Instances map[string]string `json:"instances,omitempty"`
	// Terminated are the instances terminated, shutting down or missing:
	// they count as done, and the rule ends broken.
	Terminated []string `json:"terminated,omitempty"`
	// StoppedAt is when every instance was seen stopped (RFC 3339).
	StoppedAt string `json:"stoppedAt,omitempty"`
	// Checks made by this invocation.
	Checks int `json:"checks"`
}

// WaitStopped watches the rule's instances for up to Timing.WatchSeconds:
// it returns Done as soon as every instance is stopped (or terminated, or
// missing), not Done when the watch ends first (the state machine calls
// again), and NotStopped when the sleep has taken longer than
// Timing.TimeoutSeconds since sleepRequestedAt.
func WaitStopped(ctx context.Context, d Deps, in Input) (WaitResult, error) {
	var res WaitResult
	watchEnd := d.now().Add(time.Duration(in.Timing.WatchSeconds) * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-2*time.Second).Before(watchEnd) {
		watchEnd = dl.Add(-2 * time.Second) // answer before the function times out
	}
	poll := time.Duration(max(in.Timing.PollMillis, 100)) * time.Millisecond

	it, at, ok, err := current(ctx, d, in)
	if err != nil || !ok {
		res.Superseded = err == nil
		return res, err
	}
	timeout := time.Duration(in.Timing.TimeoutSeconds) * time.Second
	client := d.EC2(region(it))

	for {
		res.Checks++
		states, err := instanceStates(ctx, client, it.Rule.InstanceIDs)
		if err != nil {
			return res, err
		}
		res.Instances = states
		var waiting []string
		res.Terminated = nil
		for _, id := range sortedIDs(states) {
			switch states[id] {
			case string(ec2types.InstanceStateNameStopped):
			case string(ec2types.InstanceStateNameTerminated), string(ec2types.InstanceStateNameShuttingDown), StateMissing:
				res.Terminated = append(res.Terminated, id)
			default: // stopping, or running, pending: started again outside
				waiting = append(waiting, id+" "+states[id])
			}
		}
		now := d.now()
		if len(waiting) == 0 {
			res.Done = true
			res.StoppedAt = now.UTC().Format(rulestore.TimeFormat)
			return res, nil
		}
		if now.After(at.Add(timeout)) {
			return res, steperr.NotStoppedYet("the instances of rule %s were not stopped %s after the sleep began: %s",
				it.Rule.Name, timeout, strings.Join(waiting, ", "))
		}
		if !now.Add(poll).Before(watchEnd) {
			return res, nil
		}
		if err := d.sleep(ctx, poll); err != nil {
			return res, nil
		}
	}
}
