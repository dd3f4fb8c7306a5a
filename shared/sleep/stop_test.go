package sleep

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/autostop/autostop/shared/rulestore"
)

func TestStopInstances(t *testing.T) {
	tests := []struct {
		name     string
		ids      []string                 // the rule's instances; i-1 when empty
		item     func(it *rulestore.Item) // changes to testItem
		in       func(in *Input)          // changes to testInput
		setup    func(w *world)
		states   map[string]string // what DescribeInstances answers
		want     StopResult
		wantErr  string   // steperr name
		wantIn   []string // in the error
		wantCode string   // AWS error code kept in the error
		// wantStopped is the StopInstances call, if any.
		wantStopped []string
		// noEC2: no EC2 client made, no call.
		noEC2 bool
	}{
		{
			name:        "running instances stopped, stopped and stopping left alone",
			ids:         []string{"i-4", "i-1", "i-2", "i-3"},
			states:      map[string]string{"i-1": "running", "i-2": "stopped", "i-3": "stopping", "i-4": "running"},
			wantStopped: []string{"i-1", "i-4"},
			want: StopResult{Attempt: 1, Stopped: []string{"i-1", "i-4"}, AlreadyStopped: []string{"i-2", "i-3"},
				Instances: map[string]string{"i-1": "running", "i-2": "stopped", "i-3": "stopping", "i-4": "running"}},
		},
		{
			name:   "none running (stopped outside): no StopInstances",
			ids:    []string{"i-1", "i-2"},
			states: map[string]string{"i-1": "stopped", "i-2": "stopping"},
			want: StopResult{Attempt: 1, AlreadyStopped: []string{"i-1", "i-2"},
				Instances: map[string]string{"i-1": "stopped", "i-2": "stopping"}},
		},
		{
			name:        "only the rule's instances count",
			states:      map[string]string{"i-1": "running", "i-9": "running"},
			wantStopped: []string{"i-1"},
			// i-9 is another workload's: never stopped.
			want: StopResult{Attempt: 1, Stopped: []string{"i-1"}, Instances: map[string]string{"i-1": "running"}},
		},
		{
			name:   "one pending: WaitForPending, nothing stopped",
			ids:    []string{"i-1", "i-2", "i-3"},
			states: map[string]string{"i-1": "running", "i-2": "pending", "i-3": "stopped"},
			want: StopResult{Attempt: 1, WaitForPending: true, Pending: []string{"i-2"}, AlreadyStopped: []string{"i-3"},
				Instances: map[string]string{"i-1": "running", "i-2": "pending", "i-3": "stopped"}},
		},
		{
			name:   "terminated, shutting down and missing instances: reported, the others stopped",
			ids:    []string{"i-1", "i-2", "i-3", "i-4"},
			states: map[string]string{"i-1": "running", "i-2": "terminated", "i-3": "shutting-down"},
			want: StopResult{Attempt: 1, Stopped: []string{"i-1"}, Terminated: []string{"i-2", "i-3", "i-4"},
				Instances: map[string]string{"i-1": "running", "i-2": "terminated", "i-3": "shutting-down", "i-4": StateMissing}},
			wantStopped: []string{"i-1"},
		},
		{
			name:   "every instance gone: nothing to stop",
			ids:    []string{"i-1", "i-2"},
			states: map[string]string{"i-2": "terminated"},
			want: StopResult{Attempt: 1, Terminated: []string{"i-1", "i-2"},
				Instances: map[string]string{"i-1": StateMissing, "i-2": "terminated"}},
		},
		{
			name:        "IncorrectInstanceState from StopInstances (pending meanwhile): WaitForPending",
			states:      map[string]string{"i-1": "running"},
			setup:       func(w *world) { w.ec2.stopErr = apiErr("IncorrectInstanceState") },
			wantStopped: []string{"i-1"},
			want:        StopResult{Attempt: 1, WaitForPending: true, Instances: map[string]string{"i-1": "running"}},
		},
		{
			name:        "StopInstances denied (an instance without the autostop:rule tag): AccessDenied, wrapped",
			states:      map[string]string{"i-1": "running"},
			setup:       func(w *world) { w.ec2.stopErr = apiErr("UnauthorizedOperation") },
			wantStopped: []string{"i-1"},
			wantErr:     "AccessDenied", wantIn: []string{"stop instances [i-1] of rule app"}, wantCode: "UnauthorizedOperation",
		},
		{
			name:        "StopInstances failing otherwise: Internal, wrapped",
			states:      map[string]string{"i-1": "running"},
			setup:       func(w *world) { w.ec2.stopErr = apiErr("UnsupportedOperation") },
			wantStopped: []string{"i-1"},
			wantErr:     "Internal", wantIn: []string{"stop instances [i-1] of rule app"}, wantCode: "UnsupportedOperation",
		},
		{
			name:    "DescribeInstances throttled: Throttled, wrapped",
			setup:   func(w *world) { w.ec2.describeErr = apiErr("RequestLimitExceeded") },
			wantErr: "Throttled", wantIn: []string{"describe instances [i-1]"}, wantCode: "RequestLimitExceeded",
		},
		{
			name:        "instances on several pages",
			ids:         []string{"i-1", "i-2", "i-3"},
			setup:       func(w *world) { w.ec2.pageSize = 1 },
			states:      map[string]string{"i-1": "stopped", "i-2": "running", "i-3": "running"},
			wantStopped: []string{"i-2", "i-3"},
			want: StopResult{Attempt: 1, Stopped: []string{"i-2", "i-3"}, AlreadyStopped: []string{"i-1"},
				Instances: map[string]string{"i-1": "stopped", "i-2": "running", "i-3": "running"}},
		},
		{
			name:        "a later attempt: counted from the previous result",
			in:          func(in *Input) { in.Stop = &StopResult{Attempt: 2, WaitForPending: true} },
			states:      map[string]string{"i-1": "running"},
			wantStopped: []string{"i-1"},
			want:        StopResult{Attempt: 3, Stopped: []string{"i-1"}, Instances: map[string]string{"i-1": "running"}},
		},
		{
			name:  "a later attempt, superseded: still counted",
			in:    func(in *Input) { in.Stop = &StopResult{Attempt: 1, WaitForPending: true} },
			item:  func(it *rulestore.Item) { it.State = rulestore.Detaching },
			want:  StopResult{Attempt: 2, Superseded: true},
			noEC2: true,
		},
		{
			name:  "superseded: the rule is no longer stopping",
			item:  func(it *rulestore.Item) { it.State = rulestore.Starting },
			want:  StopResult{Attempt: 1, Superseded: true},
			noEC2: true,
		},
		{
			name:  "superseded: the rule is in another sleep",
			item:  func(it *rulestore.Item) { it.SleepRequestedAt = newerAt },
			want:  StopResult{Attempt: 1, Superseded: true},
			noEC2: true,
		},
		{
			name:    "the rule unreadable: the error, not superseded",
			setup:   func(w *world) { w.rules.getErr = errBoom },
			wantErr: "Internal", wantIn: []string{"read rule " + testHost, "boom"},
			noEC2: true,
		},
		{
			name:    "a sleepRequestedAt that is not a time: InvalidRequest",
			in:      func(in *Input) { in.SleepRequestedAt = "" },
			wantErr: "InvalidRequest",
			noEC2:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids := tt.ids
			if ids == nil {
				ids = []string{"i-1"}
			}
			it := testItem(ids...)
			if tt.item != nil {
				tt.item(&it)
			}
			w := newWorld(it)
			w.ec2.seq = []map[string]string{tt.states}
			if tt.setup != nil {
				tt.setup(w)
			}
			in := testInput()
			if tt.in != nil {
				tt.in(&in)
			}

			got, err := StopInstances(context.Background(), w.deps(), in)

			checkErr(t, err, tt.wantErr, tt.wantIn, tt.wantCode)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("StopInstances = %+v,\n want %+v", got, tt.want)
			}
			if tt.wantErr != "" && got.Superseded {
				t.Errorf("superseded on error: %+v", got)
			}

			var wantStopped [][]string
			if tt.wantStopped != nil {
				wantStopped = [][]string{tt.wantStopped}
			}
			if !reflect.DeepEqual(w.ec2.stopped, wantStopped) {
				t.Errorf("StopInstances calls %v, want %v", w.ec2.stopped, wantStopped)
			}
			// The instances are described by filter: an ID EC2 no longer
			// knows must not fail the call.
			for _, d := range w.ec2.describes {
				if len(d.InstanceIds) != 0 || len(d.Filters) != 1 || aws.ToString(d.Filters[0].Name) != "instance-id" ||
					!slices.Equal(d.Filters[0].Values, ids) {
					t.Errorf("DescribeInstances(InstanceIds %v, Filters %+v), want only the filter instance-id=%v", d.InstanceIds, d.Filters, ids)
				}
			}
			w.rules.check(t, nil)
			if tt.noEC2 {
				if len(w.regions) != 0 || len(w.ec2.calls) != 0 {
					t.Errorf("clients %v made, EC2 calls %v; want none", w.regions, w.ec2.calls)
				}
			} else if !slices.Equal(w.regions, []string{"ec2 " + testRegion}) {
				t.Errorf("clients made for %v, want EC2 in the load balancer's region %s", w.regions, testRegion)
			}
		})
	}
}
