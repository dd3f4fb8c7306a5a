package loadbalancer

import (
	"context"
	"slices"
	"testing"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func TestDeleteCreatedBy(t *testing.T) {
	ours := func(exec string) map[string]string { return ownership.Tags("web", exec, nil) }
	// created: what Ensure leaves behind for exec.
	created := func(exec string) func(f *fakeAWS) {
		return func(f *fakeAWS) {
			sg := f.addGroup("autostop-web", testVPC, ours(exec), webRules(anyIPv4)...)
			f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{sg}, ours(exec))
		}
	}

	tests := []struct {
		name  string
		setup func(f *fakeAWS)
		// anyExecution deletes for the load balancer's deletion (execution
		// ""), not for testExec's rollback.
		anyExecution bool
		wantDeleted  []string // kinds
		wantLeft     []string
		wantErr      string
		wantMut      []string
		wantLBs      int
		wantGroups   int
	}{
		{
			name:        "what this execution created",
			setup:       created(testExec),
			wantDeleted: []string{"load-balancer", "security-group"},
			wantMut:     []string{"DeleteLoadBalancer", "DeleteSecurityGroup"},
		},
		{
			name:       "another execution's",
			setup:      created("exec-0"),
			wantLBs:    1,
			wantGroups: 1,
		},
		{
			name: "an adopted or foreign ALB",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{"sg-theirs"}, map[string]string{"team": "x"})
				f.addGroup("autostop-web", testVPC, map[string]string{ownership.ExecutionKey: testExec})
			},
			wantLBs:    1,
			wantGroups: 1,
		},
		{
			name: "an ALB of another execution using this execution's group",
			setup: func(f *fakeAWS) {
				sg := f.addGroup("autostop-web", testVPC, ours(testExec), webRules(anyIPv4)...)
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{sg}, ours("exec-0"))
			},
			wantLeft:   []string{"security-group"},
			wantErr:    "StillInUse",
			wantMut:    []string{"DeleteSecurityGroup"},
			wantLBs:    1,
			wantGroups: 1,
		},
		{
			name: "only the group (the ALB was never created)",
			setup: func(f *fakeAWS) {
				f.addGroup("autostop-web", testVPC, ours(testExec))
			},
			wantDeleted: []string{"security-group"},
			wantMut:     []string{"DeleteSecurityGroup"},
		},
		{
			name: "group in use for a while after the ALB goes: waits, no sleep here",
			setup: func(f *fakeAWS) {
				created(testExec)(f)
				f.busy = 2
			},
			wantDeleted: []string{"load-balancer"},
			wantLeft:    []string{"security-group"},
			wantErr:     "StillInUse",
			wantMut:     []string{"DeleteLoadBalancer", "DeleteSecurityGroup"},
			wantGroups:  1,
		},
		{
			name: "throttled ALB delete leaves both",
			setup: func(f *fakeAWS) {
				created(testExec)(f)
				f.errs["DeleteLoadBalancer"] = []error{apiErr("Throttling")}
			},
			wantLeft:   []string{"load-balancer", "security-group"},
			wantErr:    "Throttled",
			wantMut:    []string{"DeleteLoadBalancer"},
			wantLBs:    1,
			wantGroups: 1,
		},
		{
			name: "throttled describe",
			setup: func(f *fakeAWS) {
				created(testExec)(f)
				f.errs["DescribeLoadBalancers"] = []error{apiErr("Throttling")}
			},
			wantErr: "Throttled", wantLBs: 1, wantGroups: 1,
		},
		{
			name:  "nothing there",
			setup: func(*fakeAWS) {},
		},
		{
			name: "any execution: the ALB of one execution and the group of another",
			setup: func(f *fakeAWS) {
				sg := f.addGroup("autostop-web", testVPC, ours(testExec), webRules(anyIPv4)...)
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{sg}, ours("exec-0"))
			},
			anyExecution: true,
			wantDeleted:  []string{"load-balancer", "security-group"},
			wantMut:      []string{"DeleteLoadBalancer", "DeleteSecurityGroup"},
		},
		{
			name: "any execution: groups of two executions in two VPCs",
			setup: func(f *fakeAWS) {
				f.addGroup("autostop-web", testVPC, ours("exec-0"))
				f.addGroup("autostop-web", "vpc-other", ours(testExec))
			},
			anyExecution: true,
			wantDeleted:  []string{"security-group", "security-group"},
			wantMut:      []string{"DeleteSecurityGroup", "DeleteSecurityGroup"},
		},
		{
			name: "any execution: an adopted ALB stays, autostop's group goes, foreign and other load balancers' groups stay",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{"sg-theirs"}, map[string]string{"team": "x"})
				f.addGroup("autostop-web", testVPC, ours("exec-0"))
				f.addGroup("autostop-web", "vpc-foreign", map[string]string{"team": "x"})
				f.addGroup("autostop-web", "vpc-api", ownership.Tags("api", testExec, nil))
			},
			anyExecution: true,
			wantDeleted:  []string{"security-group"},
			wantMut:      []string{"DeleteSecurityGroup"},
			wantLBs:      1,
			wantGroups:   2,
		},
		{
			name: "any execution: an ALB of the name tagged for another load balancer stays",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{"sg-theirs"}, ownership.Tags("api", "exec-0", nil))
			},
			anyExecution: true,
			wantLBs:      1,
		},
		{
			name: "any execution: an ALB that is not autostop's (no managed-by tag) stays",
			setup: func(f *fakeAWS) {
				f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{"sg-theirs"},
					map[string]string{ownership.LoadBalancerKey: "web", ownership.ExecutionKey: testExec})
			},
			anyExecution: true,
			wantLBs:      1,
		},
		{
			name: "any execution: a group AWS still holds waits",
			setup: func(f *fakeAWS) {
				created("exec-0")(f)
				f.busy = 1
			},
			anyExecution: true,
			wantDeleted:  []string{"load-balancer"},
			wantLeft:     []string{"security-group"},
			wantErr:      "StillInUse",
			wantMut:      []string{"DeleteLoadBalancer", "DeleteSecurityGroup"},
			wantGroups:   1,
		},
		{
			name: "already deleted meanwhile: not found counts as done",
			setup: func(f *fakeAWS) {
				created(testExec)(f)
				f.errs["DeleteSecurityGroup"] = []error{apiErr("InvalidGroup.NotFound")}
			},
			wantDeleted: []string{"load-balancer", "security-group"},
			wantMut:     []string{"DeleteLoadBalancer", "DeleteSecurityGroup"},
			wantGroups:  1, // the fake still holds it: the error said it was gone
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			tt.setup(f)
			f.calls = nil

			execution := testExec
			if tt.anyExecution {
				execution = ""
			}
			deleted, left, err := DeleteCreatedBy(context.Background(), f.clients(), "web", execution)
			got := errName(err)
			if inUse, rest := steperr.SplitInUse(err); len(inUse) > 0 && rest == nil {
				got = "StillInUse"
			}
			if got != tt.wantErr {
				t.Fatalf("error %v (%s), want %q", err, got, tt.wantErr)
			}
			if got := kinds(deleted, step.Deleted); !slices.Equal(got, tt.wantDeleted) {
				t.Errorf("deleted %v, want %v", got, tt.wantDeleted)
			}
			if got := kinds(left, ""); !slices.Equal(got, tt.wantLeft) {
				t.Errorf("left %v, want %v", got, tt.wantLeft)
			}
			if got := f.mutating(); !slices.Equal(got, tt.wantMut) {
				t.Errorf("mutating calls %v, want %v", got, tt.wantMut)
			}
			if len(f.lbs) != tt.wantLBs || len(f.groups) != tt.wantGroups {
				t.Errorf("%d ALBs and %d groups left, want %d and %d", len(f.lbs), len(f.groups), tt.wantLBs, tt.wantGroups)
			}
		})
	}
}

