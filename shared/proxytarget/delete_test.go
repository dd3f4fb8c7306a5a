package proxytarget

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func inUse() error {
	return &elbtypes.ResourceInUseException{Message: aws.String("Target group is currently in use by a listener or a rule")}
}

func TestDeleteCreatedBy(t *testing.T) {
	const otherTG = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web-proxy/other"
	sharedID := aliasARN + "#" + SharedStatementID

	// provisioned sets up what a successful Ensure by execution leaves,
	// with another load balancer's legacy statement (never touched).
	provisioned := func(execution string) func(f *fake) *fakeTG {
		return func(f *fake) *fakeTG {
			f.versions["1"] = fakeSha
			f.aliases["live"] = "1"
			tg := ours(f, testLB, execution)
			tg.attrs[MultiValueHeadersAttr] = "true"
			tg.targets = []string{aliasARN}
			f.grantShared()
			f.grant("autostop-api", "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/api-proxy/1", "")
			return tg
		}
	}
	// another adds load balancer lb's proxy target group (another
	// execution's).
	another := func(f *fake, lb string) { ours(f, lb, "exec-9") }
	target := step.Resource{Kind: KindTarget, ID: aliasARN, Action: step.Deleted}
	tgDeleted := func(tg *fakeTG) step.Resource {
		return step.Resource{Kind: KindTargetGroup, ID: tg.arn, Action: step.Deleted}
	}
	sharedDeleted := step.Resource{Kind: KindPermission, ID: sharedID, Action: step.Deleted}
	sharedKept := step.Resource{Kind: KindPermission, ID: sharedID, Action: ActionKept}
	legacyDeleted := step.Resource{Kind: KindLegacyPermission, ID: aliasARN + "#autostop-web", Action: step.Deleted}

	tests := []struct {
		name  string
		setup func(f *fake) *fakeTG
		// anyExecution deletes for the load balancer's deletion (execution
		// ""), not for testExec's rollback.
		anyExecution bool
		wantDeleted  func(tg *fakeTG) []step.Resource
		wantLeft     func(tg *fakeTG) []step.Resource
		wantErr      bool
		wantMut      []string
		wantTGGone   bool
		wantShared   bool // the shared statement still in the policy
		wantLegacy   bool // autostop-web still in the policy
	}{
		{
			name:  "last autostop proxy target group: target, target group, shared statement",
			setup: provisioned(testExec),
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{target, tgDeleted(tg), sharedDeleted}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "RemovePermission"},
			wantTGGone: true,
		},
		{
			name: "another autostop proxy target group remains: shared statement kept",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				another(f, "api")
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{target, tgDeleted(tg), sharedKept}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup"},
			wantTGGone: true,
			wantShared: true,
		},
		{
			name: "only target groups that are not autostop's proxy target groups remain: shared statement removed",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				f.addTG("x-proxy", elbtypes.TargetTypeEnumLambda, map[string]string{"owner": "someone"})
				f.addTG("y-proxy", elbtypes.TargetTypeEnumLambda, ownership.Tags("z", "exec-9", nil)) // not z's name
				f.addTG("api-proxy", elbtypes.TargetTypeEnumInstance, ownership.Tags("api", "exec-9", nil))
				f.addTG("app-0123abcd", elbtypes.TargetTypeEnumInstance, ownership.Tags("api", "exec-9", nil)) // a rule's
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{target, tgDeleted(tg), sharedDeleted}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "RemovePermission"},
			wantTGGone: true,
		},
		{
			name: "legacy statement of this load balancer: removed, shared kept for another",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				f.grant("autostop-web", tg.arn, "")
				another(f, "api")
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{target, tgDeleted(tg), legacyDeleted, sharedKept}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "RemovePermission"},
			wantTGGone: true,
			wantShared: true,
		},
		{
			name: "legacy statement only (no shared one): removed",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				f.revoke(SharedStatementID)
				f.grant("autostop-web", otherTG, "") // for an older target group of that name: as stale
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{target, tgDeleted(tg), legacyDeleted}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "RemovePermission"},
			wantTGGone: true,
		},
		{
			name: "a proxy target group created while the shared statement was removed: put back",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				f.before["RemovePermission"] = func(f *fake) { another(f, "api") }
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{target, tgDeleted(tg), sharedKept}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "RemovePermission", "AddPermission"},
			wantTGGone: true,
			wantShared: true,
		},
		{
			name:       "created by another execution: untouched",
			setup:      provisioned("exec-0"),
			wantShared: true,
		},
		{
			name: "not autostop's: untouched",
			setup: func(f *fake) *fakeTG {
				tg := f.addTG("web-proxy", elbtypes.TargetTypeEnumLambda, map[string]string{"owner": "someone"})
				f.aliases["live"] = "1"
				f.grant("autostop-web", tg.arn, "")
				f.grantShared()
				return tg
			},
			wantShared: true,
			wantLegacy: true,
		},
		{
			name:  "nothing there: done",
			setup: func(f *fake) *fakeTG { return nil },
		},
		{
			name:  "any execution: this execution's, the last one: target, target group, shared statement",
			setup: provisioned(testExec), anyExecution: true,
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{target, tgDeleted(tg), sharedDeleted}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "RemovePermission"},
			wantTGGone: true,
		},
		{
			name: "any execution: an earlier execution's, with its legacy statement; shared kept for another load balancer",
			setup: func(f *fake) *fakeTG {
				tg := provisioned("exec-0")(f)
				f.grant("autostop-web", tg.arn, "")
				another(f, "api")
				return tg
			},
			anyExecution: true,
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{target, tgDeleted(tg), legacyDeleted, sharedKept}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "RemovePermission"},
			wantTGGone: true,
			wantShared: true,
		},
		{
			name: "any execution: a target group of the name tagged for another load balancer: untouched",
			setup: func(f *fake) *fakeTG {
				tg := f.addTG("web-proxy", elbtypes.TargetTypeEnumLambda, ownership.Tags("api", "exec-9", nil))
				tg.targets = []string{aliasARN}
				f.aliases["live"] = "1"
				f.grant("autostop-web", tg.arn, "")
				f.grantShared()
				return tg
			},
			anyExecution: true,
			wantShared:   true,
			wantLegacy:   true,
		},
		{
			name: "any execution: not autostop's: untouched",
			setup: func(f *fake) *fakeTG {
				tg := f.addTG("web-proxy", elbtypes.TargetTypeEnumLambda, map[string]string{"owner": "someone"})
				tg.targets = []string{aliasARN}
				f.aliases["live"] = "1"
				f.grant("autostop-web", tg.arn, "")
				f.grantShared()
				return tg
			},
			anyExecution: true,
			wantShared:   true,
			wantLegacy:   true,
		},
		{
			name: "any execution: still in use after every attempt: left, and it keeps the shared statement",
			setup: func(f *fake) *fakeTG {
				tg := provisioned("exec-0")(f)
				f.errs["DeleteTargetGroup"] = []error{inUse(), inUse(), inUse()}
				return tg
			},
			anyExecution: true,
			wantDeleted:  func(tg *fakeTG) []step.Resource { return []step.Resource{target, sharedKept} },
			wantLeft: func(tg *fakeTG) []step.Resource {
				return []step.Resource{{Kind: KindTargetGroup, ID: tg.arn}}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "DeleteTargetGroup", "DeleteTargetGroup"},
			wantShared: true,
		},
		{
			name: "half created (no permission, no target, no alias): target group only",
			setup: func(f *fake) *fakeTG {
				return ours(f, testLB, testExec)
			},
			wantDeleted: func(tg *fakeTG) []step.Resource { return []step.Resource{tgDeleted(tg)} },
			wantMut:     []string{"DeleteTargetGroup"},
			wantTGGone:  true,
		},
		{
			name: "in use twice, then deleted",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				f.errs["DeleteTargetGroup"] = []error{inUse(), inUse()}
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource {
				return []step.Resource{target, tgDeleted(tg), sharedDeleted}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "DeleteTargetGroup", "DeleteTargetGroup", "RemovePermission"},
			wantTGGone: true,
		},
		{
			name: "still in use after every attempt: left, and it keeps the shared statement",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				f.errs["DeleteTargetGroup"] = []error{inUse(), inUse(), inUse()}
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource { return []step.Resource{target, sharedKept} },
			wantLeft: func(tg *fakeTG) []step.Resource {
				return []step.Resource{{Kind: KindTargetGroup, ID: tg.arn}}
			},
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "DeleteTargetGroup", "DeleteTargetGroup"},
			wantShared: true,
		},
		{
			name: "unexpected error: left and returned, the rest still done",
			setup: func(f *fake) *fakeTG {
				tg := provisioned(testExec)(f)
				f.errs["RemovePermission"] = []error{errors.New("boom")}
				return tg
			},
			wantDeleted: func(tg *fakeTG) []step.Resource { return []step.Resource{target, tgDeleted(tg)} },
			wantLeft: func(tg *fakeTG) []step.Resource {
				return []step.Resource{{Kind: KindPermission, ID: sharedID}}
			},
			wantErr:    true,
			wantMut:    []string{"DeregisterTargets", "DeleteTargetGroup", "RemovePermission"},
			wantTGGone: true,
			wantShared: true,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			tg := tt.setup(f)
			apiBefore, aliasBefore := f.statement("autostop-api") != nil, f.aliases["live"]
			cfg := Config{DeleteAttempts: 3, DeleteBackoff: time.Millisecond}
			execution := testExec
			if tt.anyExecution {
				execution = ""
			}

			deleted, left, err := DeleteCreatedBy(t.Context(), f.clients(), cfg, testLB, execution)
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
			if got := f.statement(SharedStatementID) != nil; got != tt.wantShared {
				t.Errorf("shared statement present = %v, want %v", got, tt.wantShared)
			}
			if tt.wantShared && f.statement(SharedStatementID) != nil {
				checkShared(t, f)
			}
			if got := f.statement("autostop-web") != nil; got != tt.wantLegacy {
				t.Errorf("legacy statement autostop-web present = %v, want %v", got, tt.wantLegacy)
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
				deleted, left, err := DeleteCreatedBy(t.Context(), f.clients(), cfg, testLB, execution)
				if err != nil || len(deleted) != 0 || len(left) != 0 || len(f.mutating()) != 0 {
					t.Errorf("second call: deleted %v left %v err %v mutating %v", deleted, left, err, f.mutating())
				}
			}
		})
	}
}

