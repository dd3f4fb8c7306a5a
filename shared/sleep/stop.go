package sleep

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/steperr"
)

// StateMissing stands, in the instance states of the outputs, for an
// instance EC2 does not know (any more): terminated long enough ago to have
// left DescribeInstances' answers, or never there.
const StateMissing = "missing"

// StopResult is the StopInstances step's output.
type StopResult struct {
	// Superseded: the rule is no longer in this sleep; nothing was done.
	Superseded bool `json:"superseded"`
	// Instances are the rule's instances and their state before the call
	// (StateMissing for one EC2 does not know).
	Instances map[string]string `json:"instances,omitempty"`
	// Stopped are the instances this call asked EC2 to stop (they were
	// running).
	Stopped []string `json:"stopped,omitempty"`
	// AlreadyStopped are the instances stopped or stopping already.
	AlreadyStopped []string `json:"alreadyStopped,omitempty"`
	// Terminated are the instances terminated (or shutting down, or
	// missing) outside autostop: the rule ends broken.
	Terminated []string `json:"terminated,omitempty"`
	// Pending are the instances still starting: EC2 cannot stop them, so
	// nothing was stopped; the state machine waits and calls the step
	// again (WaitForPending).
	Pending        []string `json:"pending,omitempty"`
	WaitForPending bool     `json:"waitForPending"`
	// Attempt counts the calls of this step in this sleep.
	Attempt int `json:"attempt"`
}

// StopInstances stops the rule's running instances. While one is pending
// it stops none (StopInstances would fail on it, and stopping the others
// first would leave the rule half up): the state machine waits and calls
// again. Stopped and stopping instances are left alone; terminated and
// missing ones are reported, for Finish to mark the rule broken.
func StopInstances(ctx context.Context, d Deps, in Input) (StopResult, error) {
	res := StopResult{Attempt: 1}
	if in.Stop != nil {
		res.Attempt = in.Stop.Attempt + 1
	}
	it, _, ok, err := current(ctx, d, in)
	if err != nil || !ok {
		res.Superseded = err == nil
		return res, err
	}

	client := d.EC2(region(it))
	states, err := instanceStates(ctx, client, it.Rule.InstanceIDs)
	if err != nil {
		return res, err
	}
	res.Instances = states

	var running []string
	for _, id := range sortedIDs(states) {
		switch states[id] {
		case string(ec2types.InstanceStateNameRunning):
			running = append(running, id)
		case string(ec2types.InstanceStateNamePending):
			res.Pending = append(res.Pending, id)
		case string(ec2types.InstanceStateNameStopped), string(ec2types.InstanceStateNameStopping):
			res.AlreadyStopped = append(res.AlreadyStopped, id)
		default: // terminated, shutting-down, missing
			res.Terminated = append(res.Terminated, id)
		}
	}
	if len(res.Pending) > 0 {
		res.WaitForPending = true
		return res, nil
	}
	if len(running) == 0 {
		return res, nil
	}

	_, err = client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: running})
	if steperr.HasCode(err, "IncorrectInstanceState") {
		// One cannot be stopped now (pending: started again since we
		// looked): wait and look again, a bounded number of times.
		res.WaitForPending = true
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("stop instances %v of rule %s: %w", running, it.Rule.Name, err)
	}
	res.Stopped = running

	return res, nil
}

// instanceStates describes the instances: id → state, StateMissing for an
// instance EC2 does not return. It filters on instance-id rather than
// naming InstanceIds, which fails the whole call for an instance that no
// longer exists.
func instanceStates(ctx context.Context, client EC2, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: ids}}}
	for {
		page, err := client.DescribeInstances(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe instances %v: %w", ids, err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				if id := aws.ToString(inst.InstanceId); inst.State != nil && slices.Contains(ids, id) {
					out[id] = string(inst.State.Name)
				}
			}
		}
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = StateMissing
		}
	}

	return out, nil
}

func sortedIDs(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }
