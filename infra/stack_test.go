package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/autostop/autostop/shared/app"
)

var (
	synthesized *Stack
	tmpl        map[string]any
	resources   map[string]map[string]any
)

// TestMain synthesizes the stack once, with the cdk-nag checks, for every
// test (a synth takes seconds; the jsii runtime is closed once at the end).
func TestMain(m *testing.M) {
	code := func() int {
		root, err := RepoRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, f := range app.Description().Functions {
			if _, err := os.Stat(filepath.Join(AssetDir(root, f.ID), "bootstrap")); err != nil {
				fmt.Fprintf(os.Stderr, "infra tests need the arm64 bootstraps: %s is missing; run `make functions` (make test does)\n",
					filepath.Join(".build", "lambda", f.ID, "bootstrap"))
				return 1
			}
		}
		a := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(os.TempDir(), fmt.Sprintf("autostop-cdk-test-%d", os.Getpid())))})
		// As `cdk synth` does: the region is known, the account is not.
		synthesized, err = NewStack(a, StackName, Config{RepoRoot: root, App: app.Description()},
			&awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String("eu-west-1")}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		AddNagChecks(a)
		tmpl = toMap(assertions.Template_FromStack(synthesized.Stack, nil).ToJSON())
		resources = map[string]map[string]any{}
		for id, r := range tmpl["Resources"].(map[string]any) {
			resources[id] = r.(map[string]any)
		}
		defer os.RemoveAll(*a.Outdir())

		// The same app with every optional context set: the functions in
		// an existing VPC (vpc_test.go: the subnets as a comma-separated
		// string, the zones as a JSON list), the proxy's reservation, the
		// alarms' e-mail and the DNS domain (operations_test.go).
		b := awscdk.NewApp(&awscdk.AppProps{
			Outdir: jsii.String(filepath.Join(os.TempDir(), fmt.Sprintf("autostop-cdk-test-vpc-%d", os.Getpid()))),
			Context: &map[string]any{
				ContextFunctionVpcID:             testVpcID,
				ContextFunctionSubnetIDs:         strings.Join(testSubnets, ", "),
				ContextFunctionAvailabilityZones: []any{testZones[0], testZones[1]},
				ContextProxyReservedConcurrency:  "200",
				ContextAlarmEmail:                testAlarmEmail,
				ContextDNSDomain:                 testDNSDomain,
			},
		})
		vpcSynthesized, err = NewStack(b, StackName, Config{RepoRoot: root, App: app.Description()},
			&awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String("eu-west-1")}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		AddNagChecks(b)
		vpcResources = map[string]map[string]any{}
		for id, r := range toMap(assertions.Template_FromStack(vpcSynthesized.Stack, nil).ToJSON())["Resources"].(map[string]any) {
			vpcResources[id] = r.(map[string]any)
		}
		defer os.RemoveAll(*b.Outdir())

		return m.Run()
	}()
	jsii.Close()
	os.Exit(code)
}

func toMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}

	return out
}

func props(r map[string]any) map[string]any { p, _ := r["Properties"].(map[string]any); return p }

// only returns the logical ID and resource of the one resource of a type
// whose property key equals value.
func only(t *testing.T, typ, key string, value any) (string, map[string]any) {
	t.Helper()
	var ids []string
	for id, r := range resources {
		if r["Type"] == typ && reflect.DeepEqual(props(r)[key], value) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%d %s with %s=%v, want 1: %v", len(ids), typ, key, value, ids)
	}

	return ids[0], resources[ids[0]]
}

func ofType(typ string) []string {
	var ids []string
	for id, r := range resources {
		if r["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)

	return ids
}

func ref(id string) map[string]any    { return map[string]any{"Ref": id} }
func getAtt(id string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, "Arn"}} }

func functionID(t *testing.T, id string) string {
	t.Helper()
	f, _ := app.Description().Function(id)
	lid, _ := only(t, "AWS::Lambda::Function", "FunctionName", f.Name())

	return lid
}

