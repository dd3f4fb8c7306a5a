package localdeploy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localdeploy"
)

// testApp has one function, one state machine calling it from an ASL file
// with substitutions, and a bus whose rule starts the state machine.
func testApp() app.App {
	return app.App{
		Functions: []app.Function{{ID: "echo", TimeoutSec: 10, MemoryMB: 128, Env: map[string]string{"GREETING": "configured"}}},
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
	b := localawstest.Start(t)

	binDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(binDir, "echo"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(localawstest.BuildFunction(t, "../localaws/testdata/echo"), filepath.Join(binDir, "echo", "bootstrap")); err != nil {
		t.Fatal(err)
	}

	d, err := localdeploy.Deploy(ctx, b, testApp(), localdeploy.Options{RepoRoot: ".", BinDir: binDir})
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
