package sleep

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

// TestHandler: the handler maps a step's error (the name the state machine
// sees) and logs each result and error as JSON with the sleep it belongs to.
func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	step := func(_ context.Context, _ Deps, in Input) (WaitResult, error) {
		if in.Host == "bad" {
			return WaitResult{Checks: 3}, fmt.Errorf("wait: %w", steperr.NotStoppedYet("i-1 stopping"))
		}
		return WaitResult{Done: true}, nil
	}
	h := Handler("WaitStopped", step, Deps{}, log)

	in := testInput()
	got, err := h(context.Background(), in)
	if err != nil || !got.Done {
		t.Fatalf("handler = %+v, %v", got, err)
	}
	in.Host = "bad"
	got, err = h(context.Background(), in)
	if _, ok := err.(*steperr.NotStopped); !ok || err.Error() != "wait: i-1 stopping" {
		t.Errorf("error %T %v, want *steperr.NotStopped", err, err)
	}
	if got.Checks != 0 {
		t.Errorf("result %+v on error, want the zero result", got)
	}

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"step done", "step failed"} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", lines[i], err)
		}
		if rec["msg"] != want || rec["step"] != "WaitStopped" || rec["execution"] != testExec ||
			rec["sleepRequestedAt"] != in.SleepRequestedAt || rec["reason"] != string(rulestore.SleepIdle) {
			t.Errorf("log line %s, want %q with the step, execution, sleepRequestedAt and reason", lines[i], want)
		}
	}
}

// TestNewDeps: the EC2 and ELBv2 clients are made for the region asked for
// (the rule's), whatever the function's.
func TestNewDeps(t *testing.T) {
	d := NewDeps(aws.Config{Region: "us-east-1"}, rulestore.New(nil, "autostop-rules"), nil)
	if d.Rules == nil || d.Waker != nil || d.Now != nil || d.Sleep != nil {
		t.Fatalf("NewDeps = %+v", d)
	}
	ec2Client, ok := d.EC2(testRegion).(*ec2.Client)
	if !ok {
		t.Fatalf("EC2 client %T, want *ec2.Client", d.EC2(testRegion))
	}
	elbClient, ok := d.ELBv2(testRegion).(*elbv2.Client)
	if !ok {
		t.Fatalf("ELBv2 client %T, want *elasticloadbalancingv2.Client", d.ELBv2(testRegion))
	}
	if r1, r2 := ec2Client.Options().Region, elbClient.Options().Region; r1 != testRegion || r2 != testRegion {
		t.Errorf("clients for %s and %s, want %s", r1, r2, testRegion)
	}
	if w := NewDeps(aws.Config{}, nil, &fakeWaker{}).Waker; w == nil {
		t.Error("the waker given is not kept")
	}
}

// TestDepsDefaults: without Now and Sleep, the steps use the real clock, and
// a sleep ends with the context.
func TestDepsDefaults(t *testing.T) {
	var d Deps
	if now := d.now(); time.Since(now) > time.Minute || time.Until(now) > time.Minute {
		t.Errorf("now = %v, want the real time", now)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := d.sleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("sleep with a cancelled context = %v, want %v", err, context.Canceled)
	}
	if err := d.sleep(context.Background(), 0); err != nil {
		t.Errorf("sleep(0) = %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("the sleeps took %v", took)
	}
}
