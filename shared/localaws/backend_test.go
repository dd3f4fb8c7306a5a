package localaws_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

func TestDeployFunctionRunsRealBinaryThroughRuntimeAPI(t *testing.T) {
	ctx := context.Background()
	b := localawstest.Start(t)
	bin := localawstest.BuildFunction(t, "./testdata/echo")

	cfg := localaws.FunctionConfig{Name: "echo", TimeoutSec: 10, MemoryMB: 128, Env: map[string]string{"GREETING": "hello"}}
	if err := b.DeployFunction(ctx, cfg, bin); err != nil {
		t.Fatal(err)
	}

	awsCfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := lambda.NewFromConfig(awsCfg).Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String("echo"),
		Payload:      []byte(`{"ping":1}`),
	})
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	if out.FunctionError != nil {
		t.Fatalf("function error %s: %s", *out.FunctionError, out.Payload)
	}

	var got struct {
		Event    map[string]int `json:"event"`
		Function string         `json:"function"`
		Greeting string         `json:"greeting"`
	}
	if err := json.Unmarshal(out.Payload, &got); err != nil {
		t.Fatalf("decode %s: %v", out.Payload, err)
	}
	if got.Event["ping"] != 1 || got.Function != "echo" || got.Greeting != "hello" {
		t.Fatalf("echo returned %s; want the event, function name and configured environment", out.Payload)
	}
}

func TestProxyRecordsAndInjectsFaults(t *testing.T) {
	ctx := context.Background()
	b := localawstest.Start(t)

	url, err := b.Proxy().Listen("client")
	if err != nil {
		t.Fatal(err)
	}
	awsCfg, err := localaws.ConfigFor(ctx, url, b.Region())
	if err != nil {
		t.Fatal(err)
	}
	awsCfg.RetryMaxAttempts = 1
	client := lambda.NewFromConfig(awsCfg)

	b.Proxy().FailNth("lambda", "ListFunctions", 2, awsproxy.AccessDenied)

	if _, err := client.ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("first ListFunctions: %v", err)
	}
	_, err = client.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	var apiErr interface{ ErrorCode() string }
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Fatalf("second ListFunctions: got %v, want AccessDenied", err)
	}

	calls := b.Proxy().Calls()
	if len(calls) != 2 {
		t.Fatalf("recorded %d calls, want 2: %+v", len(calls), calls)
	}
	for i, c := range calls {
		if c.Caller != "client" || c.Service != "lambda" || c.Operation != "ListFunctions" || c.Mutating {
			t.Errorf("call %d = %+v", i, c)
		}
	}
	if calls[0].Fault != "" || calls[1].Fault != "AccessDenied" || calls[1].Status != 403 {
		t.Errorf("faults recorded as %q/%q status %d", calls[0].Fault, calls[1].Fault, calls[1].Status)
	}

	// A fault for one caller: another caller's calls neither fail nor count.
	otherURL, err := b.Proxy().Listen("other")
	if err != nil {
		t.Fatal(err)
	}
	otherCfg, err := localaws.ConfigFor(ctx, otherURL, b.Region())
	if err != nil {
		t.Fatal(err)
	}
	otherCfg.RetryMaxAttempts = 1
	other := lambda.NewFromConfig(otherCfg)
	b.Proxy().ClearFaults()
	b.Proxy().FailNthBy("client", "lambda", "ListFunctions", 1, awsproxy.AccessDenied)
	if _, err := other.ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
		t.Errorf("another caller's ListFunctions: %v", err)
	}
	if _, err := client.ListFunctions(ctx, &lambda.ListFunctionsInput{}); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Errorf("the caller's first ListFunctions: got %v, want AccessDenied", err)
	}
}

// TestNoOrphansAfterSignal runs a program that holds the backend with a
// function process, stops it with SIGTERM (and, in a second run, SIGKILL,
// which leaves cleanup to the kernel), and checks every process it started
// is gone.
func TestNoOrphansAfterSignal(t *testing.T) {
	kumo, err := localaws.FindKumo()
	if err != nil {
		t.Fatal(err)
	}
	holder := localawstest.BuildFunction(t, "./testdata/holdbackend")
	echo := localawstest.BuildFunction(t, "./testdata/echo")

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(holder, kumo, echo)
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				_ = cmd.Process.Kill()
				t.Fatalf("read pids: %v", err)
			}
			var pids []int
			if err := json.Unmarshal([]byte(line), &pids); err != nil || len(pids) != 2 {
				_ = cmd.Process.Kill()
				t.Fatalf("pids line %q: %v", line, err)
			}
			for _, pid := range pids {
				if !localawstest.Running(pid) {
					t.Fatalf("process %d not running before the signal", pid)
				}
			}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()

			deadline := time.Now().Add(10 * time.Second)
			for _, pid := range pids {
				for localawstest.Running(pid) {
					if time.Now().After(deadline) {
						t.Fatalf("process %d still running after %v of the holder", pid, sig)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
}

// TestFunctionScalesOutLikeLambda: one process answers one invocation at a
// time; concurrent invocations get more processes, up to MaxProcesses.
func TestFunctionScalesOutLikeLambda(t *testing.T) {
	ctx := context.Background()
	b := localawstest.Start(t)
	bin := localawstest.BuildFunction(t, "./testdata/echo")
	if err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: "echo", TimeoutSec: 30, MemoryMB: 128, MaxProcesses: 3}, bin); err != nil {
		t.Fatal(err)
	}
	awsCfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Rounds of 6 concurrent invocations that each hold their process for
	// a while: the first round makes the runner scale out; every round is
	// served by at most 3 processes.
	pids := map[int]int{}
	for range 3 {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				out, err := lambda.NewFromConfig(awsCfg).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"sleepMillis":300}`)})
				if err != nil {
					t.Error(err)
					return
				}
				var got struct{ PID int }
				if err := json.Unmarshal(out.Payload, &got); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				pids[got.PID]++
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	if len(pids) < 2 || len(pids) > 3 {
		t.Errorf("18 invocations (6 at a time) were served by %d processes %v, want 2–3 (MaxProcesses 3)", len(pids), pids)
	}
}
