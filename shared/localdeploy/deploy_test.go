package localdeploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localdeploy"
)

// testApp has one function, one state machine calling it from an ASL file
// with substitutions, a bus whose rule starts the state machine, and a
// schedule invoking a second function (recordfn, appending each event to
// the file record).
func testApp(record string) app.App {
	return app.App{
		Functions: []app.Function{
			{ID: "echo", TimeoutSec: 10, MemoryMB: 128, Env: map[string]string{"GREETING": "configured"}},
			{ID: "tick", TimeoutSec: 10, MemoryMB: 128, Env: map[string]string{"RECORD_FILE": record}},
		},
		Schedules: []app.Schedule{{
			ID: "every-minute", Description: "Ticks every minute", Expression: "rate(1 minute)", TargetFunction: "tick",
		}},
		StateMachines: []app.StateMachine{{
			ID: "echo-flow", ASLFile: "testdata/echo.asl.json",
			Substitutions: map[string]app.Value{"EchoFunctionArn": {FunctionARN: "echo"}, "Tag": {Literal: "substituted"}},
		}},
		EventBuses: []app.EventBus{{Name: "test-bus", Rules: []app.Rule{{
			ID: "on-ping", Pattern: `{"source":["test"],"detail-type":["Ping"]}`, TargetStateMachine: "echo-flow",
		}}}},
		Tables: []app.Table{{ID: "things", PartitionKey: "id"}},
	}
}