func TestFunctions(t *testing.T) {
	desc := app.Description()
	if got := len(ofType("AWS::Lambda::Function")); got != len(desc.Functions) {
		t.Errorf("%d functions in the template, %d in the app", got, len(desc.Functions))
	}
	for _, f := range desc.Functions {
		t.Run(f.ID, func(t *testing.T) {
			_, r := only(t, "AWS::Lambda::Function", "FunctionName", f.Name())
			p := props(r)
			want := map[string]any{
				"Architectures": []any{"arm64"}, "Runtime": "provided.al2023", "Handler": "bootstrap",
				"Timeout": float64(f.TimeoutSec), "MemorySize": float64(f.MemoryMB),
				"TracingConfig": map[string]any{"Mode": "Active"}, "Description": f.Description,
			}
			for k, v := range want {
				if !reflect.DeepEqual(p[k], v) {
					t.Errorf("%s = %v, want %v", k, p[k], v)
				}
			}
			logging, _ := p["LoggingConfig"].(map[string]any)
			if logging["LogFormat"] != "JSON" {
				t.Errorf("LoggingConfig = %v, want JSON", logging)
			}
			lg, _ := logging["LogGroup"].(map[string]any)
			lgID, _ := lg["Ref"].(string)
			if resources[lgID]["Type"] != "AWS::Logs::LogGroup" || props(resources[lgID])["RetentionInDays"] != float64(30) {
				t.Errorf("log group %v: %v, want an AWS::Logs::LogGroup kept 30 days", lg, resources[lgID])
			}
			vars := map[string]any{}
			for k, v := range f.Env {
				vars[k] = v
			}
			for k, v := range f.EnvRefs {
				switch {
				case v.StateMachine != "":
					smName := app.NamePrefix + v.StateMachine
					id, _ := only(t, "AWS::StepFunctions::StateMachine", "StateMachineName", smName)
					vars[k] = ref(id)
				case v.FunctionARN != "":
					vars[k] = getAtt(functionID(t, v.FunctionARN))
				case v.Table != "":
					vars[k] = ref(tableLogicalID(t, v.Table))
				default:
					// A literal (IDLE_* timings): the AWS value, never
					// the local one.
					vars[k] = v.Literal
				}
			}
			env, _ := p["Environment"].(map[string]any)
			got, _ := env["Variables"].(map[string]any)
			if len(vars) == 0 && got == nil {
				return
			}
			if !reflect.DeepEqual(got, vars) {
				t.Errorf("environment = %v, want %v", got, vars)
			}
		})
	}
}

