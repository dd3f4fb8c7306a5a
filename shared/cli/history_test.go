package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// ended is a fake whose execution ended with final after h's events.
func ended(h *history, final sfn.DescribeExecutionOutput) *fakeStates {
	final.ExecutionArn = aws.String(execARN("run-1"))
	final.Name = aws.String("run-1")
	final.StateMachineArn = aws.String(machineARN)
	final.StartDate = aws.Time(h.events[0].Timestamp.Add(0))
	final.StopDate = aws.Time(*h.events[len(h.events)-1].Timestamp)

	return &fakeStates{pages: machinePages(), definition: definition, revealed: h.events, final: final, pageSize: 4}
}

// rollbackMachine is a whole definition with rollbackHistory's states.
const rollbackMachine = `{"StartAt":"Init","States":{
  "Init":{"Type":"Pass","Next":"Validate"},
  "Validate":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:v","Next":"EnsureLoadBalancer"},
  "EnsureLoadBalancer":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:lb","Next":"EnsureListeners"},
  "EnsureListeners":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:l","Next":"Provisioned",
    "Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Rollback"}]},
  "Provisioned":{"Type":"Succeed"},
  "Rollback":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:r","Next":"ProvisioningFailed"},
  "ProvisioningFailed":{"Type":"Fail"}}}`

func withDefinition(f *fakeStates, definition string) *fakeStates {
	f.definition = definition
	return f
}

func TestHistoryOfAnExecution(t *testing.T) {
	failedRun := func() *fakeStates {
		return ended(rollbackHistory(), sfn.DescribeExecutionOutput{Status: types.ExecutionStatusFailed, Error: aws.String("AccessDenied"), Cause: aws.String(deniedCause)})
	}
	tests := []struct {
		name       string
		fake       *fakeStates
		args       []string
		wantCode   int
		wantStdout []string
	}{
		{
			name: "succeeded, table", wantCode: ExitOK,
			fake: ended(successHistory(), sfn.DescribeExecutionOutput{Status: types.ExecutionStatusSucceeded, Output: aws.String(provisionedOutput)}),
			wantStdout: []string{
				"Execution run-1 of autostop-provision-load-balancer: SUCCEEDED",
				"started  2025-01-02T15:04:05Z",
				"AT", "TOOK", "STATE", "TYPE", "TRIES", "RESULT",
				"EnsureLoadBalancer", "Task", "1", "ok",
				"LoadBalancerActive?", "Choice", "→ WaitForLoadBalancer",
				"WaitForLoadBalancer", "Wait", "ok",
				"Provisioned", "Pass", "ok",
				"adopted certificate", "created record", "created listener arn:https",
				"created security-group sg-1", "created load-balancer arn:lb", "updated alias arn:alias",
			},
		},
		{
			name: "failed, table with the rollback", fake: failedRun(), wantCode: ExitOK,
			wantStdout: []string{
				"Execution run-1 of autostop-provision-load-balancer: FAILED",
				"EnsureListeners", "Task", "1", "failed: AccessDenied: create listener: not authorized",
				"Rollback", "Task", "ok",
				"Execution FAILED.", "Error: AccessDenied", "Cause: create listener: not authorized",
				"Rollback: deleted 2 resource(s), 0 left.", "load-balancer  arn:lb",
			},
		},
		{
			name: "mermaid, from the state machine's definition", fake: withDefinition(failedRun(), rollbackMachine), args: []string{"--output", "mermaid"}, wantCode: ExitOK,
			wantStdout: []string{"flowchart TD", "start((start))", "EnsureListeners == \"catch States.ALL\" ==> Rollback", "Rollback ==> ProvisioningFailed",
				"class Init,Validate,EnsureLoadBalancer,Rollback visited", "class EnsureListeners,ProvisioningFailed failed"},
		},
		{
			name: "no such execution", wantCode: ExitNotFound,
			fake: &fakeStates{pages: machinePages(), describeErr: &types.ExecutionDoesNotExist{Message: aws.String("no")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, context.Background(), tt.fake, append([]string{"history", "run-1", "--state-machine", machineARN}, tt.args...)...)
			if r.code != tt.wantCode {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			assertInOrder(t, "stdout", r.stdout, tt.wantStdout)
		})
	}
}

func TestHistoryJSON(t *testing.T) {
	fake := ended(rollbackHistory(), sfn.DescribeExecutionOutput{Status: types.ExecutionStatusFailed, Error: aws.String("AccessDenied"), Cause: aws.String(deniedCause)})
	r := run(t, context.Background(), fake, "history", execARN("run-1"), "--output", "json")
	var h ExecutionHistory
	if err := json.Unmarshal([]byte(r.stdout), &h); r.code != ExitOK || err != nil {
		t.Fatalf("exit code %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if h.Status != "FAILED" || h.Error != "AccessDenied" || h.Rollback == nil || len(h.Rollback.Deleted) != 2 || len(h.States) == 0 {
		t.Errorf("history %+v", h)
	}
	if fake.listCalls != 0 {
		t.Errorf("an ARN needs no state machine lookup; %d ListStateMachines calls", fake.listCalls)
	}
}

func TestHistoryLast(t *testing.T) {
	h := successHistory()
	fake := ended(h, sfn.DescribeExecutionOutput{Status: types.ExecutionStatusSucceeded})
	at := func(m string, name string, d time.Duration) types.ExecutionListItem {
		return types.ExecutionListItem{StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:" + m),
			ExecutionArn: aws.String(execARN(name)), Name: aws.String(name), StartDate: aws.Time(time.Unix(0, 0).Add(d))}
	}
	fake.pages = [][]types.StateMachineListItem{{
		{Name: aws.String("autostop-wake-rule"), StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:autostop-wake-rule")},
		{Name: aws.String("other"), StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:other")},
		{Name: aws.String(DefaultStateMachine), StateMachineArn: aws.String(machineARN)},
	}}
	fake.executions = []types.ExecutionListItem{
		at("autostop-wake-rule", "wake-old", time.Minute), at(DefaultStateMachine, "newest", time.Hour),
		at("other", "not-autostop", 2*time.Hour), at("autostop-wake-rule", "wake-new", 30*time.Minute),
	}
	r := run(t, context.Background(), fake, "history", "--last", "2", "--output", "json")
	var all []ExecutionHistory
	if err := json.Unmarshal([]byte(r.stdout), &all); r.code != ExitOK || err != nil {
		t.Fatalf("exit code %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	var arns []string
	for _, h := range all {
		arns = append(arns, h.ExecutionARN)
	}
	if want := []string{execARN("newest"), execARN("wake-new")}; strings.Join(arns, " ") != strings.Join(want, " ") {
		t.Errorf("executions %v, want %v (newest first, autostop's only)", arns, want)
	}
}

func TestHistoryUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", []string{"history"}, "give an execution (ARN or name) or --last N"},
		{"both", []string{"history", "x", "--last", "2"}, "not both"},
		{"two executions", []string{"history", "x", "y"}, `unexpected argument "y"`},
		{"mermaid of many", []string{"history", "--last", "2", "--output", "mermaid"}, "draws one execution"},
		{"bad output", []string{"history", "x", "--output", "yaml"}, `use table, json, mermaid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, context.Background(), &fakeStates{}, tt.args...)
			if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) || r.clientBuilt {
				t.Errorf("exit code %d, client built %v, stderr %q; want 2 and %q", r.code, r.clientBuilt, r.stderr, tt.want)
			}
		})
	}
}