func TestDeployRunsTheAppAsDescribed(t *testing.T) {
	ctx := context.Background()
	// As make up, make demo and the end-to-end tests start it.
	b := localawstest.StartWith(t, localdeploy.BackendOptions(localaws.Options{}))

	binDir := t.TempDir()
	for id, pkg := range map[string]string{"echo": "../localaws/testdata/echo", "tick": "../localaws/conformance/testdata/recordfn"} {
		if err := os.MkdirAll(filepath.Join(binDir, id), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(localawstest.BuildFunction(t, pkg), filepath.Join(binDir, id, "bootstrap")); err != nil {
			t.Fatal(err)
		}
	}
	record := filepath.Join(t.TempDir(), "ticks.jsonl")

	d, err := localdeploy.Deploy(ctx, b, testApp(record), localdeploy.Options{RepoRoot: ".", BinDir: binDir})
	if err != nil {
		t.Fatal(err)
	}

	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states := sfn.NewFromConfig(cfg)

	t.Run("state machine from the ASL file with substitutions", func(t *testing.T) {
		exec, err := states.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: awssdk.String(d.StateMachineARNs["echo-flow"]), Input: awssdk.String(`{"n":7}`),
		})
		if err != nil {
			t.Fatal(err)
		}
		out := waitExecution(t, states, awssdk.ToString(exec.ExecutionArn))
		var got struct {
			Event    map[string]int
			Function string
			Greeting string
			Tag      string
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("output %s: %v", out, err)
		}
		if got.Event["n"] != 7 || got.Function != "autostop-echo" || got.Greeting != "configured" || got.Tag != "substituted" {
			t.Errorf("output %s: want the input, the function's name and environment, and the substituted tag", out)
		}
	})

	t.Run("table as CDK declares it", func(t *testing.T) {
		if got, err := d.Resolve(app.Value{Table: "things"}); err != nil || got != "autostop-things" {
			t.Errorf("Resolve(table things) = %q, %v; want autostop-things", got, err)
		}
		out, err := dynamodb.NewFromConfig(cfg).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: awssdk.String("autostop-things")})
		if err != nil {
			t.Fatal(err)
		}
		tb := out.Table
		if len(tb.KeySchema) != 1 || awssdk.ToString(tb.KeySchema[0].AttributeName) != "id" || tb.KeySchema[0].KeyType != dbtypes.KeyTypeHash {
			t.Errorf("key schema %+v, want hash key id", tb.KeySchema)
		}
		if tb.BillingModeSummary == nil || tb.BillingModeSummary.BillingMode != dbtypes.BillingModePayPerRequest {
			t.Errorf("billing mode %+v, want PAY_PER_REQUEST", tb.BillingModeSummary)
		}
	})

	t.Run("event rule starts the state machine", func(t *testing.T) {
		_, err := eventbridge.NewFromConfig(cfg).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			EventBusName: awssdk.String("test-bus"), Source: awssdk.String("test"), DetailType: awssdk.String("Ping"), Detail: awssdk.String(`{"x":1}`),
		}}})
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			list, err := states.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: awssdk.String(d.StateMachineARNs["echo-flow"])})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Executions) >= 2 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no execution started by the event rule; executions: %d", len(list.Executions))
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("schedule on the default bus invokes its function, scaled", func(t *testing.T) {
		ruleARN := d.ScheduleARNs["every-minute"]
		events := eventbridge.NewFromConfig(cfg)
		rule, err := events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: awssdk.String("autostop-every-minute")})
		if err != nil {
			t.Fatal(err)
		}
		if ruleARN == "" || awssdk.ToString(rule.Arn) != ruleARN || awssdk.ToString(rule.ScheduleExpression) != "rate(1 minute)" ||
			rule.State != ebtypes.RuleStateEnabled || awssdk.ToString(rule.Description) != "Ticks every minute" ||
			(rule.EventBusName != nil && awssdk.ToString(rule.EventBusName) != "default") {
			t.Errorf("rule %s: arn %s, %s, %s, %q on bus %v; want ScheduleARNs %q, rate(1 minute), ENABLED, the description, the default bus",
				awssdk.ToString(rule.Name), awssdk.ToString(rule.Arn), awssdk.ToString(rule.ScheduleExpression), rule.State,
				awssdk.ToString(rule.Description), awssdk.ToString(rule.EventBusName), ruleARN)
		}
		targets, err := events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: awssdk.String("autostop-every-minute")})
		if err != nil {
			t.Fatal(err)
		}
		if len(targets.Targets) != 1 || awssdk.ToString(targets.Targets[0].Arn) != d.FunctionARNs["tick"] {
			t.Errorf("targets %+v, want the tick function %s", targets.Targets, d.FunctionARNs["tick"])
		}

		// EventBridge may invoke the function: only from this rule.
		policy, err := lambda.NewFromConfig(cfg).GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: awssdk.String("autostop-tick")})
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Statement []struct {
				Principal map[string]string
				Action    string
				Condition map[string]map[string]string
			}
		}
		if err := json.Unmarshal([]byte(awssdk.ToString(policy.Policy)), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Statement) != 1 || doc.Statement[0].Principal["Service"] != "events.amazonaws.com" ||
			doc.Statement[0].Action != "lambda:InvokeFunction" || doc.Statement[0].Condition["ArnLike"]["AWS:SourceArn"] != ruleARN {
			t.Errorf("policy %s: want events.amazonaws.com may invoke it from %s", awssdk.ToString(policy.Policy), ruleARN)
		}

		// rate(1 minute) at scale 60: a Scheduled Event from the rule
		// about every second (at scale 1, none for a minute).
		var got []map[string]any
		for deadline := time.Now().Add(10 * time.Second); len(got) < 3; time.Sleep(100 * time.Millisecond) {
			if got = scheduledEvents(t, record); len(got) < 3 && time.Now().After(deadline) {
				t.Fatalf("%d scheduled events in 10 s, want 3 or more (one a second at scale %d)", len(got), app.LocalScheduleScale)
			}
		}
		for _, ev := range got {
			if ev["detail-type"] != "Scheduled Event" || !reflect.DeepEqual(ev["resources"], []any{ruleARN}) {
				t.Errorf("event %v: want a Scheduled Event of %s", ev, ruleARN)
			}
		}
	})
}

