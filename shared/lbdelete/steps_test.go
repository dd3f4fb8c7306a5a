package lbdelete

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func TestStep(t *testing.T) {
	lb := step.Resource{Kind: "load-balancer", ID: "arn:lb", Action: step.Deleted}
	sg := step.Resource{Kind: "security-group", ID: "sg-1", Action: step.Deleted}
	in := Input{Request: Request{Name: "web"}, Execution: "run-1", Found: &Found{Name: "web"}, Timing: Timing{WaitSeconds: 1, MaxAttempts: 3}}
	deleter := func(deleted, left []step.Resource, err error) Deleter {
		return func(context.Context, Input) ([]step.Resource, []step.Resource, error) { return deleted, left, err }
	}
	tests := []struct {
		name         string
		prev         *Result
		del          Deleter
		wantState    string
		wantAttempts int
		wantDeleted  int
		wantWaiting  int
		wantErr      string // error type name
		wantMsg      string
	}{
		{name: "done", del: deleter([]step.Resource{lb, sg}, nil, nil), wantState: StateDone, wantAttempts: 1, wantDeleted: 2},
		{name: "nothing to do", del: deleter(nil, nil, nil), wantState: StateDone, wantAttempts: 1},
		{
			name: "AWS still holds the group: wait", del: deleter([]step.Resource{lb}, nil, steperr.InUse("security-group", "sg-1", "sg-1 is in use")),
			wantState: StateWaiting, wantAttempts: 1, wantDeleted: 1, wantWaiting: 1,
		},
		{
			name: "held and reported left: waits", del: deleter(nil, []step.Resource{{Kind: "security-group", ID: "sg-1", Action: step.Created}}, steperr.InUse("security-group", "sg-1", "in use")),
			wantState: StateWaiting, wantAttempts: 1, wantWaiting: 1,
		},
		{
			name: "next pass keeps what the first deleted", prev: &Result{Deleted: []step.Resource{lb}, Attempts: 1, State: StateWaiting},
			del: deleter([]step.Resource{sg}, nil, nil), wantState: StateDone, wantAttempts: 2, wantDeleted: 2,
		},
		{
			name: "still held at the last pass", prev: &Result{Deleted: []step.Resource{lb}, Attempts: 2},
			del: deleter(nil, nil, steperr.InUse("security-group", "sg-1", "in use")), wantErr: "DeletionIncomplete",
			wantMsg: "AWS still holds security-group sg-1 after 3 tries",
		},
		{
			name: "something left", del: deleter(nil, []step.Resource{{Kind: "record", ID: "*.a.example A", Action: step.Created}}, nil),
			wantErr: "DeletionIncomplete", wantMsg: "left record *.a.example A",
		},
		{
			name: "AWS error", del: deleter(nil, nil, &steperr.AccessDenied{Message: "not authorized"}),
			wantErr: "AccessDenied", wantMsg: "not authorized",
		},
		{
			name: "an error beside a wait fails", del: deleter(nil, nil, errors.Join(steperr.InUse("certificate", "arn:c", "in use"), errors.New("boom"))),
			wantErr: "Internal", wantMsg: "boom",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Step(context.Background(), in, tt.prev, "delete things", tt.del)
			if tt.wantErr != "" {
				mapped := steperr.Map(err)
				if err == nil || !strings.Contains(err.Error(), tt.wantMsg) || typeName(mapped) != tt.wantErr {
					t.Fatalf("error %v (%s), want %s containing %q", err, typeName(mapped), tt.wantErr, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tt.wantState || got.Attempts != tt.wantAttempts || len(got.Deleted) != tt.wantDeleted || len(got.Waiting) != tt.wantWaiting {
				t.Errorf("got %+v; want state %s, attempts %d, %d deleted, %d waiting", got, tt.wantState, tt.wantAttempts, tt.wantDeleted, tt.wantWaiting)
			}
		})
	}

	t.Run("no FindLoadBalancer result", func(t *testing.T) {
		_, err := Step(context.Background(), Input{Request: Request{Name: "web"}}, nil, "x", deleter(nil, nil, nil))
		if typeName(steperr.Map(err)) != "InvalidRequest" {
			t.Errorf("error %v", err)
		}
	})
}

func typeName(err error) string {
	if err == nil {
		return ""
	}
	name := strings.TrimPrefix(strings.TrimPrefix(typeString(err), "*"), "steperr.")

	return name
}

func typeString(err error) string { return fmt.Sprintf("%T", err) }