// TestAnyProxyTargetGroupReadsTagsInBatches: DescribeTags takes 20 ARNs
// at most, and one target group deleted between the list and the tags
// does not fail the look.
func TestAnyProxyTargetGroupReadsTagsInBatches(t *testing.T) {
	f := newFake()
	for i := range 45 {
		f.addTG(fmt.Sprintf("n%02d-proxy", i), elbtypes.TargetTypeEnumLambda, map[string]string{"owner": "someone"})
	}
	gone := f.addTG("gone-proxy", elbtypes.TargetTypeEnumLambda, ownership.Tags("gone", "exec-9", nil))
	last := ours(f, "zz", "exec-9")
	f.before["DescribeTags"] = func(f *fake) { delete(f.tgs, gone.arn) }

	got, err := anyProxyTargetGroup(t.Context(), f)
	if err != nil || got != last.arn {
		t.Fatalf("anyProxyTargetGroup = %q, %v; want %s", got, err, last.arn)
	}
	for _, c := range f.calls {
		if c != "DescribeTargetGroups" && c != "DescribeTags" {
			t.Errorf("call %s", c)
		}
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

// TestDeleteCreatedByRequiresTheName: the load balancer's name is required,
// with or without an execution (an empty one is the load balancer's
// deletion, not an error).
func TestDeleteCreatedByRequiresTheName(t *testing.T) {
	for _, execution := range []string{testExec, ""} {
		_, _, err := DeleteCreatedBy(t.Context(), newFake().clients(), Config{}, "", execution)
		var invalid *steperr.InvalidRequest
		if !errors.As(err, &invalid) {
			t.Errorf("execution %q, no load balancer name: err = %v, want InvalidRequest", execution, err)
		}
	}
	if _, _, err := DeleteCreatedBy(t.Context(), newFake().clients(), Config{}, testLB, ""); err != nil {
		t.Errorf("no execution (the load balancer's deletion), nothing there: %v", err)
	}
}
