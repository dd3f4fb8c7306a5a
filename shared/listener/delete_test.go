package listener

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
)

func TestDeleteCreatedBy(t *testing.T) {
	mine := ownership.Tags("web", "exec-1", nil)
	type ids struct{ mine443, mine80, earlier, foreignL, otherLB string }
	setup := func(f *fakeELB) ids {
		return ids{
			mine443:  f.add(lbARN, 443, types.ProtocolEnumHttps, certARN, SSLPolicy, forwardAction, mine),
			mine80:   f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", redirectAction, mine),
			earlier:  f.add(lbARN, 8080, types.ProtocolEnumHttp, "", "", forwardAction, ownership.Tags("web", "exec-0", nil)),
			foreignL: f.add(lbARN, 8443, types.ProtocolEnumHttp, "", "", forwardAction, map[string]string{ownership.ExecutionKey: "exec-1"}),
			otherLB:  f.add(lbARN, 9000, types.ProtocolEnumHttp, "", "", forwardAction, ownership.Tags("api", "exec-1", nil)),
		}
	}
	tests := []struct {
		name        string
		lb          string
		execution   string
		prepare     func(f *fakeELB, id ids)
		wantDeleted func(id ids) []string
		wantLeft    func(id ids) []string
		wantErr     bool
	}{
		{
			name: "deletes this execution's listeners only", lb: lbARN, execution: "exec-1",
			wantDeleted: func(id ids) []string { return []string{id.mine443, id.mine80} },
		},
		{
			name: "another execution deletes nothing", lb: lbARN, execution: "exec-2",
		},
		{
			name: "load balancer already gone", lb: lbARN, execution: "exec-1",
			prepare: func(f *fakeELB, _ ids) { delete(f.lbs, lbARN) },
		},
		{
			name: "no load balancer ARN", lb: "", execution: "exec-1",
		},
		{
			name: "listener already gone counts as done", lb: lbARN, execution: "exec-1",
			prepare: func(f *fakeELB, _ ids) {
				f.fail["DeleteListener"] = &types.ListenerNotFoundException{Message: aws.String("gone")}
			},
		},
		{
			name: "a failed delete is left and reported", lb: lbARN, execution: "exec-1",
			prepare: func(f *fakeELB, _ ids) {
				f.fail["DeleteListener"] = &types.ResourceInUseException{Message: aws.String("in use")}
			},
			wantLeft: func(id ids) []string { return []string{id.mine443, id.mine80} },
			wantErr:  true,
		},
		{
			name: "any execution: every execution's listeners of the load balancer", lb: lbARN, execution: "",
			wantDeleted: func(id ids) []string { return []string{id.mine443, id.mine80, id.earlier} },
		},
		{
			name: "any execution: a failed delete is left and reported", lb: lbARN, execution: "",
			prepare: func(f *fakeELB, _ ids) {
				f.fail["DeleteListener"] = &types.ResourceInUseException{Message: aws.String("in use")}
			},
			wantLeft: func(id ids) []string { return []string{id.mine443, id.mine80, id.earlier} },
			wantErr:  true,
		},
		{
			name: "any execution: load balancer already gone", lb: lbARN, execution: "",
			prepare: func(f *fakeELB, _ ids) { delete(f.lbs, lbARN) },
		},
		{
			name: "describe tags fails", lb: lbARN, execution: "exec-1",
			prepare: func(f *fakeELB, _ ids) { f.fail["DescribeTags"] = errors.New("boom") },
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(lbARN)
			id := setup(f)
			if tt.prepare != nil {
				tt.prepare(f, id)
			}

			deleted, left, err := DeleteCreatedBy(context.Background(), f, tt.lb, "web", tt.execution)

			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var wantDeleted, wantLeft []string
			if tt.wantDeleted != nil {
				wantDeleted = tt.wantDeleted(id)
			}
			if tt.wantLeft != nil {
				wantLeft = tt.wantLeft(id)
			}
			slices.Sort(wantDeleted)
			slices.Sort(wantLeft)
			if got := resourceIDs(deleted, step.Deleted); !slices.Equal(got, wantDeleted) {
				t.Errorf("deleted = %v, want %v", got, wantDeleted)
			}
			if got := resourceIDs(left, step.Created); !slices.Equal(got, wantLeft) {
				t.Errorf("left = %v, want %v", got, wantLeft)
			}
			// Another load balancer's and a foreign listener stay, whatever
			// the execution; another execution's unless the scope is the
			// whole load balancer.
			for _, arn := range []string{id.earlier, id.foreignL, id.otherLB} {
				if f.find(arn) < 0 && !slices.Contains(wantDeleted, arn) {
					t.Errorf("listener %s out of scope was deleted", arn)
				}
			}
			for _, arn := range wantDeleted {
				if f.find(arn) >= 0 {
					t.Errorf("listener %s still exists", arn)
				}
			}
		})
	}
}

func TestDeleteCreatedBySkipsListenerGoneBeforeTagRead(t *testing.T) {
	f := newFake(lbARN)
	mine := f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", forwardAction, ownership.Tags("web", "exec-1", nil))
	gone := f.add(lbARN, 443, types.ProtocolEnumHttps, certARN, SSLPolicy, forwardAction, ownership.Tags("web", "exec-1", nil))
	// The listener vanishes after DescribeListeners and before DescribeTags.
	api := &vanishing{fakeELB: f, arn: gone}

	deleted, left, err := DeleteCreatedBy(context.Background(), api, lbARN, "web", "exec-1")
	if err != nil || len(left) != 0 || !slices.Equal(resourceIDs(deleted, step.Deleted), []string{mine}) {
		t.Fatalf("deleted %v, left %v, err %v", deleted, left, err)
	}
}

// vanishing deletes one listener right after the first DescribeListeners.
type vanishing struct {
	*fakeELB
	arn  string
	done bool
}

func (v *vanishing) DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error) {
	out, err := v.fakeELB.DescribeListeners(ctx, in, opts...)
	if !v.done {
		v.done = true
		if i := v.find(v.arn); i >= 0 {
			v.listeners = append(v.listeners[:i], v.listeners[i+1:]...)
		}
	}

	return out, err
}

func resourceIDs(rs []step.Resource, action string) []string {
	var out []string
	for _, r := range rs {
		if r.Kind == Kind && r.Action == action {
			out = append(out, r.ID)
		}
	}
	slices.Sort(out)

	return out
}
