package idlewatch

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/rulestore"
)

// MaxFilterValues is EC2's limit of values in one filter.
const MaxFilterValues = 200

// instanceStates returns the state of each of ids that EC2 knows: one
// DescribeInstances (every page) per MaxFilterValues ids, filtered by
// instance-id rather than naming InstanceIds, so that an instance that no
// longer exists is absent from the answer instead of failing the call. Any
// failure fails the whole: an incomplete answer would read as instances
// gone.
func instanceStates(ctx context.Context, client EC2, ids []string) (map[string]ec2types.InstanceStateName, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	states := make(map[string]ec2types.InstanceStateName, len(ids))
	for chunk := range slices.Chunk(ids, MaxFilterValues) {
		in := &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: chunk}}}
		for page := 1; ; page++ {
			out, err := client.DescribeInstances(ctx, in)
			if err != nil {
				return nil, fmt.Errorf("describe instances %s… (%d, page %d): %w", chunk[0], len(chunk), page, err)
			}
			for _, r := range out.Reservations {
				for _, inst := range r.Instances {
					if inst.State != nil && slices.Contains(chunk, aws.ToString(inst.InstanceId)) {
						states[aws.ToString(inst.InstanceId)] = inst.State.Name
					}
				}
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
	}

	return states, nil
}

// ruleInstances are the states of one rule's instances, "missing" for one
// EC2 does not know (any more).
type ruleInstances map[string]string

// Missing is the state of an instance DescribeInstances does not return:
// terminated long enough ago to be forgotten, or never existed.
const Missing = "missing"

func instancesOf(it rulestore.Item, states map[string]ec2types.InstanceStateName) ruleInstances {
	out := make(ruleInstances, len(it.Rule.InstanceIDs))
	for _, id := range it.Rule.InstanceIDs {
		if s, ok := states[id]; ok {
			out[id] = string(s)
		} else {
			out[id] = Missing
		}
	}

	return out
}

// with lists the instances in one of the states, sorted.
func (ri ruleInstances) with(states ...string) []string {
	var ids []string
	for id, s := range ri {
		if slices.Contains(states, s) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)

	return ids
}

// describe writes "i-1 stopped, i-2 missing" for the ids.
func (ri ruleInstances) describe(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id + " " + ri[id]
	}

	return strings.Join(parts, ", ")
}

var (
	goneStates    = []string{string(ec2types.InstanceStateNameTerminated), string(ec2types.InstanceStateNameShuttingDown), Missing}
	stoppedStates = []string{string(ec2types.InstanceStateNameStopped), string(ec2types.InstanceStateNameStopping)}
	runningState  = string(ec2types.InstanceStateNameRunning)
)

// outside says whether a running rule's instances were stopped or
// terminated outside autostop, and which: any terminated, shutting down
// (terminating: it can never run again) or missing instance makes it
// SleepTerminatedOutside, else any stopped or stopping one
// SleepStoppedOutside; "" when none is.
func (ri ruleInstances) outside() (rulestore.SleepReason, string) {
	if gone := ri.with(goneStates...); len(gone) > 0 {
		return rulestore.SleepTerminatedOutside, "terminated outside autostop: " + ri.describe(gone)
	}
	if stopped := ri.with(stoppedStates...); len(stopped) > 0 {
		return rulestore.SleepStoppedOutside, "stopped outside autostop: " + ri.describe(stopped)
	}

	return "", ""
}

// allRunning: every instance of the rule runs.
func (ri ruleInstances) allRunning() bool {
	return len(ri) > 0 && len(ri.with(runningState)) == len(ri)
}