func TestStateMachines(t *testing.T) {
	root, _ := RepoRoot()
	for _, sm := range app.Description().StateMachines {
		t.Run(sm.ID, func(t *testing.T) {
			_, r := only(t, "AWS::StepFunctions::StateMachine", "StateMachineName", sm.Name())
			p := props(r)
			asl, err := sm.ReadASL(root)
			if err != nil {
				t.Fatal(err)
			}
			if p["DefinitionString"] != asl {
				t.Errorf("DefinitionString is not the contents of %s", sm.ASLFile)
			}
			// Substitutions: function ARNs from the constructs, literals
			// from the description (the AWS value, never the local one).
			want := map[string]any{}
			resolved := map[string]string{}
			var invoke []any
			for name, v := range sm.Substitutions {
				switch {
				case v.FunctionARN != "":
					want[name] = getAtt(functionID(t, v.FunctionARN))
					invoke = append(invoke, want[name])
					resolved[name] = "arn:aws:lambda:eu-west-1:123456789012:function:" + app.NamePrefix + v.FunctionARN
				case v.StateMachine != "":
					id, _ := only(t, "AWS::StepFunctions::StateMachine", "StateMachineName", app.NamePrefix+v.StateMachine)
					want[name] = ref(id)
					resolved[name] = "arn:aws:states:eu-west-1:123456789012:stateMachine:" + app.NamePrefix + v.StateMachine
				default:
					want[name] = v.Literal
					resolved[name] = v.Literal
				}
			}
			if !reflect.DeepEqual(p["DefinitionSubstitutions"], want) {
				t.Errorf("DefinitionSubstitutions = %v\nwant %v", p["DefinitionSubstitutions"], want)
			}
			// The definition Step Functions will run: every placeholder
			// filled, every substitution used, valid JSON.
			def, err := app.Substitute(asl, resolved)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid([]byte(def)) {
				t.Errorf("%s with substitutions applied is not JSON", sm.ASLFile)
			}
			if p["StateMachineType"] != "STANDARD" || !reflect.DeepEqual(p["TracingConfiguration"], map[string]any{"Enabled": true}) {
				t.Errorf("type %v, tracing %v: want STANDARD, enabled", p["StateMachineType"], p["TracingConfiguration"])
			}
			logging, _ := p["LoggingConfiguration"].(map[string]any)
			if logging["Level"] != "ALL" || logging["IncludeExecutionData"] != true || len(logging["Destinations"].([]any)) != 1 {
				t.Errorf("LoggingConfiguration = %v, want ALL with execution data to one log group", logging)
			}
			// Its role may invoke exactly its functions.
			roleID := p["RoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			var got []any
			for _, st := range roleStatements(roleID) {
				if reflect.DeepEqual(st["Action"], "lambda:InvokeFunction") {
					// One resource is a value, more a list.
					if list, ok := st["Resource"].([]any); ok {
						got = append(got, list...)
					} else {
						got = append(got, st["Resource"])
					}
				}
			}
			if !sameElements(got, invoke) {
				t.Errorf("lambda:InvokeFunction on %v, want %v", got, invoke)
			}
		})
	}
}

// roleStatements are the statements of every policy attached to a role.
func roleStatements(roleID string) []map[string]any {
	var out []map[string]any
	for _, id := range ofType("AWS::IAM::Policy") {
		p := props(resources[id])
		for _, r := range p["Roles"].([]any) {
			if reflect.DeepEqual(r, ref(roleID)) {
				for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					out = append(out, st.(map[string]any))
				}
			}
		}
	}

	return out
}

func sameElements(a, b []any) bool {
	key := func(s []any) []string {
		out := make([]string, len(s))
		for i, v := range s {
			j, _ := json.Marshal(v)
			out[i] = string(j)
		}
		sort.Strings(out)

		return out
	}

	return reflect.DeepEqual(key(a), key(b))
}

func actionsOf(st map[string]any) []string {
	switch a := st["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		out := make([]string, len(a))
		for i, v := range a {
			out[i] = v.(string)
		}
		return out
	}

	return nil
}

// TestFunctionPolicies: each function's role holds exactly the actions of
// Permissions (in its step policy) plus writing its own logs and traces.
func TestFunctionPolicies(t *testing.T) {
	for _, f := range app.Description().Functions {
		t.Run(f.ID, func(t *testing.T) {
			_, fn := only(t, "AWS::Lambda::Function", "FunctionName", f.Name())
			roleID := props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			if mp := props(resources[roleID])["ManagedPolicyArns"]; mp != nil {
				t.Errorf("role has managed policies %v", mp)
			}
			step := map[string]bool{}
			var other []string
			for _, id := range ofType("AWS::IAM::Policy") {
				p := props(resources[id])
				attached := false
				for _, r := range p["Roles"].([]any) {
					attached = attached || reflect.DeepEqual(r, ref(roleID))
				}
				if !attached {
					continue
				}
				for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					for _, a := range actionsOf(st.(map[string]any)) {
						if p["PolicyName"] == StepPolicyName(f.ID) {
							step[a] = true
						} else {
							other = append(other, a)
						}
					}
				}
			}
			got := sortedKeys(step)
			if want := Actions(f.ID); !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
				t.Errorf("step policy actions = %v\nwant (Permissions) %v", got, want)
			}
			sort.Strings(other)
			want := []string{"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}
			if asyncInvokes[f.ID].DeadLetters {
				// Lambda sends its failed invocations to the DLQ.
				want = append(want, "sqs:SendMessage")
				sort.Strings(want)
			}
			if !reflect.DeepEqual(other, want) {
				t.Errorf("other actions = %v, want %v", other, want)
			}
		})
	}
}

