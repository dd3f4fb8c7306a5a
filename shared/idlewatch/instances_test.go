package idlewatch

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

func TestInstanceStatesChunksAndPages(t *testing.T) {
	f := &fakeEC2{states: map[string]ec2types.InstanceStateName{}, pageSize: 150}
	var ids []string
	for i := range 450 {
		id := fmt.Sprintf("i-%05d", i)
		ids = append(ids, id, id) // two rules share every instance
		if i%10 != 0 {            // every tenth is gone
			f.states[id] = ec2types.InstanceStateNameRunning
		}
	}
	f.states["i-other"] = ec2types.InstanceStateNameStopped // not asked for
	states, err := instanceStates(context.Background(), f, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 405 || states["i-00001"] != "running" {
		t.Errorf("%d states, i-00001 %q", len(states), states["i-00001"])
	}
	if _, ok := states["i-00010"]; ok {
		t.Error("a missing instance has a state")
	}
	if _, ok := states["i-other"]; ok {
		t.Error("an instance not asked for has a state")
	}
	// 450 distinct ids: filters of 200, 200 and 50; the first two answer
	// 180 instances each, in two pages of at most 150.
	var shape []string
	asked := map[string]int{}
	for _, in := range f.calls {
		if len(in.InstanceIds) != 0 || len(in.Filters) != 1 || aws.ToString(in.Filters[0].Name) != "instance-id" {
			t.Fatalf("call %+v: one instance-id filter expected", in)
		}
		shape = append(shape, fmt.Sprintf("%d/%s", len(in.Filters[0].Values), aws.ToString(in.NextToken)))
		if in.NextToken == nil {
			for _, id := range in.Filters[0].Values {
				asked[id]++
			}
		}
	}
	if want := []string{"200/", "200/150", "200/", "200/150", "50/"}; !slices.Equal(shape, want) {
		t.Errorf("calls (values/token) %v, want %v", shape, want)
	}
	for id, n := range asked {
		if n != 1 {
			t.Errorf("%s asked %d times", id, n)
		}
	}
}

func TestInstanceStatesFailsWhole(t *testing.T) {
	f := &fakeEC2{err: errBoom}
	if states, err := instanceStates(context.Background(), f, []string{"i-1"}); err == nil || states != nil {
		t.Errorf("states %v, err %v: a failed read must not read as instances gone", states, err)
	}
}

func TestOutside(t *testing.T) {
	tests := []struct {
		states  map[string]ec2types.InstanceStateName
		want    rulestore.SleepReason
		running bool
	}{
		{states: map[string]ec2types.InstanceStateName{"i-1": "running", "i-2": "running"}, running: true},
		{states: map[string]ec2types.InstanceStateName{"i-1": "running", "i-2": "pending"}},
		{states: map[string]ec2types.InstanceStateName{"i-1": "running", "i-2": "stopped"}, want: rulestore.SleepStoppedOutside},
		{states: map[string]ec2types.InstanceStateName{"i-1": "stopping", "i-2": "running"}, want: rulestore.SleepStoppedOutside},
		{states: map[string]ec2types.InstanceStateName{"i-1": "stopped", "i-2": "terminated"}, want: rulestore.SleepTerminatedOutside},
		{states: map[string]ec2types.InstanceStateName{"i-1": "shutting-down", "i-2": "running"}, want: rulestore.SleepTerminatedOutside},
		{states: map[string]ec2types.InstanceStateName{"i-1": "running"}, want: rulestore.SleepTerminatedOutside}, // i-2 missing
	}
	for _, tt := range tests {
		it := rulestore.Item{Rule: rule.Rule{InstanceIDs: []string{"i-1", "i-2"}}}
		inst := instancesOf(it, tt.states)
		got, detail := inst.outside()
		if got != tt.want || (got != "") != (detail != "") || inst.allRunning() != tt.running {
			t.Errorf("%v: outside %q (%q), all running %v; want %q, %v", tt.states, got, detail, inst.allRunning(), tt.want, tt.running)
		}
	}
}
