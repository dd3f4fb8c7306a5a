package sleep

import (
	"context"
	"slices"
	"testing"

	"github.com/autostop/autostop/shared/rulestore"
)

func TestRemoveHostRule(t *testing.T) {
	record := "RecordSleepExecution " + testExecARN
	tests := []struct {
		name     string
		item     func(it *rulestore.Item)
		in       func(in *Input)
		setup    func(w *world)
		want     HostRuleResult
		wantErr  string
		wantIn   []string
		wantCode string
		// wantWrites to the rules table; nil: none.
		wantWrites []string
		// wantDeleteCalls: DeleteRule calls (of testRuleARN).
		wantDeleteCalls int
		// wantRuleARN: the item's listenerRuleArn afterwards.
		wantRuleARN string
		// wantListenerRule: the host rule still on the listener.
		wantListenerRule bool
	}{
		{
			name:            "the host rule deleted, recorded gone",
			want:            HostRuleResult{DeletedListenerRule: testRuleARN},
			wantWrites:      []string{record, "ClearHostRule"},
			wantDeleteCalls: 1,
		},
		{
			name:            "the host rule gone already (deleted outside, or by an earlier try): recorded gone",
			setup:           func(w *world) { delete(w.elb.rules, testRuleARN) },
			want:            HostRuleResult{ListenerRuleAlreadyGone: testRuleARN},
			wantWrites:      []string{record, "ClearHostRule"},
			wantDeleteCalls: 1,
		},
		{
			name:             "no host rule recorded: nothing to delete",
			item:             func(it *rulestore.Item) { it.ListenerRuleARN = "" },
			want:             HostRuleResult{NoListenerRule: true},
			wantWrites:       []string{record},
			wantListenerRule: true, // not the rule's: left alone
		},
		{
			name:    "DeleteRule throttled: Throttled, wrapped, the host rule still recorded",
			setup:   func(w *world) { w.elb.deleteErr = apiErr("Throttling") },
			wantErr: "Throttled", wantIn: []string{"delete host rule " + testRuleARN + " of rule app"}, wantCode: "Throttling",
			wantWrites: []string{record}, wantDeleteCalls: 1,
			wantRuleARN: testRuleARN, wantListenerRule: true,
		},
		{
			name:    "DeleteRule denied: AccessDenied",
			setup:   func(w *world) { w.elb.deleteErr = apiErr("AccessDenied") },
			wantErr: "AccessDenied", wantIn: []string{testRuleARN}, wantCode: "AccessDenied",
			wantWrites: []string{record}, wantDeleteCalls: 1,
			wantRuleARN: testRuleARN, wantListenerRule: true,
		},
		{
			name:    "recording the host rule gone failing: the error, with what was deleted",
			setup:   func(w *world) { w.rules.errs["ClearHostRule"] = errBoom },
			wantErr: "Internal", wantIn: []string{"record host rule " + testRuleARN + " of rule app deleted", "boom"},
			wantWrites: []string{record, "ClearHostRule"}, wantDeleteCalls: 1,
			wantRuleARN: testRuleARN,
		},
		{
			name:        "superseded: the rule is running again",
			item:        func(it *rulestore.Item) { it.State = rulestore.Running },
			want:        HostRuleResult{Superseded: true},
			wantRuleARN: testRuleARN, wantListenerRule: true,
		},
		{
			name:        "superseded: the rule is in another sleep",
			item:        func(it *rulestore.Item) { it.SleepRequestedAt = newerAt },
			want:        HostRuleResult{Superseded: true},
			wantRuleARN: testRuleARN, wantListenerRule: true,
		},
		{
			name:        "superseded: the rule is being detached",
			item:        func(it *rulestore.Item) { it.State = rulestore.Detaching },
			want:        HostRuleResult{Superseded: true},
			wantRuleARN: testRuleARN, wantListenerRule: true,
		},
		{
			name:        "superseded between the read and the record: nothing deleted",
			setup:       func(w *world) { w.rules.supersedeAt = "RecordSleepExecution" },
			want:        HostRuleResult{Superseded: true},
			wantWrites:  []string{record},
			wantRuleARN: testRuleARN, wantListenerRule: true,
		},
		{
			name:            "superseded between the delete and its record: Superseded, the deletion reported",
			setup:           func(w *world) { w.rules.supersedeAt = "ClearHostRule" },
			want:            HostRuleResult{Superseded: true, DeletedListenerRule: testRuleARN},
			wantWrites:      []string{record, "ClearHostRule"},
			wantDeleteCalls: 1,
			wantRuleARN:     testRuleARN,
		},
		{
			name:            "no execution ARN: not recorded",
			in:              func(in *Input) { in.ExecutionARN = "" },
			want:            HostRuleResult{DeletedListenerRule: testRuleARN},
			wantWrites:      []string{"ClearHostRule"},
			wantDeleteCalls: 1,
		},
		{
			name:            "sleepRequestedAt in another zone and precision: the same sleep",
			in:              func(in *Input) { in.SleepRequestedAt = "2026-11-29T21:11:07.123000+01:00" },
			want:            HostRuleResult{DeletedListenerRule: testRuleARN},
			wantWrites:      []string{record, "ClearHostRule"},
			wantDeleteCalls: 1,
		},
		{
			name:    "recording the execution failing: the error, nothing deleted",
			setup:   func(w *world) { w.rules.errs["RecordSleepExecution"] = errBoom },
			wantErr: "Internal", wantIn: []string{"boom"},
			wantWrites:  []string{record},
			wantRuleARN: testRuleARN, wantListenerRule: true,
		},
		{
			name:    "the rule unreadable: the error, not superseded",
			setup:   func(w *world) { w.rules.getErr = errBoom },
			wantErr: "Internal", wantIn: []string{"read rule " + testHost, "boom"},
			wantRuleARN: testRuleARN, wantListenerRule: true,
		},
		{
			name:    "a sleepRequestedAt that is not a time: InvalidRequest",
			in:      func(in *Input) { in.SleepRequestedAt = "an hour ago" },
			wantErr: "InvalidRequest", wantIn: []string{`"an hour ago"`},
			wantRuleARN: testRuleARN, wantListenerRule: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := testItem("i-1")
			if tt.item != nil {
				tt.item(&it)
			}
			w := newWorld(it)
			if tt.setup != nil {
				tt.setup(w)
			}
			in := testInput()
			if tt.in != nil {
				tt.in(&in)
			}

			got, err := RemoveHostRule(context.Background(), w.deps(), in)

			checkErr(t, err, tt.wantErr, tt.wantIn, tt.wantCode)
			if tt.wantErr == "" && got != tt.want {
				t.Errorf("RemoveHostRule = %+v, want %+v", got, tt.want)
			}
			w.rules.check(t, tt.wantWrites)
			if n := len(w.elb.calls); n != tt.wantDeleteCalls {
				t.Errorf("%d DeleteRule calls, want %d", n, tt.wantDeleteCalls)
			}
			if tt.wantDeleteCalls > 0 && !slices.Equal(w.regions, []string{"elbv2 " + testRegion}) {
				t.Errorf("clients made for %v, want ELBv2 in the load balancer's region %s", w.regions, testRegion)
			}
			if tt.wantDeleteCalls == 0 && len(w.regions) != 0 {
				t.Errorf("clients made: %v, want none", w.regions)
			}
			if got := w.rules.item.ListenerRuleARN; got != tt.wantRuleARN {
				t.Errorf("listenerRuleArn %q afterwards, want %q", got, tt.wantRuleARN)
			}
			if got := w.elb.rules[testRuleARN]; got != tt.wantListenerRule {
				t.Errorf("host rule on the listener: %v, want %v", got, tt.wantListenerRule)
			}
		})
	}
}

// TestRemoveHostRuleRecordsTheExecution: the execution's ARN is left on the
// rule, for its audit trail.
func TestRemoveHostRuleRecordsTheExecution(t *testing.T) {
	w := newWorld(testItem("i-1"))
	if _, err := RemoveHostRule(context.Background(), w.deps(), testInput()); err != nil {
		t.Fatal(err)
	}
	if got := w.rules.item.SleepExecution; got != testExecARN {
		t.Errorf("sleepExecution %q, want %q", got, testExecARN)
	}
}