func TestEvents(t *testing.T) {
	desc := app.Description()
	dlqs := ofType("AWS::SQS::Queue")
	if len(dlqs) != 1 {
		t.Fatalf("queues %v, want one dead-letter queue", dlqs)
	}
	dlq := dlqs[0]
	if p := props(resources[dlq]); p["SqsManagedSseEnabled"] != true {
		t.Errorf("dead-letter queue not encrypted: %v", p)
	}
	ssl := false
	for _, id := range ofType("AWS::SQS::QueuePolicy") {
		for _, st := range props(resources[id])["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := st.(map[string]any)
			if s["Effect"] == "Deny" && strings.Contains(fmt.Sprint(s["Condition"]), "aws:SecureTransport:false") {
				ssl = true
			}
		}
	}
	if !ssl {
		t.Error("dead-letter queue policy does not deny requests without TLS")
	}
	_, alarm := only(t, "AWS::CloudWatch::Alarm", "MetricName", "ApproximateNumberOfMessagesVisible")
	ap := props(alarm)
	if ap["Threshold"] != float64(0) || ap["ComparisonOperator"] != "GreaterThanThreshold" ||
		!reflect.DeepEqual(ap["Dimensions"], []any{map[string]any{"Name": "QueueName", "Value": map[string]any{"Fn::GetAtt": []any{dlq, "QueueName"}}}}) {
		t.Errorf("alarm = %v, want the DLQ's depth > 0", ap)
	}

	for _, b := range desc.EventBuses {
		busID, _ := only(t, "AWS::Events::EventBus", "Name", b.Name)
		for _, r := range b.Rules {
			ruleID, rule := only(t, "AWS::Events::Rule", "Name", r.Name())
			p := props(rule)
			var pattern any
			if err := json.Unmarshal([]byte(r.Pattern), &pattern); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p["EventPattern"], pattern) {
				t.Errorf("EventPattern = %v, want %v", p["EventPattern"], pattern)
			}
			if !reflect.DeepEqual(p["EventBusName"], ref(busID)) {
				t.Errorf("EventBusName = %v, want the %s bus", p["EventBusName"], b.Name)
			}
			targets := p["Targets"].([]any)
			if len(targets) != 1 {
				t.Fatalf("targets %v", targets)
			}
			tg := targets[0].(map[string]any)
			var want any
			if r.TargetFunction != "" {
				want = getAtt(functionID(t, r.TargetFunction))
			} else {
				id, _ := only(t, "AWS::StepFunctions::StateMachine", "StateMachineName", app.NamePrefix+r.TargetStateMachine)
				want = ref(id)
			}
			if !reflect.DeepEqual(tg["Arn"], want) {
				t.Errorf("target %v, want %v", tg["Arn"], want)
			}
			if !reflect.DeepEqual(tg["RetryPolicy"], map[string]any{"MaximumEventAgeInSeconds": float64(3600), "MaximumRetryAttempts": float64(185)}) {
				t.Errorf("RetryPolicy = %v", tg["RetryPolicy"])
			}
			if !reflect.DeepEqual(tg["DeadLetterConfig"], map[string]any{"Arn": getAtt(dlq)}) {
				t.Errorf("DeadLetterConfig = %v, want the DLQ", tg["DeadLetterConfig"])
			}
			if r.TargetFunction != "" {
				eventsPermission(t, functionID(t, r.TargetFunction), ruleID)
			}
		}
	}
}

// eventsPermission checks that EventBridge may invoke the function (a
// logical ID) from the rule (a logical ID), and from that rule only: one
// permission per function and rule.
func eventsPermission(t *testing.T, function, rule string) {
	t.Helper()
	var found []string
	for _, id := range ofType("AWS::Lambda::Permission") {
		p := props(resources[id])
		if p["Principal"] == "events.amazonaws.com" && reflect.DeepEqual(p["SourceArn"], getAtt(rule)) {
			found = append(found, id)
			if !reflect.DeepEqual(p["FunctionName"], getAtt(function)) || p["Action"] != "lambda:InvokeFunction" {
				t.Errorf("permission %s for rule %s: %v, want lambda:InvokeFunction on %s", id, rule, p, function)
			}
		}
	}
	if len(found) != 1 {
		t.Errorf("%d permissions let rule %s invoke a function (%v), want 1", len(found), rule, found)
	}
}

