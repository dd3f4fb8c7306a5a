package rollback

import (
	"context"
	"errors"
	"strings"
	"testing"

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
