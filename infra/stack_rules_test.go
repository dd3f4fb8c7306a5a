package main

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/ownership"
)

// TestNestedExecutionGrants: AttachRule's role may start ProvisionLoadBalancer
// (its nested execution), describe and stop those executions, and manage
// the EventBridge rule Step Functions uses to wait for them; DetachRule's
// role, which runs no nested execution, may not.
func TestNestedExecutionGrants(t *testing.T) {
	actions := func(machine string) map[string]string {
		_, r := only(t, "AWS::StepFunctions::StateMachine", "StateMachineName", app.NamePrefix+machine)
		roleID := props(r)["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		out := map[string]string{}
		for _, st := range roleStatements(roleID) {
			res, _ := json.Marshal(st["Resource"])
			for _, a := range actionsOf(st) {
				if strings.HasPrefix(a, "states:") || strings.HasPrefix(a, "events:") {
					out[a] = string(res)
				}
			}
		}
		return out
	}

	got := actions(app.AttachRule)
	var names []string
	for a := range got {
		names = append(names, a)
	}
	sort.Strings(names)
	want := []string{"events:DescribeRule", "events:PutRule", "events:PutTargets", "states:DescribeExecution", "states:StartExecution", "states:StopExecution"}
	if !slices.Equal(names, want) {
		t.Fatalf("AttachRule's role: %v, want %v", names, want)
	}
	for a, res := range got {
		var wantIn string
		switch {
		case a == "states:StartExecution":
			wantIn = ":stateMachine:" + app.NamePrefix + app.ProvisionLoadBalancer
		case strings.HasPrefix(a, "states:"):
			wantIn = ":execution:" + app.NamePrefix + app.ProvisionLoadBalancer + ":*"
		default:
			wantIn = ":rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
		}
		if !strings.Contains(res, wantIn) {
			t.Errorf("%s on %s, want %s", a, res, wantIn)
		}
	}

	if got := actions(app.DetachRule); len(got) != 0 {
		t.Errorf("DetachRule's role: %v, want no Step Functions or EventBridge action", got)
	}
}

// TestInstanceTagGrants: the only tag the rule workflows may set or remove
// on the customer's instances is autostop:rule, set only in a request that
// carries it and removed only from an instance that has it.
func TestInstanceTagGrants(t *testing.T) {
	for _, f := range []string{"attach-ensure-target", "attach-rollback", "detach-target"} {
		t.Run(f, func(t *testing.T) {
			_, fn := only(t, "AWS::Lambda::Function", "FunctionName", app.NamePrefix+f)
			roleID := props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			found := false
			for _, st := range roleStatements(roleID) {
				for _, a := range actionsOf(st) {
					if a != "ec2:CreateTags" && a != "ec2:DeleteTags" {
						continue
					}
					found = true
					cond, _ := json.Marshal(st["Condition"])
					c := string(cond)
					tagCond := `"aws:RequestTag/` + ownership.RuleKey + `":"false"`
					if a == "ec2:DeleteTags" {
						tagCond = `"aws:ResourceTag/` + ownership.RuleKey + `":"false"`
					}
					if !strings.Contains(c, tagCond) || !strings.Contains(c, `"ForAllValues:StringEquals":{"aws:TagKeys":"`+ownership.RuleKey+`"}`) &&
						!strings.Contains(c, `"ForAllValues:StringEquals":{"aws:TagKeys":["`+ownership.RuleKey+`"]}`) {
						t.Errorf("%s condition %s, want %s and aws:TagKeys = [%s]", a, c, tagCond, ownership.RuleKey)
					}
					res, _ := json.Marshal(st["Resource"])
					if !strings.Contains(string(res), ":instance/*") {
						t.Errorf("%s on %s, want instances only", a, res)
					}
				}
			}
			if !found {
				t.Error("no instance tag grant")
			}
		})
	}
}