// TestSchedules: each schedule of the app is a rule on the default bus with
// its schedule expression, invoking its function (retried for at most a
// minute, then dead-lettered), which EventBridge may invoke from that rule.
func TestSchedules(t *testing.T) {
	desc := app.Description()
	if got, want := len(ofType("AWS::Events::Rule")), len(desc.Schedules)+func() (n int) {
		for _, b := range desc.EventBuses {
			n += len(b.Rules)
		}
		return n
	}(); got != want {
		t.Errorf("%d rules in the template, want %d (the buses' rules and the schedules)", got, want)
	}
	dlqs := ofType("AWS::SQS::Queue")
	if len(dlqs) != 1 {
		t.Fatalf("queues %v, want one dead-letter queue", dlqs)
	}
	dlq := dlqs[0]

	// The idle watcher runs every minute on AWS.
	_, watcher := only(t, "AWS::Events::Rule", "Name", app.NamePrefix+"idle-watch-schedule")
	wp := props(watcher)
	targets, _ := wp["Targets"].([]any)
	if wp["ScheduleExpression"] != "rate(1 minute)" || len(targets) != 1 ||
		!reflect.DeepEqual(targets[0].(map[string]any)["Arn"], getAtt(functionID(t, "idle-watch"))) {
		t.Errorf("idle watcher's schedule: %v, want rate(1 minute) invoking idle-watch", wp)
	}

	for _, sc := range desc.Schedules {
		t.Run(sc.ID, func(t *testing.T) {
			ruleID, rule := only(t, "AWS::Events::Rule", "Name", sc.Name())
			p := props(rule)
			if p["ScheduleExpression"] != sc.Expression || p["State"] != "ENABLED" || p["Description"] != sc.Description {
				t.Errorf("ScheduleExpression %v, State %v, Description %v; want %s, ENABLED, %q", p["ScheduleExpression"], p["State"], p["Description"], sc.Expression, sc.Description)
			}
			if bus, ok := p["EventBusName"]; ok || p["EventPattern"] != nil {
				t.Errorf("EventBusName %v, EventPattern %v: want the default bus, no pattern", bus, p["EventPattern"])
			}
			targets := p["Targets"].([]any)
			if len(targets) != 1 {
				t.Fatalf("targets %v, want 1", targets)
			}
			tg := targets[0].(map[string]any)
			fn := functionID(t, sc.TargetFunction)
			if !reflect.DeepEqual(tg["Arn"], getAtt(fn)) {
				t.Errorf("target %v, want the function %s", tg["Arn"], sc.TargetFunction)
			}
			if !reflect.DeepEqual(tg["RetryPolicy"], map[string]any{"MaximumEventAgeInSeconds": float64(60), "MaximumRetryAttempts": float64(185)}) {
				t.Errorf("RetryPolicy = %v, want retries for at most a minute", tg["RetryPolicy"])
			}
			if !reflect.DeepEqual(tg["DeadLetterConfig"], map[string]any{"Arn": getAtt(dlq)}) {
				t.Errorf("DeadLetterConfig = %v, want the DLQ", tg["DeadLetterConfig"])
			}
			eventsPermission(t, fn, ruleID)
		})
	}
}

// TestNoNagFindings: cdk-nag's AwsSolutions pack reports nothing that is
// not suppressed (each suppression carries its reason).
func TestNoNagFindings(t *testing.T) {
	noNagFindings(t, synthesized.Stack)
}

func noNagFindings(t *testing.T, stack awscdk.Stack) {
	t.Helper()
	ann := assertions.Annotations_FromStack(stack)
	for kind, found := range map[string]*[]*cxapi.SynthesisMessage{
		"error":   ann.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))),
		"warning": ann.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))),
	} {
		for _, m := range *found {
			t.Errorf("cdk-nag %s at %s: %v", kind, *m.Id, m.Entry.Data)
		}
	}
}