// TestBackendOptions: the backend runs schedules at app.LocalScheduleScale
// unless the caller set a scale, and the caller's map is left as it was.
func TestBackendOptions(t *testing.T) {
	got := localdeploy.BackendOptions(localaws.Options{Region: "eu-west-1", KumoEnv: map[string]string{"OTHER": "x"}})
	want := map[string]string{"OTHER": "x", localdeploy.ScheduleScaleEnv: "60"}
	if got.Region != "eu-west-1" || !reflect.DeepEqual(got.KumoEnv, want) {
		t.Errorf("BackendOptions = region %q, kumo env %v; want eu-west-1, %v", got.Region, got.KumoEnv, want)
	}
	if app.LocalScheduleScale != 60 {
		t.Errorf("app.LocalScheduleScale = %d: update the expected scale", app.LocalScheduleScale)
	}

	mine := map[string]string{localdeploy.ScheduleScaleEnv: "1"}
	if got := localdeploy.BackendOptions(localaws.Options{KumoEnv: mine}); got.KumoEnv[localdeploy.ScheduleScaleEnv] != "1" {
		t.Errorf("a scale the caller set became %q", got.KumoEnv[localdeploy.ScheduleScaleEnv])
	}
	if len(mine) != 1 {
		t.Errorf("the caller's map was changed: %v", mine)
	}

	// Realistic timing: the one switch, AUTOSTOP_REALISTIC_TIMING.
	for env, want := range map[string]bool{"": false, "0": false, "1": true, "true": true, "yes": false} {
		t.Setenv(localaws.RealisticTimingEnv, env)
		if got := localdeploy.BackendOptions(localaws.Options{}).RealisticTiming; got != want {
			t.Errorf("%s=%q: RealisticTiming %v, want %v", localaws.RealisticTimingEnv, env, got, want)
		}
	}
	t.Setenv(localaws.RealisticTimingEnv, "")
	if !localdeploy.BackendOptions(localaws.Options{RealisticTiming: true}).RealisticTiming {
		t.Error("RealisticTiming asked by the options was dropped")
	}
}

// TestLocalMetricsPeriodMatchesTheWatcher: the period the local ALB front
// publishes RequestCount with is the one the idle watcher is configured
// with locally (IDLE_PERIOD_SECONDS), 1 s.
func TestLocalMetricsPeriodMatchesTheWatcher(t *testing.T) {
	period, err := localdeploy.LocalSeconds(app.IdlePeriod)
	if err != nil || period != time.Second {
		t.Fatalf("LocalSeconds(app.IdlePeriod) = %v, %v; want 1s", period, err)
	}
	d := &localdeploy.Deployed{}
	found := false
	for _, f := range app.Description().Functions {
		ref, ok := f.EnvRefs[app.EnvIdlePeriodSeconds]
		if !ok {
			continue
		}
		found = true
		if v, err := d.Resolve(ref); err != nil || v != "1" {
			t.Errorf("function %s: %s = %q, %v locally; want %q, the front's period", f.ID, app.EnvIdlePeriodSeconds, v, err, "1")
		}
	}
	if !found {
		t.Errorf("no function of the app has %s", app.EnvIdlePeriodSeconds)
	}
	for _, bad := range []app.Value{{Literal: "x"}, {Local: "0"}, {}} {
		if _, err := localdeploy.LocalSeconds(bad); err == nil {
			t.Errorf("LocalSeconds(%+v): no error", bad)
		}
	}
	if got, err := localdeploy.LocalSeconds(app.Value{Literal: "60"}); err != nil || got != time.Minute {
		t.Errorf("LocalSeconds of a literal 60 = %v, %v; want 1m", got, err)
	}
}

// scheduledEvents reads what recordfn recorded.
func scheduledEvents(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var line struct{ Event map[string]any }
		if json.Unmarshal(sc.Bytes(), &line) == nil {
			out = append(out, line.Event)
		}
	}

	return out
}

func waitExecution(t *testing.T, states *sfn.Client, arn string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := states.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: awssdk.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		switch d.Status {
		case sfntypes.ExecutionStatusSucceeded:
			return awssdk.ToString(d.Output)
		case sfntypes.ExecutionStatusRunning:
		default:
			t.Fatalf("execution %s: %s %s %s", arn, d.Status, awssdk.ToString(d.Error), awssdk.ToString(d.Cause))
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still running", arn)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