// TestDeleteCreatedByWaitsForTheGroup: the rollback's next passes delete
// the group once AWS lets it go, and only the group.
func TestDeleteCreatedByWaitsForTheGroup(t *testing.T) {
	f := newFake()
	sg := f.addGroup("autostop-web", testVPC, ownership.Tags("web", testExec, nil), webRules(anyIPv4)...)
	f.addLB("web", "internet-facing", "ipv4", testSubnets, []string{sg}, ownership.Tags("web", testExec, nil))
	f.busy = 2
	for pass := 1; pass <= 2; pass++ {
		_, left, err := DeleteCreatedBy(context.Background(), f.clients(), "web", testExec)
		inUse, rest := steperr.SplitInUse(err)
		if len(left) != 1 || len(inUse) != 1 || rest != nil || inUse[0].ID != sg || inUse[0].Kind != KindSecurityGroup {
			t.Fatalf("pass %d: left %v, err %v: want the group waiting", pass, left, err)
		}
	}
	f.calls = nil
	deleted, left, err := DeleteCreatedBy(context.Background(), f.clients(), "web", testExec)
	if err != nil || len(left) != 0 || !slices.Equal(kinds(deleted, step.Deleted), []string{"security-group"}) ||
		!slices.Equal(f.mutating(), []string{"DeleteSecurityGroup"}) {
		t.Fatalf("pass 3: deleted %v left %v err %v calls %v", deleted, left, err, f.mutating())
	}
}

// TestDeleteCreatedByTwice: a second rollback finds nothing to do.
func TestDeleteCreatedByTwice(t *testing.T) {
	f := newFake()
	if _, err := Ensure(context.Background(), f.clients(), step.Input{Spec: testSpec(), Execution: testExec}); err != nil {
		t.Fatal(err)
	}
	if deleted, _, err := DeleteCreatedBy(context.Background(), f.clients(), "web", testExec); err != nil || len(deleted) != 2 {
		t.Fatalf("first delete: %v %v", deleted, err)
	}
	f.calls = nil
	deleted, left, err := DeleteCreatedBy(context.Background(), f.clients(), "web", testExec)
	if err != nil || len(deleted)+len(left) != 0 || len(f.mutating()) != 0 {
		t.Fatalf("second delete: deleted %v left %v err %v mutating %v", deleted, left, err, f.mutating())
	}
}

// kinds lists the resources' kinds, checking each carries action.
func kinds(rs []step.Resource, action string) []string {
	var out []string
	for _, r := range rs {
		if r.Action != action {
			return []string{"bad action " + r.Action + " on " + r.ID}
		}
		out = append(out, r.Kind)
	}

	return out
}
