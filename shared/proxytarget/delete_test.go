package proxytarget

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/step"
)

func inUse() error {
	return &elbtypes.ResourceInUseException{Message: aws.String("Target group is currently in use by a listener or a rule")}
}

func TestDeleteCreatedBy(t *testing.T) {
	const otherTG = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web-proxy/other"

	// provisioned sets up what a successful Ensure by execution leaves.
	provisioned := func(execution string) func(f *fake) *fakeTG {
		return func(f *fake) *fakeTG {
			f.versions["1"] = fakeSha
			f.aliases["live"] = "1"
			tg := ours(f, testLB, execution)
			tg.attrs[MultiValueHeadersAttr] = "true"
			tg.targets = []string{aliasARN}
			f.grant("autostop-web", tg.arn)
			f.grant("autostop-api", "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/api-proxy/1")
			return tg
		}
	}
	all := func(tg *fakeTG) []step.Resource {
		return []step.Resource{
			{Kind: KindTarget, ID: aliasARN, Action: step.Deleted},
			{Kind: KindPermission, ID: aliasARN + "#autostop-web", Action: step.Deleted},
			{Kind: KindTargetGroup, ID: tg.arn, Action: step.Deleted},
		}
	}

	tests := []struct {
		name        string
		setup       func(f *fake) *fakeTG
		wantDeleted func(tg *fakeTG) []step.Resource
		wantLeft    func(tg *fakeTG) []step.Resource
		wantErr     bool
		wantMut     []string
		wantTGGone  bool
		wantStmt    bool // autostop-web still in the policy
	}{
		{
			name:        "created by this execution: target, permission, target group",
			setup:       provisioned(testExec),
			wantDeleted: all,
			wantMut:     []string{"DeregisterTargets", "RemovePermission", "DeleteTargetGroup"},
			wantTGGone:  true,
		},
		{
			name:     "created by another execution: untouched",
			setup:    provisioned("exec-0"),
			wantStmt: true,
		},
		{
			name: "not autostop's: untouched",
			setup: func(f *fake) *fakeTG {
				tg := f.addTG("web-proxy", elbtypes.TargetTypeEnumLambda, map[string]string{"owner": "someone"})
				f.aliases["live"] = "1"
				f.grant("autostop-web", tg.arn)
				return tg
			},
			wantStmt: true,
		},
		{
			name:  "nothing there: done",
			setup: func(f *fake) *fakeTG { return nil },
		},
		{
			name: "half created (no permission, no target, no alias): target group only",
			setup: func(f *fake) *fakeTG {
				return ours(f, testLB, testExec)
			},
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{{Kind: KindTargetGroup, ID: tg.arn, Action: step.Deleted}}
			},
			wantMut:    []string{"DeleteTargetGroup"},
			wantTGGone: true,
		},
		{
			name: "statement granting another target group: kept",
			setup: func(f *fake) *fakeTG {
				f.versions["1"] = fakeSha
				f.aliases["live"] = "1"
				tg := ours(f, testLB, testExec)
				f.grant("autostop-web", otherTG)
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{{Kind: KindTargetGroup, ID: tg.arn, Action: step.Deleted}}
			},
			wantMut:    []string{"DeleteTargetGroup"},
			wantTGGone: true,
			wantStmt:   true,
		},
		{
			name: "in use twice, then deleted",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				f.errs["DeleteTargetGroup"] = []error{inUse(), inUse()}
				return tg
			},
			wantDeleted: all,
			wantMut:     []string{"DeregisterTargets", "RemovePermission", "DeleteTargetGroup", "DeleteTargetGroup", "DeleteTargetGroup"},
			wantTGGone:  true,
		},
		{
			name: "still in use after every attempt: left",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				f.errs["DeleteTargetGroup"] = []error{inUse(), inUse(), inUse()}
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource { return all(tg)[:2] },
			wantLeft: func(tg *fakeTG) []step.Resource {
				return []step.Resource{{Kind: KindTargetGroup, ID: tg.arn}}
			},
			wantMut: []string{"DeregisterTargets", "RemovePermission", "DeleteTargetGroup", "DeleteTargetGroup", "DeleteTargetGroup"},
		},
		{
			name: "unexpected error: left and returned, the rest still done",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				f.errs["RemovePermission"] = []error{errors.New("boom")}
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource { return []step.Resource{all(tg)[0], all(tg)[2]} },
			wantLeft: func(tg *fakeTG) []step.Resource {
				return []step.Resource{{Kind: KindPermission, ID: fakeFnName + ":live#autostop-web"}}
			},
			wantErr:    true,
			wantMut:    []string{"DeregisterTargets", "RemovePermission", "DeleteTargetGroup"},
			wantTGGone: true,
			wantStmt:   true,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			tg := tt.setup(f)
			apiBefore, aliasBefore := f.statement("autostop-api") != nil, f.aliases["live"]
			cfg := Config{DeleteAttempts: 3, DeleteBackoff: time.Millisecond}

			deleted, left, err := DeleteCreatedBy(t.Context(), f.clients(), cfg, testLB, testExec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var wantDeleted, wantLeft []step.Resource
			if tt.wantDeleted != nil {
				wantDeleted = tt.wantDeleted(tg)
			}
			if tt.wantLeft != nil {
				wantLeft = tt.wantLeft(tg)
			}
			if !slices.Equal(deleted, wantDeleted) {
				t.Errorf("deleted = %v, want %v", deleted, wantDeleted)
			}
			if !slices.Equal(left, wantLeft) {
				t.Errorf("left = %v, want %v", left, wantLeft)
			}
			if got := f.mutating(); !slices.Equal(got, tt.wantMut) {
				t.Errorf("mutating calls = %v, want %v", got, tt.wantMut)
			}
			if tg != nil {
				if _, exists := f.tgs[tg.arn]; exists == tt.wantTGGone {
					t.Errorf("target group exists = %v, want %v", exists, !tt.wantTGGone)
				}
			}
			if got := f.statement("autostop-web") != nil; got != tt.wantStmt {
				t.Errorf("statement autostop-web present = %v, want %v", got, tt.wantStmt)
			}
			// Shared resources and other load balancers' are never touched.
			if apiBefore && f.statement("autostop-api") == nil {
				t.Errorf("another load balancer's statement was removed")
			}
			if f.aliases["live"] != aliasBefore || !f.fnExists {
				t.Errorf("alias live -> %q (was %q), function exists %v", f.aliases["live"], aliasBefore, f.fnExists)
			}

			// A second call finds nothing more to do (unless something was left).
			if len(left) == 0 && !tt.wantErr {
				f.calls = nil
				deleted, left, err := DeleteCreatedBy(t.Context(), f.clients(), cfg, testLB, testExec)
				if err != nil || len(deleted) != 0 || len(left) != 0 || len(f.mutating()) != 0 {
					t.Errorf("second call: deleted %v left %v err %v mutating %v", deleted, left, err, f.mutating())
				}
			}
		})
	}
}

func TestDeleteCreatedByStopsWithTheContext(t *testing.T) {
	f := newFake()
	ours(f, testLB, testExec)
	f.errs["DeleteTargetGroup"] = []error{inUse(), inUse(), inUse()}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	_, left, err := DeleteCreatedBy(ctx, f.clients(), Config{DeleteAttempts: 3, DeleteBackoff: time.Hour}, testLB, testExec)
	if err == nil || len(left) != 1 || left[0].Kind != KindTargetGroup {
		t.Fatalf("left %v err %v, want the target group left and the context's error", left, err)
	}
}

func TestDeleteCreatedByRequiresNameAndExecution(t *testing.T) {
	if _, _, err := DeleteCreatedBy(t.Context(), newFake().clients(), Config{}, testLB, ""); err == nil {
		t.Error("no error without an execution")
	}
	if _, _, err := DeleteCreatedBy(t.Context(), newFake().clients(), Config{}, "", testExec); err == nil {
		t.Error("no error without a load balancer name")
	}
}
