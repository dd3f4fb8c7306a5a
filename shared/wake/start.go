package wake

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/steperr"
)

// StartResult is the StartInstances step's output.
type StartResult struct {
	// Superseded: the rule is no longer in this wake; nothing was done.
	Superseded bool `json:"superseded"`
	// Instances are the rule's instances and their state before the call.
	Instances map[string]string `json:"instances,omitempty"`
	// Started are the instances this call started (they were stopped), at
	// StartedAt (RFC 3339).
	Started   []string `json:"started,omitempty"`
	StartedAt string   `json:"startedAt,omitempty"`
	// WaitForStopping: some instances are still stopping (StartInstances
	// would fail); the state machine waits and calls the step again.
	WaitForStopping bool `json:"waitForStopping"`
	// Attempt counts the calls of this step in this wake.
	Attempt int `json:"attempt"`
}

// StartInstances starts the rule's stopped instances. Running and pending instances
// are left alone; stopping ones are waited for (the state machine calls
// again); a terminated or missing instance ends the wake: the rule cannot
// serve until it is fixed.
func StartInstances(ctx context.Context, d Deps, in Input) (StartResult, error) {
	res := StartResult{Attempt: 1}
	if in.Start != nil {
		res.Attempt = in.Start.Attempt + 1
	}
	it, at, ok, err := current(ctx, d, in)
	if err != nil || !ok {
		res.Superseded = err == nil
		return res, err
	}
	if res.Attempt == 1 && in.ExecutionARN != "" {
		changed, err := d.Rules.RecordWakeExecution(ctx, in.Host, at, in.ExecutionARN)
		if err != nil {
			return res, err
		}
		if !changed { // superseded since the read: start nothing
			res.Superseded = true
			return res, nil
		}
	}

	client := d.EC2(region(it))
	states, err := instanceStates(ctx, client, it.Rule.InstanceIDs)
	if err != nil {
		return res, err
	}
	res.Instances = states

	var stopped []string
	for _, id := range sortedIDs(states) {
		switch states[id] {
		case string(ec2types.InstanceStateNameStopped):
			stopped = append(stopped, id)
		case string(ec2types.InstanceStateNameStopping):
			res.WaitForStopping = true
		case string(ec2types.InstanceStateNameTerminated), string(ec2types.InstanceStateNameShuttingDown):
			return res, steperr.Invalid("instance %s of rule %s is %s: it can never serve again; attach the rule with other instances", id, it.Rule.Name, states[id])
		}
	}
	if res.WaitForStopping || len(stopped) == 0 {
		return res, nil
	}

	_, err = client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: stopped})
	if steperr.HasCode(err, "IncorrectInstanceState") {
		// One went to stopping since we looked: wait and try again.
		res.WaitForStopping = true
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("start instances %v of rule %s: %w", stopped, it.Rule.Name, err)
	}
	res.Started = stopped
	res.StartedAt = d.now().UTC().Format(time.RFC3339Nano)

	return res, nil
}

// instanceStates describes the instances; a missing one is InvalidRequest.
func instanceStates(ctx context.Context, client EC2, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	in := &ec2.DescribeInstancesInput{InstanceIds: ids}
	for {
		page, err := client.DescribeInstances(ctx, in)
		if steperr.HasCode(err, "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed") {
			return nil, steperr.Invalid("the rule's instances %v: %v", ids, err)
		}
		if err != nil {
			return nil, fmt.Errorf("describe instances %v: %w", ids, err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				if inst.State != nil && slices.Contains(ids, aws.ToString(inst.InstanceId)) {
					out[aws.ToString(inst.InstanceId)] = string(inst.State.Name)
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
			return nil, steperr.Invalid("instance %s of the rule does not exist", id)
		}
	}

	return out, nil
}

func sortedIDs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)

	return out
}
