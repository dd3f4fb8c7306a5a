package main

import (
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/autostop/autostop/shared/app"
)

// The optional contexts of the second synthesized stack (TestMain).
const (
	testAlarmEmail = "ops@example.com"
	testDNSDomain  = "Example.COM."
)

// asyncInvokes are the asynchronous invocation settings of the app's
// EventBridge targets.
var asyncInvokes = func() map[string]AsyncInvoke {
	desc := app.Description()
	m, err := AsyncInvokes(desc.EventBuses, desc.Schedules)
	if err != nil {
		panic(err)
	}

	return m
}()

// TestStateMachineLogGroups: each state machine logs to a log group under
// /aws/vendedlogs/states/, named after the state machine and the stack's
// UUID (a stack deployed again after a delete does not collide with the
// kept groups), kept on delete, with the stack's retention.
func TestStateMachineLogGroups(t *testing.T) {
	for _, sm := range app.Description().StateMachines {
		t.Run(sm.ID, func(t *testing.T) {
			_, r := only(t, "AWS::StepFunctions::StateMachine", "StateMachineName", sm.Name())
			dests, _ := props(r)["LoggingConfiguration"].(map[string]any)["Destinations"].([]any)
			if len(dests) != 1 {
				t.Fatalf("log destinations %v, want 1", dests)
			}
			arn := dests[0].(map[string]any)["CloudWatchLogsLogGroup"].(map[string]any)["LogGroupArn"]
			id, _ := arn.(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			lg := resources[id]
			if lg["Type"] != "AWS::Logs::LogGroup" || lg["DeletionPolicy"] != "Retain" || props(lg)["RetentionInDays"] != float64(30) {
				t.Fatalf("destination %v: %v, want a log group kept on delete, 30 days", arn, lg)
			}
			want := map[string]any{"Fn::Join": []any{"", []any{
				"/aws/vendedlogs/states/" + sm.Name() + "-",
				map[string]any{"Fn::Select": []any{float64(2), map[string]any{"Fn::Split": []any{"/", ref("AWS::StackId")}}}},
			}}}
			name := props(lg)["LogGroupName"]
			if !reflect.DeepEqual(name, want) {
				t.Fatalf("LogGroupName = %v, want %v", name, want)
			}
			// The name CloudFormation makes of it, for a stack ID.
			stackID := "arn:aws:cloudformation:eu-west-1:123456789012:stack/" + StackName + "/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
			resolved := want["Fn::Join"].([]any)[1].([]any)[0].(string) + strings.Split(stackID, "/")[2]
			if !regexp.MustCompile(`^/aws/vendedlogs/states/autostop-[a-z0-9-]+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(resolved) || len(resolved) > 512 {
				t.Errorf("log group name %q", resolved)
			}
		})
	}
}

// TestAsyncInvokes: the bus rules' target functions (start-provisioning)
// send invocations that still fail after Lambda's retries to the
// dead-letter queue; the schedules' (idle-watch) are not retried.
func TestAsyncInvokes(t *testing.T) {
	if a := asyncInvokes["start-provisioning"]; a != RuleTargetAsync || !a.DeadLetters {
		t.Errorf("start-provisioning: %+v, want %+v", a, RuleTargetAsync)
	}
	if a := asyncInvokes["idle-watch"]; a.RetryAttempts != 0 || a.MaxEventAgeSec != 60 || a.DeadLetters {
		t.Errorf("idle-watch: %+v, want no retry, 60 s, no dead letters", a)
	}
	configs := ofType("AWS::Lambda::EventInvokeConfig")
	if len(configs) != len(asyncInvokes) {
		t.Errorf("%d EventInvokeConfig, want %d (one per EventBridge target function)", len(configs), len(asyncInvokes))
	}
	dlq := ofType("AWS::SQS::Queue")[0]
	for id, a := range asyncInvokes {
		t.Run(id, func(t *testing.T) {
			fn := functionID(t, id)
			var cfgID string
			for _, c := range configs {
				if reflect.DeepEqual(props(resources[c])["FunctionName"], ref(fn)) {
					cfgID = c
				}
			}
			if cfgID == "" {
				t.Fatalf("no EventInvokeConfig for %s", fn)
			}
			p := props(resources[cfgID])
			if p["Qualifier"] != "$LATEST" || p["MaximumRetryAttempts"] != float64(a.RetryAttempts) || p["MaximumEventAgeInSeconds"] != float64(a.MaxEventAgeSec) {
				t.Errorf("config %v, want $LATEST, %d retries, %d s", p, a.RetryAttempts, a.MaxEventAgeSec)
			}
			if !a.DeadLetters {
				if p["DestinationConfig"] != nil {
					t.Errorf("DestinationConfig %v, want none", p["DestinationConfig"])
				}
				return
			}
			want := map[string]any{"OnFailure": map[string]any{"Destination": getAtt(dlq)}}
			if !reflect.DeepEqual(p["DestinationConfig"], want) {
				t.Errorf("DestinationConfig %v, want %v", p["DestinationConfig"], want)
			}
			// The role may send to the queue, before the configuration
			// is created (Lambda checks it).
			policyID, policy := only(t, "AWS::IAM::Policy", "PolicyName", DeadLetterPolicyName(id))
			roleID := props(resources[fn])["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			stmts := props(policy)["PolicyDocument"].(map[string]any)["Statement"].([]any)
			if !reflect.DeepEqual(props(policy)["Roles"], []any{ref(roleID)}) || len(stmts) != 1 ||
				!reflect.DeepEqual(stmts[0], map[string]any{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": getAtt(dlq)}) {
				t.Errorf("policy %v, want sqs:SendMessage on the DLQ for the function's role", props(policy))
			}
			deps, _ := resources[cfgID]["DependsOn"].([]any)
			found := false
			for _, d := range deps {
				found = found || d == policyID
			}
			if !found {
				t.Errorf("EventInvokeConfig DependsOn %v, want %s", deps, policyID)
			}
		})
	}
}

// alarmOf returns the alarm named name in rs.
func alarmOf(t *testing.T, rs map[string]map[string]any, name string) map[string]any {
	t.Helper()
	for _, r := range rs {
		if r["Type"] == "AWS::CloudWatch::Alarm" && props(r)["AlarmName"] == name {
			return props(r)
		}
	}
	t.Fatalf("no alarm %s", name)

	return nil
}

// TestAlarms: every function's Errors and every state machine's
// ExecutionsFailed have an alarm (≥ 1 in 5 minutes); without alarmEmail
// they have no action and there is no topic.
func TestAlarms(t *testing.T) {
	desc := app.Description()
	if got, want := len(ofType("AWS::CloudWatch::Alarm")), len(desc.Functions)+len(desc.StateMachines)+1; got != want {
		t.Errorf("%d alarms, want %d (functions, state machines, the DLQ)", got, want)
	}
	check := func(a map[string]any, namespace, metric string, dims []any) {
		t.Helper()
		if a["Namespace"] != namespace || a["MetricName"] != metric || !reflect.DeepEqual(a["Dimensions"], dims) ||
			a["Statistic"] != "Sum" || a["Period"] != float64(300) || a["Threshold"] != float64(1) ||
			a["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || a["EvaluationPeriods"] != float64(1) || a["TreatMissingData"] != "notBreaching" {
			t.Errorf("alarm %v, want %s %s %v: Sum over 5 minutes >= 1", a, namespace, metric, dims)
		}
		if a["AlarmActions"] != nil {
			t.Errorf("alarm %s has actions %v without %s", a["AlarmName"], a["AlarmActions"], ContextAlarmEmail)
		}
	}
	for _, f := range desc.Functions {
		check(alarmOf(t, resources, FunctionErrorsAlarmName(f.ID)), "AWS/Lambda", "Errors",
			[]any{map[string]any{"Name": "FunctionName", "Value": ref(functionID(t, f.ID))}})
	}
	for _, sm := range desc.StateMachines {
		id, _ := only(t, "AWS::StepFunctions::StateMachine", "StateMachineName", sm.Name())
		check(alarmOf(t, resources, ExecutionsFailedAlarmName(sm.ID)), "AWS/States", "ExecutionsFailed",
			[]any{map[string]any{"Name": "StateMachineArn", "Value": ref(id)}})
	}
	if topics := ofType("AWS::SNS::Topic"); len(topics) != 0 || synthesized.AlarmTopic != nil {
		t.Errorf("topics %v without %s", topics, ContextAlarmEmail)
	}
	if _, ok := tmpl["Outputs"].(map[string]any)["AlarmTopicArn"]; ok {
		t.Error("output AlarmTopicArn without a topic")
	}
}

// TestAlarmTopic: with alarmEmail, every alarm (the DLQ's too) notifies
// one SNS topic, encrypted with a rotated key CloudWatch may use, TLS only,
// publishable by this account's alarms, with the address subscribed.
func TestAlarmTopic(t *testing.T) {
	var topics, alarms, subs, keys, policies []string
	for id, r := range vpcResources {
		switch r["Type"] {
		case "AWS::SNS::Topic":
			topics = append(topics, id)
		case "AWS::CloudWatch::Alarm":
			alarms = append(alarms, id)
		case "AWS::SNS::Subscription":
			subs = append(subs, id)
		case "AWS::KMS::Key":
			keys = append(keys, id)
		case "AWS::SNS::TopicPolicy":
			policies = append(policies, id)
		}
	}
	if len(topics) != 1 || len(subs) != 1 || len(keys) != 1 || len(policies) != 1 {
		t.Fatalf("topics %v, subscriptions %v, keys %v, topic policies %v: want one each", topics, subs, keys, policies)
	}
	topic, key := topics[0], keys[0]
	tp := props(vpcResources[topic])
	if tp["TopicName"] != AlarmTopicName || !reflect.DeepEqual(tp["KmsMasterKeyId"], getAtt(key)) {
		t.Errorf("topic %v, want %s encrypted with %s", tp, AlarmTopicName, key)
	}
	if sp := props(vpcResources[subs[0]]); sp["Protocol"] != "email" || sp["Endpoint"] != testAlarmEmail || !reflect.DeepEqual(sp["TopicArn"], ref(topic)) {
		t.Errorf("subscription %v, want e-mail to %s", sp, testAlarmEmail)
	}
	kp := props(vpcResources[keys[0]])
	if kp["EnableKeyRotation"] != true {
		t.Errorf("key rotation %v", kp["EnableKeyRotation"])
	}
	cloudwatchMayUseKey := false
	for _, st := range kp["KeyPolicy"].(map[string]any)["Statement"].([]any) {
		s := st.(map[string]any)
		if reflect.DeepEqual(s["Principal"], map[string]any{"Service": "cloudwatch.amazonaws.com"}) &&
			reflect.DeepEqual(sorted(actionsOf(s)...), []string{"kms:Decrypt", "kms:GenerateDataKey*"}) {
			cloudwatchMayUseKey = true
		}
	}
	if !cloudwatchMayUseKey {
		t.Error("the key policy does not let CloudWatch encrypt for the topic")
	}
	denyPlain, cloudwatchPublishes := false, false
	for _, st := range props(vpcResources[policies[0]])["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		s := st.(map[string]any)
		c, _ := s["Condition"].(map[string]any)
		if s["Effect"] == "Deny" && reflect.DeepEqual(c, map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}) {
			denyPlain = true
		}
		if s["Effect"] == "Allow" && reflect.DeepEqual(s["Principal"], map[string]any{"Service": "cloudwatch.amazonaws.com"}) &&
			s["Action"] == "sns:Publish" && reflect.DeepEqual(s["Resource"], ref(topic)) &&
			reflect.DeepEqual(c["StringEquals"], map[string]any{"aws:SourceAccount": ref("AWS::AccountId")}) && c["ArnLike"] != nil {
			cloudwatchPublishes = true
		}
	}
	if !denyPlain || !cloudwatchPublishes {
		t.Errorf("topic policy: denies plain HTTP %v, lets this account's alarms publish %v", denyPlain, cloudwatchPublishes)
	}
	desc := app.Description()
	if want := len(desc.Functions) + len(desc.StateMachines) + 1; len(alarms) != want {
		t.Errorf("%d alarms, want %d", len(alarms), want)
	}
	sort.Strings(alarms)
	for _, id := range alarms {
		if a := props(vpcResources[id]); !reflect.DeepEqual(a["AlarmActions"], []any{ref(topic)}) {
			t.Errorf("alarm %s (%v): actions %v, want the topic", id, a["AlarmName"], a["AlarmActions"])
		}
	}
	if vpcSynthesized.AlarmTopic == nil {
		t.Error("AlarmTopic not set")
	}
}

func TestReadAlarmEmail(t *testing.T) {
	for _, in := range []string{"", "ops@example.com", "first.last+autostop@mail.example.org"} {
		if got, err := readAlarmEmail(in); err != nil || got != in {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"ops", "ops@example", "a@b.com,c@d.com", "a b@example.com", "@example.com"} {
		if _, err := readAlarmEmail(in); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}
