package rollback

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/autostop/autostop/shared/proxytarget"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func deleter(name string, deleted, left []step.Resource, err error, calls *[]string) Deleter {
	return Deleter{Name: name, Delete: func(context.Context, step.Input) ([]step.Resource, []step.Resource, error) {
		*calls = append(*calls, name)
		return deleted, left, err
	}}
}

func TestRun(t *testing.T) {
	tg := step.Resource{Kind: "target-group", ID: "arn:tg", Action: step.Deleted}
	lb := step.Resource{Kind: "load-balancer", ID: "arn:lb", Action: step.Deleted}
	stuck := step.Resource{Kind: "certificate", ID: "arn:cert"}
	in := step.Input{Execution: "exec-1", Error: &step.Error{Error: "Conflict", Cause: "record exists"}}

	tests := []struct {
		name        string
		build       func(calls *[]string) []Deleter
		wantCalls   string
		wantDeleted int
		wantLeft    int
		wantErr     []string
	}{
		{
			name: "everything deleted",
			build: func(c *[]string) []Deleter {
				return []Deleter{deleter("dns", nil, nil, nil, c), deleter("lb", []step.Resource{lb}, nil, nil, c), deleter("tg", []step.Resource{tg}, nil, nil, c)}
			},
			wantCalls: "dns,lb,tg", wantDeleted: 2,
		},
		{
			name: "a failure does not stop later deleters",
			build: func(c *[]string) []Deleter {
				return []Deleter{deleter("lb", nil, nil, errors.New("boom"), c), deleter("tg", []step.Resource{tg}, nil, nil, c)}
			},
			wantCalls: "lb,tg", wantDeleted: 1, wantErr: []string{"failed lb: boom", "original error Conflict: record exists"},
		},
		{
			name: "leftovers are reported",
			build: func(c *[]string) []Deleter {
				return []Deleter{deleter("cert", nil, []step.Resource{stuck}, nil, c)}
			},
			wantCalls: "cert", wantLeft: 1, wantErr: []string{"left certificate arn:cert"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			res, err := Run(context.Background(), in, tt.build(&calls))
			if got := strings.Join(calls, ","); got != tt.wantCalls {
				t.Errorf("calls = %s, want %s", got, tt.wantCalls)
			}
			if len(res.Deleted) != tt.wantDeleted || len(res.Left) != tt.wantLeft {
				t.Errorf("deleted %d left %d, want %d and %d", len(res.Deleted), len(res.Left), tt.wantDeleted, tt.wantLeft)
			}
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var ri *steperr.RollbackIncomplete
			if !errors.As(err, &ri) {
				t.Fatalf("err = %v, want RollbackIncomplete", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestRunWaits: what AWS still holds makes the pass "waiting" (the state
// machine waits and calls again), keeps what earlier passes deleted, and
// turns into RollbackIncomplete at the bound or beside a real failure.
func TestRunWaits(t *testing.T) {
	lb := step.Resource{Kind: "load-balancer", ID: "arn:lb", Action: step.Deleted}
	sg := step.Resource{Kind: "security-group", ID: "sg-1", Action: step.Created}
	cert := step.Resource{Kind: "certificate", ID: "arn:cert", Action: step.Created}
	busy := func(r step.Resource) error { return steperr.InUse(r.Kind, r.ID, "delete %s: still in use", r.ID) }
	timing := step.Timing{RollbackWaitSeconds: 30, RollbackMaxAttempts: 3}

	tests := []struct {
		name         string
		prev         *step.RollbackResult
		deleters     []Deleter
		wantState    string
		wantAttempts int
		wantDeleted  []string
		wantWaiting  []string
		wantLeft     []string
		wantErr      string
	}{
		{
			name: "first pass: the group waits",
			deleters: []Deleter{
				{Name: "load balancer", Delete: func(context.Context, step.Input) ([]step.Resource, []step.Resource, error) {
					return []step.Resource{lb}, []step.Resource{sg}, busy(sg)
				}},
			},
			wantState: step.RollbackWaiting, wantAttempts: 1, wantDeleted: []string{"arn:lb"}, wantWaiting: []string{"sg-1"},
		},
		{
			name: "second pass: the group goes, earlier deletes kept",
			prev: &step.RollbackResult{Deleted: []step.Resource{lb}, Waiting: []step.Resource{sg}, State: step.RollbackWaiting, Attempts: 1},
			deleters: []Deleter{
				{Name: "load balancer", Delete: func(context.Context, step.Input) ([]step.Resource, []step.Resource, error) {
					return []step.Resource{{Kind: sg.Kind, ID: sg.ID, Action: step.Deleted}}, nil, nil
				}},
			},
			wantState: step.RollbackDone, wantAttempts: 2, wantDeleted: []string{"arn:lb", "sg-1"},
		},
		{
			name: "two deleters wait at once",
			deleters: []Deleter{
				{Name: "load balancer", Delete: func(context.Context, step.Input) ([]step.Resource, []step.Resource, error) {
					return nil, []step.Resource{sg}, busy(sg)
				}},
				{Name: "certificate", Delete: func(context.Context, step.Input) ([]step.Resource, []step.Resource, error) {
					return nil, []step.Resource{cert}, errors.Join(busy(cert))
				}},
			},
			wantState: step.RollbackWaiting, wantAttempts: 1, wantWaiting: []string{"sg-1", "arn:cert"},
		},
		{
			name: "last pass still waiting: incomplete, the group left",
			prev: &step.RollbackResult{Deleted: []step.Resource{lb}, State: step.RollbackWaiting, Attempts: 2},
			deleters: []Deleter{
				{Name: "load balancer", Delete: func(context.Context, step.Input) ([]step.Resource, []step.Resource, error) {
					return nil, []step.Resource{sg}, busy(sg)
				}},
			},
			wantState: step.RollbackDone, wantAttempts: 3, wantDeleted: []string{"arn:lb"}, wantLeft: []string{"sg-1"},
			wantErr: "after 3 passes; left security-group sg-1",
		},
		{
			name: "a real failure beside a wait: incomplete at once",
			deleters: []Deleter{
				{Name: "load balancer", Delete: func(context.Context, step.Input) ([]step.Resource, []step.Resource, error) {
					return nil, []step.Resource{sg}, busy(sg)
				}},
				{Name: "certificate", Delete: func(context.Context, step.Input) ([]step.Resource, []step.Resource, error) {
					return nil, []step.Resource{cert}, errors.New("access denied")
				}},
			},
			wantState: step.RollbackDone, wantAttempts: 1, wantLeft: []string{"arn:cert", "sg-1"},
			wantErr: "failed certificate: access denied",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := step.Input{Execution: "exec-1", Timing: timing, Rollback: tt.prev, Error: &step.Error{Error: "Internal", Cause: "boom"}}
			res, err := Run(context.Background(), in, tt.deleters)
			ids := func(rs []step.Resource) []string {
				var out []string
				for _, r := range rs {
					out = append(out, r.ID)
				}
				return out
			}
			if res.State != tt.wantState || res.Attempts != tt.wantAttempts {
				t.Errorf("state %q attempts %d, want %q and %d", res.State, res.Attempts, tt.wantState, tt.wantAttempts)
			}
			if got := strings.Join(ids(res.Deleted), ","); got != strings.Join(tt.wantDeleted, ",") {
				t.Errorf("deleted %s, want %v", got, tt.wantDeleted)
			}
			if got := strings.Join(ids(res.Waiting), ","); got != strings.Join(tt.wantWaiting, ",") {
				t.Errorf("waiting %s, want %v", got, tt.wantWaiting)
			}
			if got := strings.Join(ids(res.Left), ","); got != strings.Join(tt.wantLeft, ",") {
				t.Errorf("left %s, want %v", got, tt.wantLeft)
			}
			var ri *steperr.RollbackIncomplete
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != "" && (!errors.As(err, &ri) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want RollbackIncomplete with %q", err, tt.wantErr)
			}
		})
	}
}

// TestRunRefusesAnEmptyExecution: to the deleters an empty execution is the
// whole load balancer (the DeleteLoadBalancer workflow), so a rollback
// without one calls none of them.
func TestRunRefusesAnEmptyExecution(t *testing.T) {
	var calls []string
	deleters := []Deleter{deleter("dns", nil, nil, nil, &calls), deleter("lb", nil, nil, nil, &calls)}
	in := step.Input{Error: &step.Error{Error: "Conflict", Cause: "record exists"}, Timing: step.Timing{RollbackMaxAttempts: 3}}
	in.Spec.Name = "web"
	for _, prev := range []*step.RollbackResult{nil, {Attempts: 1, State: step.RollbackWaiting}} {
		in.Rollback = prev
		res, err := Run(context.Background(), in, deleters)
		var invalid *steperr.InvalidRequest
		if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "no execution") {
			t.Fatalf("err = %v, want InvalidRequest naming the missing execution", err)
		}
		if len(calls) != 0 || len(res.Deleted) != 0 || len(res.Left) != 0 || len(res.Waiting) != 0 {
			t.Fatalf("calls %v, result %+v: want no deleter called, nothing reported", calls, res)
		}
	}
}

// TestAWSDeletersRefuseAnEmptyExecution: called outside Run, each AWS
// deleter refuses an empty execution too, before it reaches AWS (the
// configuration here has no credentials and no endpoint).
func TestAWSDeletersRefuseAnEmptyExecution(t *testing.T) {
	in := step.Input{}
	in.Spec.Name = "web"
	in.Spec.Region = "us-east-1"
	for _, d := range AWSDeleters(aws.Config{}, proxytarget.Config{}) {
		deleted, left, err := d.Delete(context.Background(), in)
		var invalid *steperr.InvalidRequest
		if !errors.As(err, &invalid) || len(deleted)+len(left) != 0 {
			t.Errorf("%s: deleted %v left %v err %v, want InvalidRequest", d.Name, deleted, left, err)
		}
	}
}
