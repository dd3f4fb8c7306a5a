package wake

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/rulestore"
)

func TestStartInstances(t *testing.T) {
	tests := []struct {
		name     string
		ids      []string                 // the rule's instances; i-1 when empty
		item     func(it *rulestore.Item) // changes to testItem
		in       func(in *Input)          // changes to testInput
		setup    func(w *world)
		states   map[string]string // what DescribeInstances answers
		want     StartResult
		wantErr  string   // steperr name
		wantIn   []string // in the error
		wantCode string   // AWS error code kept in the error
		// wantStarted is the StartInstances call, if any.
		wantStarted []string
		// wantWrites to the rules table; nil: RecordWakeExecution only.
		wantWrites []string
		// noEC2: no EC2 client made, no call.
		noEC2 bool
	}{
		{
			name:        "stopped instances started, running and pending left alone",
			ids:         []string{"i-4", "i-1", "i-2", "i-3"},
			states:      map[string]string{"i-1": "stopped", "i-2": "running", "i-3": "pending", "i-4": "stopped"},
			wantStarted: []string{"i-1", "i-4"},
			want: StartResult{Attempt: 1, Started: []string{"i-1", "i-4"},
				Instances: map[string]string{"i-1": "stopped", "i-2": "running", "i-3": "pending", "i-4": "stopped"}},
		},
		{
			name:   "none stopped: no StartInstances",
			ids:    []string{"i-1", "i-2"},
			states: map[string]string{"i-1": "running", "i-2": "pending"},
			want:   StartResult{Attempt: 1, Instances: map[string]string{"i-1": "running", "i-2": "pending"}},
		},
		{
			name:   "only the rule's instances count",
			states: map[string]string{"i-1": "stopped", "i-9": "terminated"},
			want:   StartResult{Attempt: 1, Started: []string{"i-1"}, Instances: map[string]string{"i-1": "stopped"}},
			// i-9 is another workload's: neither started nor a reason to fail.
			wantStarted: []string{"i-1"},
		},
		{
			name:   "one stopping: WaitForStopping, nothing started",
			ids:    []string{"i-1", "i-2"},
			states: map[string]string{"i-1": "stopped", "i-2": "stopping"},
			want:   StartResult{Attempt: 1, WaitForStopping: true, Instances: map[string]string{"i-1": "stopped", "i-2": "stopping"}},
		},
		{
			name:        "IncorrectInstanceState from StartInstances (stopping meanwhile): WaitForStopping",
			states:      map[string]string{"i-1": "stopped"},
			setup:       func(w *world) { w.ec2.startErr = apiErr("IncorrectInstanceState") },
			wantStarted: []string{"i-1"},
			want:        StartResult{Attempt: 1, WaitForStopping: true, Instances: map[string]string{"i-1": "stopped"}},
		},
		{
			name:    "a terminated instance: InvalidRequest naming it, nothing started",
			ids:     []string{"i-1", "i-2"},
			states:  map[string]string{"i-1": "stopped", "i-2": "terminated"},
			wantErr: "InvalidRequest", wantIn: []string{"i-2", "terminated", "app"},
		},
		{
			name:    "a shutting-down instance: InvalidRequest",
			ids:     []string{"i-1", "i-2"},
			states:  map[string]string{"i-1": "stopping", "i-2": "shutting-down"},
			wantErr: "InvalidRequest", wantIn: []string{"i-2", "shutting-down"},
		},
		{
			name:    "an instance not in the answer: InvalidRequest naming it",
			ids:     []string{"i-1", "i-2"},
			states:  map[string]string{"i-1": "stopped"},
			wantErr: "InvalidRequest", wantIn: []string{"i-2 of the rule does not exist"},
		},
		{
			name:    "InvalidInstanceID.NotFound: InvalidRequest",
			setup:   func(w *world) { w.ec2.describeErr = apiErr("InvalidInstanceID.NotFound") },
			wantErr: "InvalidRequest", wantIn: []string{"i-1", "InvalidInstanceID.NotFound"},
		},
		{
			name:    "InvalidInstanceID.Malformed: InvalidRequest",
			setup:   func(w *world) { w.ec2.describeErr = apiErr("InvalidInstanceID.Malformed") },
			wantErr: "InvalidRequest",
		},
		{
			name:    "DescribeInstances failing otherwise: wrapped",
			setup:   func(w *world) { w.ec2.describeErr = apiErr("RequestLimitExceeded") },
			wantErr: "Throttled", wantIn: []string{"describe instances [i-1]"}, wantCode: "RequestLimitExceeded",
		},
		{
			name:        "StartInstances failing otherwise: wrapped",
			states:      map[string]string{"i-1": "stopped"},
			setup:       func(w *world) { w.ec2.startErr = apiErr("InsufficientInstanceCapacity") },
			wantStarted: []string{"i-1"},
			wantErr:     "Internal", wantIn: []string{"start instances [i-1] of rule app"}, wantCode: "InsufficientInstanceCapacity",
		},
		{
			name: "instances on several pages",
			ids:  []string{"i-1", "i-2", "i-3"},
			setup: func(w *world) {
				w.ec2.pageSize = 1
			},
			states:      map[string]string{"i-1": "running", "i-2": "stopped", "i-3": "stopped"},
			wantStarted: []string{"i-2", "i-3"},
			want: StartResult{Attempt: 1, Started: []string{"i-2", "i-3"},
				Instances: map[string]string{"i-1": "running", "i-2": "stopped", "i-3": "stopped"}},
		},
		{
			name:       "superseded: the rule is no longer starting",
			item:       func(it *rulestore.Item) { it.State = rulestore.Running },
			want:       StartResult{Attempt: 1, Superseded: true},
			wantWrites: []string{}, noEC2: true,
		},
		{
			name:       "superseded: the rule is in another wake",
			item:       func(it *rulestore.Item) { it.WakeRequestedAt = newerAt },
			want:       StartResult{Attempt: 1, Superseded: true},
			wantWrites: []string{}, noEC2: true,
		},
		{
			name:       "superseded between the read and the record: nothing started",
			states:     map[string]string{"i-1": "stopped"},
			setup:      func(w *world) { w.rules.supersedeAt = "RecordWakeExecution" },
			want:       StartResult{Attempt: 1, Superseded: true},
			wantWrites: []string{"RecordWakeExecution " + testExecARN}, noEC2: true,
		},
		{
			name:        "a later attempt: counted from the previous result, the execution not recorded again",
			in:          func(in *Input) { in.Start = &StartResult{Attempt: 2, WaitForStopping: true} },
			states:      map[string]string{"i-1": "stopped"},
			wantStarted: []string{"i-1"},
			want:        StartResult{Attempt: 3, Started: []string{"i-1"}, Instances: map[string]string{"i-1": "stopped"}},
			wantWrites:  []string{},
		},
		{
			name:       "a later attempt, superseded: still counted",
			in:         func(in *Input) { in.Start = &StartResult{Attempt: 1, WaitForStopping: true} },
			item:       func(it *rulestore.Item) { it.State = rulestore.Stopped },
			want:       StartResult{Attempt: 2, Superseded: true},
			wantWrites: []string{}, noEC2: true,
		},
		{
			name:        "no execution ARN: nothing recorded",
			in:          func(in *Input) { in.ExecutionARN = "" },
			states:      map[string]string{"i-1": "stopped"},
			wantStarted: []string{"i-1"},
			want:        StartResult{Attempt: 1, Started: []string{"i-1"}, Instances: map[string]string{"i-1": "stopped"}},
			wantWrites:  []string{},
		},
		{
			name:       "recording the execution failing: the error, nothing started",
			setup:      func(w *world) { w.rules.errs["RecordWakeExecution"] = errBoom },
			wantErr:    "Internal",
			wantIn:     []string{"boom"},
			wantWrites: []string{"RecordWakeExecution " + testExecARN}, noEC2: true,
		},
		{
			name:       "the rule unreadable: the error, not superseded",
			setup:      func(w *world) { w.rules.getErr = errBoom },
			wantErr:    "Internal",
			wantIn:     []string{"read rule " + testHost, "boom"},
			wantWrites: []string{}, noEC2: true,
		},
		{
			name:       "a wakeRequestedAt that is not a time: InvalidRequest",
			in:         func(in *Input) { in.WakeRequestedAt = "yesterday" },
			wantErr:    "InvalidRequest",
			wantIn:     []string{`"yesterday"`},
			wantWrites: []string{}, noEC2: true,
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

			got, err := StartInstances(context.Background(), w.deps(), in)

			if name := stepError(err); name != tt.wantErr {
				t.Fatalf("err = %v (%s), want %q", err, name, tt.wantErr)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if tt.wantCode != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
					t.Errorf("error %v does not keep the code %s", err, tt.wantCode)
				}
			}
			// The start time is the clock's when something was started.
			if len(got.Started) > 0 && got.StartedAt != w.clock.now.UTC().Format(time.RFC3339Nano) {
				t.Errorf("StartedAt %q, want the clock's %v", got.StartedAt, w.clock.now)
			}
			got.StartedAt = ""
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("StartInstances = %+v, want %+v", got, tt.want)
			}
			if tt.wantErr != "" && got.Superseded {
				t.Errorf("superseded on error: %+v", got)
			}

			var wantStarted [][]string
			if tt.wantStarted != nil {
				wantStarted = [][]string{tt.wantStarted}
			}
			if !reflect.DeepEqual(w.ec2.started, wantStarted) {
				t.Errorf("StartInstances calls %v, want %v", w.ec2.started, wantStarted)
			}
			wantWrites := tt.wantWrites
			if wantWrites == nil {
				wantWrites = []string{"RecordWakeExecution " + testExecARN}
			}
			if !slices.Equal(w.rules.writes, wantWrites) {
				t.Errorf("rule writes %q, want %q", w.rules.writes, wantWrites)
			}
			for _, at := range w.rules.ats {
				if !at.Equal(wakeAt) {
					t.Errorf("a write for the wake at %v, want %v", at, wakeAt)
				}
			}
			if w.rules.eventualGets != 0 {
				t.Errorf("%d eventually consistent reads of the rule", w.rules.eventualGets)
			}
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

// TestStartInstancesRecordsTheExecution: the first attempt leaves the
// execution's ARN on the rule, for its audit trail.
func TestStartInstancesRecordsTheExecution(t *testing.T) {
	w := newWorld(testItem("i-1"))
	w.ec2.seq = []map[string]string{{"i-1": "stopped"}}
	if _, err := StartInstances(context.Background(), w.deps(), testInput()); err != nil {
		t.Fatal(err)
	}
	if got := w.rules.item.WakeExecution; got != testExecARN {
		t.Errorf("wakeExecution %q, want %q", got, testExecARN)
	}
}

// TestNewDeps: the EC2 and ELBv2 clients are made for the region asked for
// (the rule's), whatever the function's.
func TestNewDeps(t *testing.T) {
	d := NewDeps(aws.Config{Region: "us-east-1"}, rulestore.New(nil, "autostop-rules"))
	if d.Rules == nil || d.Now != nil || d.Sleep != nil {
		t.Fatalf("NewDeps = %+v", d)
	}
	ec2Client, ok := d.EC2(testRegion).(*ec2.Client)
	if !ok {
		t.Fatalf("EC2 client %T, want *ec2.Client", d.EC2(testRegion))
	}
	elbClient, ok := d.ELBv2(testRegion).(*elbv2.Client)
	if !ok {
		t.Fatalf("ELBv2 client %T, want *elasticloadbalancingv2.Client", d.ELBv2(testRegion))
	}
	if r1, r2 := ec2Client.Options().Region, elbClient.Options().Region; r1 != testRegion || r2 != testRegion {
		t.Errorf("clients for %s and %s, want %s", r1, r2, testRegion)
	}
}
