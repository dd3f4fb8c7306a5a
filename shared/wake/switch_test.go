package wake

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/hostrule"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rulestore"
)

func TestSwitchTraffic(t *testing.T) {
	ours := ownership.Tags(testLB, "wake-app-0", testTags)
	ours[ownership.RuleKey] = testHost
	readyAt := wakeAt.Add(10 * time.Second).Format(rulestore.TimeFormat) // the fake clock's
	switching := "SetPhase " + string(rulestore.PhaseSwitching)
	priority := hostrule.Priority(testHost)

	tests := []struct {
		name    string
		ids     []string
		item    func(it *rulestore.Item)
		in      func(in *Input)
		setup   func(w *world)
		health  health
		want    SwitchResult // compared when no error is wanted
		wantErr string
		wantIn  string
		// wantWrites to the rules table; nil: none.
		wantWrites []string
		// wantCreated: a CreateRule call.
		wantCreated bool
		// wantState of the rule afterwards.
		wantState rulestore.State
		// wantNoRule: no host rule on the listener afterwards.
		wantNoRule bool
		superseded bool // no client made
	}{
		{
			name:      "a target not healthy: NotHealthy, no host rule, nothing recorded",
			ids:       twoInstances,
			health:    health{"i-1": healthy(), "i-2": target(elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthReasonEnumTimeout)},
			want:      SwitchResult{NotHealthy: true, Targets: map[string]string{"i-1": "healthy", "i-2": "unhealthy (Target.Timeout)"}},
			wantState: rulestore.Starting,
		},
		{
			name:      "a target deregistered meanwhile: NotHealthy",
			health:    health{},
			want:      SwitchResult{NotHealthy: true, Targets: map[string]string{"i-1": "unused (Target.NotRegistered)"}},
			wantState: rulestore.Starting,
		},
		{
			name:   "healthy: phase switching, host rule created, the rule running",
			ids:    twoInstances,
			health: health{"i-1": healthy(), "i-2": healthy()},
			want: SwitchResult{Targets: map[string]string{"i-1": "healthy", "i-2": "healthy"},
				HostRule: &hostrule.Result{ARN: ruleARN(1), Priority: priority, Created: true}, ReadyAt: readyAt},
			wantWrites:  []string{switching, "FinishWake " + ruleARN(1)},
			wantCreated: true,
			wantState:   rulestore.Running,
		},
		{
			name:   "the host rule there already (a retried switch): reused",
			setup:  func(w *world) { w.elb.addRule(testHost, 9, ours) },
			health: health{"i-1": healthy()},
			want: SwitchResult{Targets: map[string]string{"i-1": "healthy"},
				HostRule: &hostrule.Result{ARN: ruleARN(1), Priority: 9}, ReadyAt: readyAt},
			wantWrites: []string{switching, "FinishWake " + ruleARN(1)},
			wantState:  rulestore.Running,
		},
		{
			name:        "superseded when finishing: Superseded, the host rule it created taken back",
			setup:       func(w *world) { w.rules.supersedeAt = "FinishWake" },
			health:      health{"i-1": healthy()},
			want:        SwitchResult{Superseded: true, Targets: map[string]string{"i-1": "healthy"}},
			wantWrites:  []string{switching, "FinishWake " + ruleARN(1)},
			wantCreated: true,
			wantState:   rulestore.Starting,
			wantNoRule:  true,
		},
		{
			name:       "superseded when recording the phase: no host rule",
			setup:      func(w *world) { w.rules.supersedeAt = "SetPhase" },
			health:     health{"i-1": healthy()},
			want:       SwitchResult{Superseded: true, Targets: map[string]string{"i-1": "healthy"}},
			wantWrites: []string{switching},
			wantState:  rulestore.Starting,
		},
		{
			name:       "superseded: the rule is no longer starting",
			item:       func(it *rulestore.Item) { it.State = rulestore.Stopping },
			want:       SwitchResult{Superseded: true},
			wantState:  rulestore.Stopping,
			superseded: true,
		},
		{
			name:       "superseded: the rule is in another wake",
			item:       func(it *rulestore.Item) { it.WakeRequestedAt = newerAt },
			want:       SwitchResult{Superseded: true},
			wantState:  rulestore.Starting,
			superseded: true,
		},
		{
			name:       "a rule for the host that is not autostop's: Conflict, the rule not running",
			setup:      func(w *world) { w.elb.addRule(testHost, 9, map[string]string{"team": "a"}) },
			health:     health{"i-1": healthy()},
			wantErr:    "Conflict",
			wantIn:     ruleARN(1),
			wantWrites: []string{switching},
			wantState:  rulestore.Starting,
		},
		{
			name:      "target group gone: NotFound",
			item:      func(it *rulestore.Item) { it.TargetGroupARN = testTG + "-gone" },
			wantErr:   "NotFound",
			wantIn:    testTG + "-gone",
			wantState: rulestore.Starting,
		},
		{
			name:       "listener gone: NotFound",
			item:       func(it *rulestore.Item) { it.ListenerARN = testListener + "-gone" },
			health:     health{"i-1": healthy()},
			wantErr:    "NotFound",
			wantIn:     testListener + "-gone",
			wantWrites: []string{switching},
			wantState:  rulestore.Starting,
		},
		{
			name:        "finishing failing: the error",
			setup:       func(w *world) { w.rules.errs["FinishWake"] = errBoom },
			health:      health{"i-1": healthy()},
			wantErr:     "Internal",
			wantIn:      "boom",
			wantWrites:  []string{switching, "FinishWake " + ruleARN(1)},
			wantCreated: true,
			wantState:   rulestore.Starting,
		},
		{
			name:       "recording the phase failing: the error, no host rule",
			setup:      func(w *world) { w.rules.errs["SetPhase"] = errBoom },
			health:     health{"i-1": healthy()},
			wantErr:    "Internal",
			wantIn:     "boom",
			wantWrites: []string{switching},
			wantState:  rulestore.Starting,
		},
		{
			name:       "a wakeRequestedAt that is not a time: InvalidRequest",
			in:         func(in *Input) { in.WakeRequestedAt = "2026-11-29 20:11" },
			wantErr:    "InvalidRequest",
			wantState:  rulestore.Starting,
			superseded: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := tt.ids
			if ids == nil {
				ids = []string{"i-1"}
			}
			it := testItem(ids...)
			it.Phase = rulestore.PhaseHealthCheck
			if tt.item != nil {
				tt.item(&it)
			}
			w := newWorld(it)
			w.elb.health = []health{tt.health}
			if tt.setup != nil {
				tt.setup(w)
			}
			in := testInput()
			if tt.in != nil {
				tt.in(&in)
			}

			got, err := SwitchTraffic(context.Background(), w.deps(), in)

			if name := stepError(err); name != tt.wantErr || err != nil && !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("err = %v (%s), want %q naming %q", err, name, tt.wantErr, tt.wantIn)
			}
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SwitchTraffic = %+v,\n want %+v", got, tt.want)
				if got.HostRule != nil && tt.want.HostRule != nil {
					t.Errorf("host rule %+v, want %+v", *got.HostRule, *tt.want.HostRule)
				}
			}
			if !slices.Equal(w.rules.writes, tt.wantWrites) {
				t.Errorf("rule writes %q, want %q", w.rules.writes, tt.wantWrites)
			}
			for _, at := range w.rules.ats {
				if !at.Equal(wakeAt) {
					t.Errorf("a write for the wake at %v, want %v", at, wakeAt)
				}
			}
			if tt.wantNoRule && len(w.elb.rules) != 0 {
				t.Errorf("host rules left: %v", w.elb.rules)
			}
			if w.rules.item.State != tt.wantState {
				t.Errorf("rule %s, want %s", w.rules.item.State, tt.wantState)
			}
			if tt.wantState == rulestore.Running {
				if w.rules.item.ListenerRuleARN != got.HostRule.ARN || w.rules.item.ReadyAt.Format(rulestore.TimeFormat) != got.ReadyAt {
					t.Errorf("rule running behind %s since %v, want %s since %s",
						w.rules.item.ListenerRuleARN, w.rules.item.ReadyAt, got.HostRule.ARN, got.ReadyAt)
				}
			}
			if w.rules.eventualGets != 0 {
				t.Errorf("%d eventually consistent reads of the rule", w.rules.eventualGets)
			}
			for _, asked := range w.elb.asked {
				if !slices.Equal(asked, ids) {
					t.Errorf("target health asked for %v, want the rule's instances %v", asked, ids)
				}
			}

			if !tt.wantCreated {
				if len(w.elb.creates) != 0 {
					t.Errorf("%d host rules created, want none", len(w.elb.creates))
				}
			} else if len(w.elb.creates) != 1 {
				t.Errorf("%d host rules created, want 1", len(w.elb.creates))
			} else {
				c := w.elb.creates[0]
				wantTags := ownership.Tags(testLB, testExec, testTags)
				wantTags[ownership.RuleKey] = testHost
				gotTags := map[string]string{}
				for _, tag := range c.Tags {
					gotTags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
				}
				if !maps.Equal(gotTags, wantTags) {
					t.Errorf("host rule tags %v, want %v", gotTags, wantTags)
				}
				if aws.ToString(c.ListenerArn) != testListener || len(c.Actions) != 1 || aws.ToString(c.Actions[0].TargetGroupArn) != testTG ||
					!slices.Equal(c.Conditions[0].HostHeaderConfig.Values, []string{testHost}) {
					t.Errorf("host rule on %s, %+v, %+v; want %s → %s on %s",
						aws.ToString(c.ListenerArn), c.Conditions, c.Actions, testHost, testTG, testListener)
				}
			}

			if tt.superseded {
				if len(w.regions) != 0 || len(w.elb.calls) != 0 {
					t.Errorf("clients %v made, calls %v, for a superseded wake", w.regions, w.elb.calls)
				}
			} else if !slices.Equal(w.regions, []string{"elbv2 " + testRegion}) {
				t.Errorf("clients made for %v, want ELBv2 in the load balancer's region %s", w.regions, testRegion)
			}
		})
	}
}
