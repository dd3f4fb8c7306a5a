package listener

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
)

// TestRollbackRestoresModifiedListeners: a listener an execution modified
// gets its previous configuration back from that execution's rollback, and
// only from it.
func TestRollbackRestoresModifiedListeners(t *testing.T) {
	oldCert := "arn:aws:acm:eu-west-1:123456789012:certificate/old"
	earlier := ownership.Tags("web", "exec-0", nil)
	fixed := types.Action{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{StatusCode: aws.String("404")}}

	tests := []struct {
		name string
		// setup puts the load balancer's listeners as an earlier execution left them.
		setup       func(f *fakeELB)
		cert        string
		rollbackBy  string
		prepare     func(f *fakeELB)
		wantRestore []string // ports restored (Updated), in order
		wantDeleted []int32  // ports deleted
		wantLeft    []int32
		want        map[int32]types.Action // default action per port afterwards
		wantCert    string                 // certificate on 443 afterwards, if any
	}{
		{
			name:  "HTTP only upgraded to HTTPS: 443 deleted, 80 forwards again",
			setup: func(f *fakeELB) { f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", forwardAction, earlier) },
			cert:  certARN, rollbackBy: "exec-1",
			wantRestore: []string{"80"}, wantDeleted: []int32{443},
			want: map[int32]types.Action{80: forwardAction},
		},
		{
			name: "HTTPS certificate replaced: the old one back",
			setup: func(f *fakeELB) {
				f.add(lbARN, 443, types.ProtocolEnumHttps, oldCert, SSLPolicy, forwardAction, earlier)
				f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", redirectAction, earlier)
			},
			cert: certARN, rollbackBy: "exec-1",
			wantRestore: []string{"443"},
			want:        map[int32]types.Action{443: forwardAction, 80: redirectAction}, wantCert: oldCert,
		},
		{
			name:  "another execution's rollback changes nothing",
			setup: func(f *fakeELB) { f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", forwardAction, earlier) },
			cert:  certARN, rollbackBy: "exec-9",
			want: map[int32]types.Action{80: redirectAction, 443: forwardAction},
		},
		{
			name:  "a previous action autostop does not write is not guessed: left and reported",
			setup: func(f *fakeELB) { f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", fixed, earlier) },
			cert:  certARN, rollbackBy: "exec-1",
			wantDeleted: []int32{443}, wantLeft: []int32{80},
			want: map[int32]types.Action{80: redirectAction},
		},
		{
			name:  "restore fails: left and reported, the created listener still deleted",
			setup: func(f *fakeELB) { f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", forwardAction, earlier) },
			cert:  certARN, rollbackBy: "exec-1",
			prepare:     func(f *fakeELB) { f.fail["ModifyListener"] = errors.New("boom") },
			wantDeleted: []int32{443}, wantLeft: []int32{80},
			want: map[int32]types.Action{80: redirectAction},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(lbARN)
			tt.setup(f)
			if _, err := Ensure(context.Background(), f, input(tt.cert)); err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			// A retry of the step must not overwrite what was recorded.
			if _, err := Ensure(context.Background(), f, input(tt.cert)); err != nil {
				t.Fatalf("Ensure again: %v", err)
			}
			port := map[string]int32{}
			for _, l := range f.listeners {
				port[aws.ToString(l.ListenerArn)] = aws.ToInt32(l.Port)
			}
			if tt.prepare != nil {
				tt.prepare(f)
			}

			deleted, left, err := DeleteCreatedBy(context.Background(), f, lbARN, "web", tt.rollbackBy)
			if (err != nil) != (len(tt.wantLeft) > 0) {
				t.Fatalf("err = %v, want an error: %v", err, len(tt.wantLeft) > 0)
			}
			var restored []string
			var gone, kept []int32
			for _, r := range deleted {
				switch r.Action {
				case step.Updated:
					restored = append(restored, map[int32]string{80: "80", 443: "443"}[port[r.ID]])
				case step.Deleted:
					gone = append(gone, port[r.ID])
				}
			}
			for _, r := range left {
				kept = append(kept, port[r.ID])
			}
			if !slices.Equal(restored, tt.wantRestore) || !slices.Equal(gone, tt.wantDeleted) || !slices.Equal(kept, tt.wantLeft) {
				t.Errorf("restored %v deleted %v left %v, want %v %v %v", restored, gone, kept, tt.wantRestore, tt.wantDeleted, tt.wantLeft)
			}
			for p, want := range tt.want {
				l, ok := f.byPort(lbARN, p)
				if !ok || len(l.DefaultActions) != 1 || !sameAction(l.DefaultActions[0], want) {
					t.Errorf("port %d: listener %+v, want action %+v", p, l, want)
				}
				if p == 443 && tt.wantCert != "" && !slices.Equal(defaultCertificateARNs(l.Certificates), []string{tt.wantCert}) {
					t.Errorf("port 443 certificates %v, want %s", defaultCertificateARNs(l.Certificates), tt.wantCert)
				}
				if len(tt.wantRestore) > 0 && len(tt.wantLeft) == 0 {
					if _, ok := f.tags[aws.ToString(l.ListenerArn)][ModifiedByKey]; ok {
						t.Errorf("port %d: the previous-configuration tags are still there after the restore", p)
					}
				}
			}
		})
	}
}

// TestDeleteLoadBalancerRestoresEveryModifiedListener: with an empty
// execution (the DeleteLoadBalancer workflow) every listener of the load
// balancer carrying ModifiedByKey is put back, whatever execution modified
// it, then every listener of the load balancer's is deleted; a foreign
// listener and another load balancer's are not touched.
func TestDeleteLoadBalancerRestoresEveryModifiedListener(t *testing.T) {
	const otherLB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/api/0123456789abcdef"
	tests := []struct {
		name string
		// disown removes autostop's ownership tags from port 80 after the
		// change (someone took the listener over): it is restored, not deleted.
		disown      bool
		prepare     func(f *fakeELB)
		wantRestore []int32 // ports restored (Updated)
		wantDeleted []int32
		wantLeft    []int32
		want        map[int32]types.Action // default action per port afterwards; absent: deleted
	}{
		{
			name:        "an earlier execution's listener modified by a later one: put back, then both executions' deleted",
			wantRestore: []int32{80}, wantDeleted: []int32{80, 443},
			want: map[int32]types.Action{8080: forwardAction},
		},
		{
			name:   "a modified listener autostop no longer owns: put back and kept",
			disown: true, wantRestore: []int32{80}, wantDeleted: []int32{443},
			want: map[int32]types.Action{80: forwardAction, 8080: forwardAction},
		},
		{
			name:        "the restore fails on a listener then deleted: nothing left",
			prepare:     func(f *fakeELB) { f.fail["ModifyListener"] = errors.New("boom") },
			wantDeleted: []int32{80, 443},
			want:        map[int32]types.Action{8080: forwardAction},
		},
		{
			name:   "the restore fails on a listener that stays: left and reported",
			disown: true, prepare: func(f *fakeELB) { f.fail["ModifyListener"] = errors.New("boom") },
			wantDeleted: []int32{443}, wantLeft: []int32{80},
			want: map[int32]types.Action{80: redirectAction, 8080: forwardAction},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// An adopted ALB: a listener of its owner on 8080; exec-0 added
			// HTTP 80, exec-1 (input) HTTPS 443 and turned 80 into a redirect.
			f := newFake(lbARN, otherLB)
			theirs := f.add(lbARN, 8080, types.ProtocolEnumHttp, "", "", forwardAction, foreign)
			http := f.add(lbARN, 80, types.ProtocolEnumHttp, "", "", forwardAction, ours)
			if _, err := Ensure(context.Background(), f, input(certARN)); err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if f.tags[http][ModifiedByKey] != "exec-1" {
				t.Fatalf("port 80 tags %v: want it modified by exec-1", f.tags[http])
			}
			// Another load balancer's listener, modified by one of its executions.
			api := f.add(otherLB, 80, types.ProtocolEnumHttp, "", "", redirectAction, ownership.Tags("api", "exec-7", nil))
			for k, v := range previousTags(types.Listener{Protocol: types.ProtocolEnumHttp, DefaultActions: []types.Action{forwardAction}}, "exec-7") {
				f.tags[api][k] = v
			}
			if tt.disown {
				for _, k := range []string{ownership.ManagedByKey, ownership.LoadBalancerKey, ownership.ExecutionKey} {
					delete(f.tags[http], k)
				}
			}
			port := map[string]int32{}
			for _, l := range f.listeners {
				port[aws.ToString(l.ListenerArn)] = aws.ToInt32(l.Port)
			}
			if tt.prepare != nil {
				tt.prepare(f)
			}
			f.calls = nil

			deleted, left, err := DeleteCreatedBy(context.Background(), f, lbARN, "web", "")
			if (err != nil) != (len(tt.wantLeft) > 0) {
				t.Fatalf("err = %v, want an error: %v", err, len(tt.wantLeft) > 0)
			}
			var restored, gone, kept []int32
			for _, r := range deleted {
				switch r.Action {
				case step.Updated:
					restored = append(restored, port[r.ID])
				case step.Deleted:
					gone = append(gone, port[r.ID])
				}
			}
			for _, r := range left {
				kept = append(kept, port[r.ID])
			}
			slices.Sort(gone)
			if !slices.Equal(restored, tt.wantRestore) || !slices.Equal(gone, tt.wantDeleted) || !slices.Equal(kept, tt.wantLeft) {
				t.Errorf("restored %v deleted %v left %v, want %v %v %v", restored, gone, kept, tt.wantRestore, tt.wantDeleted, tt.wantLeft)
			}
			for _, p := range []int32{80, 443, 8080} {
				l, ok := f.byPort(lbARN, p)
				want, wantOK := tt.want[p]
				if ok != wantOK {
					t.Errorf("port %d: present %v, want %v", p, ok, wantOK)
					continue
				}
				if ok && (len(l.DefaultActions) != 1 || !sameAction(l.DefaultActions[0], want)) {
					t.Errorf("port %d: action %+v, want %+v", p, l.DefaultActions, want)
				}
			}
			if len(tt.wantRestore) > 0 && tt.disown {
				if _, ok := f.tags[http][ModifiedByKey]; ok {
					t.Errorf("port 80 restored but keeps its previous-configuration tags: %v", f.tags[http])
				}
			}
			if l, ok := f.byPort(otherLB, 80); !ok || !sameAction(l.DefaultActions[0], redirectAction) || f.tags[api][ModifiedByKey] != "exec-7" {
				t.Errorf("another load balancer's listener changed: %+v, tags %v", l, f.tags[api])
			}
			if !maps.Equal(f.tags[theirs], foreign) {
				t.Errorf("the ALB owner's listener tags changed: %v", f.tags[theirs])
			}
		})
	}
}
