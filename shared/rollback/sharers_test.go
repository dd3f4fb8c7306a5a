package rollback

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
)

const machine = "arn:aws:states:us-east-1:123456789012:stateMachine:autostop-provision-load-balancer"

type fakeExecution struct {
	name         string
	status       sfntypes.ExecutionStatus
	start, stop  time.Time
	loadBalancer string
}

type fakeStates struct{ executions []fakeExecution }

func (f *fakeStates) ListExecutions(_ context.Context, in *sfn.ListExecutionsInput, _ ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error) {
	var out sfn.ListExecutionsOutput
	for _, e := range f.executions {
		if e.status == in.StatusFilter {
			out.Executions = append(out.Executions, sfntypes.ExecutionListItem{
				Name: aws.String(e.name), ExecutionArn: aws.String(executionARN(machine, e.name)), Status: e.status,
				StartDate: aws.Time(e.start), // like kumo, no StopDate in the list
			})
		}
	}

	return &out, nil
}

func (f *fakeStates) DescribeExecution(_ context.Context, in *sfn.DescribeExecutionInput, _ ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error) {
	for _, e := range f.executions {
		if executionARN(machine, e.name) == aws.ToString(in.ExecutionArn) {
			out := &sfn.DescribeExecutionOutput{StartDate: aws.Time(e.start), Input: aws.String(`{"name":"` + e.loadBalancer + `"}`)}
			if !e.stop.IsZero() {
				out.StopDate = aws.Time(e.stop)
			}
			return out, nil
		}
	}

	return nil, errors.New("ExecutionDoesNotExist")
}

func TestRunGuarded(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	self := fakeExecution{name: "a", status: sfntypes.ExecutionStatusRunning, start: t0, loadBalancer: "web"}
	tests := []struct {
		name       string
		others     []fakeExecution
		wantKept   string
		wantDelete bool
	}{
		{name: "alone", wantDelete: true},
		{name: "another running for the same load balancer", others: []fakeExecution{{name: "b", status: sfntypes.ExecutionStatusRunning, start: t0.Add(time.Second), loadBalancer: "web"}}, wantKept: "b"},
		{name: "another succeeded after this one started", others: []fakeExecution{{name: "b", status: sfntypes.ExecutionStatusSucceeded, start: t0.Add(-time.Second), stop: t0.Add(5 * time.Second), loadBalancer: "web"}}, wantKept: "b"},
		{name: "another ended the moment this one started (timestamps in seconds)", others: []fakeExecution{{name: "b", status: sfntypes.ExecutionStatusSucceeded, start: t0.Add(-time.Second), stop: t0, loadBalancer: "web"}}, wantKept: "b"},
		{name: "another succeeded before this one started", others: []fakeExecution{{name: "b", status: sfntypes.ExecutionStatusSucceeded, start: t0.Add(-time.Hour), stop: t0.Add(-time.Minute), loadBalancer: "web"}}, wantDelete: true},
		{name: "another load balancer", others: []fakeExecution{{name: "b", status: sfntypes.ExecutionStatusRunning, start: t0, loadBalancer: "api"}}, wantDelete: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeStates{executions: append([]fakeExecution{self}, tt.others...)}
			in := step.Input{Spec: spec.LoadBalancerSpec{Name: "web"}, Execution: "a", StateMachine: machine}
			deleted := false
			res, err := RunGuarded(context.Background(), in, api, []Deleter{{Name: "all", Delete: func(context.Context, step.Input) ([]step.Resource, []step.Resource, error) {
				deleted = true
				return nil, nil, nil
			}}})
			if err != nil {
				t.Fatal(err)
			}
			if deleted != tt.wantDelete || strings.Join(res.KeptFor, ",") != tt.wantKept {
				t.Errorf("deleted %v, kept for %v; want deleted %v, kept for %q", deleted, res.KeptFor, tt.wantDelete, tt.wantKept)
			}
		})
	}
}
