package eventstart

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

func TestStart(t *testing.T) {
	newLB := sampleEvent(t, sampleNew)
	existing := sampleEvent(t, sampleExisting)
	cfg := Config{StateMachineARN: fakeStateMachineARN}
	execARN := ExecutionARN(fakeStateMachineARN, "evt-"+newLB.ID)
	otherID := func(id string) events.EventBridgeEvent { e := newLB; e.ID = id; return e }

	tests := []struct {
		name string
		// before runs on the fake before the call (earlier deliveries, faults).
		before    func(t *testing.T, f *fakeSFN)
		ev        events.EventBridgeEvent
		cfg       *Config
		want      Result
		wantCalls []string
		wantErr   string // error type name ("" for success)
		wantExecs int
	}{
		{
			name:      "new event starts an execution named from the event id",
			ev:        newLB,
			want:      Result{EventID: newLB.ID, Rule: "app", LoadBalancer: "autostop-demo", ExecutionName: "evt-" + newLB.ID, ExecutionARN: execARN, Started: true},
			wantCalls: []string{"DescribeExecution", "StartExecution"},
			wantExecs: 1,
		},
		{
			name: "redelivered while running: no second start",
			before: func(t *testing.T, f *fakeSFN) {
				if _, err := Start(t.Context(), f, cfg, newLB); err != nil {
					t.Fatal(err)
				}
				f.calls = nil
			},
			ev:        newLB,
			want:      Result{EventID: newLB.ID, Rule: "app", LoadBalancer: "autostop-demo", ExecutionName: "evt-" + newLB.ID, ExecutionARN: execARN, Status: "RUNNING"},
			wantCalls: []string{"DescribeExecution"},
			wantExecs: 1,
		},
		{
			name: "redelivered after the execution closed",
			before: func(t *testing.T, f *fakeSFN) {
				if _, err := Start(t.Context(), f, cfg, newLB); err != nil {
					t.Fatal(err)
				}
				f.execs[execARN].status = sfntypes.ExecutionStatusFailed
				f.calls = nil
			},
			ev:        newLB,
			want:      Result{EventID: newLB.ID, Rule: "app", LoadBalancer: "autostop-demo", ExecutionName: "evt-" + newLB.ID, ExecutionARN: execARN, Status: "FAILED"},
			wantCalls: []string{"DescribeExecution"},
			wantExecs: 1,
		},
		{
			name: "concurrent delivery starts it first: ExecutionAlreadyExists is already started",
			before: func(t *testing.T, f *fakeSFN) {
				f.beforeStart = func(f *fakeSFN) {
					f.beforeStart = nil
					f.execs[execARN] = &fakeExec{name: "evt-" + newLB.ID, input: "{}", status: sfntypes.ExecutionStatusSucceeded}
				}
			},
			ev:        newLB,
			want:      Result{EventID: newLB.ID, Rule: "app", LoadBalancer: "autostop-demo", ExecutionName: "evt-" + newLB.ID, ExecutionARN: execARN, Status: "SUCCEEDED"},
			wantCalls: []string{"DescribeExecution", "StartExecution", "DescribeExecution"},
			wantExecs: 1,
		},
		{
			name: "another event for the same load balancer starts its own execution",
			before: func(t *testing.T, f *fakeSFN) {
				if _, err := Start(t.Context(), f, cfg, newLB); err != nil {
					t.Fatal(err)
				}
				f.calls = nil
			},
			ev: otherID("11111111-2222-3333-4444-555555555555"),
			want: Result{EventID: "11111111-2222-3333-4444-555555555555", Rule: "app", LoadBalancer: "autostop-demo",
				ExecutionName: "evt-11111111-2222-3333-4444-555555555555",
				ExecutionARN:  ExecutionARN(fakeStateMachineARN, "evt-11111111-2222-3333-4444-555555555555"), Started: true},
			wantCalls: []string{"DescribeExecution", "StartExecution"},
			wantExecs: 2,
		},
		{
			name: "existing load balancer by name: skipped without calls",
			ev:   existing,
			want: Result{EventID: existing.ID, Rule: "reports", LoadBalancer: "autostop-demo", Skipped: true,
				Reason: `the event names the existing load balancer "autostop-demo": attaching rules to it is not implemented yet, nothing to provision`},
		},
		{
			name:    "invalid event: InvalidRequest without calls",
			ev:      withDetail(t, newLB, func(d map[string]any) { d["typo"] = true }),
			want:    Result{EventID: newLB.ID},
			wantErr: "InvalidRequest",
		},
		{
			name:    "wrong detail-type: InvalidRequest without calls",
			ev:      func() events.EventBridgeEvent { e := newLB; e.DetailType = "Other"; return e }(),
			want:    Result{EventID: newLB.ID},
			wantErr: "InvalidRequest",
		},
		{
			name: "throttled start is reported as Throttled",
			before: func(t *testing.T, f *fakeSFN) {
				f.errs["StartExecution"] = []error{&smithy.GenericAPIError{Code: "ThrottlingException"}}
			},
			ev:        newLB,
			want:      Result{EventID: newLB.ID, Rule: "app", LoadBalancer: "autostop-demo", ExecutionName: "evt-" + newLB.ID},
			wantCalls: []string{"DescribeExecution", "StartExecution"},
			wantErr:   "Throttled",
		},
		{
			name:    "missing configuration",
			cfg:     &Config{},
			ev:      newLB,
			want:    Result{EventID: newLB.ID},
			wantErr: "Internal",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSFN()
			if tt.before != nil {
				tt.before(t, f)
			}
			c := cfg
			if tt.cfg != nil {
				c = *tt.cfg
			}

			got, err := Start(t.Context(), f, c, tt.ev)

			if name := errName(err); name != tt.wantErr {
				t.Fatalf("error %v reports as %q, want %q", err, name, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result\n got %+v\nwant %+v", got, tt.want)
			}
			if !reflect.DeepEqual(f.calls, tt.wantCalls) {
				t.Errorf("calls %v, want %v", f.calls, tt.wantCalls)
			}
			if len(f.execs) != tt.wantExecs {
				t.Errorf("%d executions, want %d", len(f.execs), tt.wantExecs)
			}
		})
	}
}

// TestStartInputIsTheSpec: the execution's input is the spec, as
// ProvisionLoadBalancer takes it (spec.Parse and Check accept it, equal to
// the event's), and the same event always yields the same input.
func TestStartInputIsTheSpec(t *testing.T) {
	ev := sampleEvent(t, sampleNew)
	f := newFakeSFN()
	res, err := Start(t.Context(), f, Config{StateMachineARN: fakeStateMachineARN}, ev)
	if err != nil {
		t.Fatal(err)
	}

	input := f.execs[res.ExecutionARN].input
	got, err := spec.Parse([]byte(input))
	if err != nil {
		t.Fatalf("input %s: %v", input, err)
	}
	if err := got.Check(); err != nil {
		t.Errorf("input fails Check: %v", err)
	}

	var detail struct {
		LoadBalancer struct {
			Spec json.RawMessage `json:"spec"`
		} `json:"loadBalancer"`
	}
	if err := json.Unmarshal(ev.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	var want, have any
	_ = json.Unmarshal(detail.LoadBalancer.Spec, &want)
	_ = json.Unmarshal([]byte(input), &have)
	if !reflect.DeepEqual(have, want) {
		t.Errorf("input %s, want the event's spec %s", input, detail.LoadBalancer.Spec)
	}

	// A second fake, the same event: byte-identical input (AWS compares
	// inputs to tell an idempotent StartExecution from a conflict).
	f2 := newFakeSFN()
	if _, err := Start(t.Context(), f2, Config{StateMachineARN: fakeStateMachineARN}, ev); err != nil {
		t.Fatal(err)
	}
	if f2.execs[res.ExecutionARN].input != input {
		t.Errorf("inputs differ: %s vs %s", f2.execs[res.ExecutionARN].input, input)
	}
}

func TestExecutionName(t *testing.T) {
	long := strings.Repeat("a", 100)
	tests := []struct {
		id, want string
	}{
		{"6a7e8feb-b491-4cf7-a9f1-bf3703467718", "evt-6a7e8feb-b491-4cf7-a9f1-bf3703467718"},
		{"abc_DEF-123", "evt-abc_DEF-123"},
		{"a.b", "evt-a-b-" + hash16("a.b")},
		{"a:b", "evt-a-b-" + hash16("a:b")},
		{"é b", "evt---b-" + hash16("é b")},
		{long, "evt-" + long[:80-4-17] + "-" + hash16(long)},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := ExecutionName(tt.id)
		if got != tt.want {
			t.Errorf("ExecutionName(%q) = %q, want %q", tt.id, got, tt.want)
		}
		if len(got) > MaxExecutionNameLength {
			t.Errorf("ExecutionName(%q) is %d characters long", tt.id, len(got))
		}
		if other, ok := seen[got]; ok {
			t.Errorf("ids %q and %q share the name %q", other, tt.id, got)
		}
		seen[got] = tt.id
	}
}

func TestExecutionARN(t *testing.T) {
	got := ExecutionARN("arn:aws:states:eu-west-1:123456789012:stateMachine:provision", "evt-1")
	if want := "arn:aws:states:eu-west-1:123456789012:execution:provision:evt-1"; got != want {
		t.Errorf("ExecutionARN = %q, want %q", got, want)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv(EnvStateMachineARN, "arn:aws:states:eu-west-1:123456789012:stateMachine:provision")
	cfg, err := ConfigFromEnv()
	if err != nil || cfg.Region() != "eu-west-1" {
		t.Errorf("ConfigFromEnv = %+v, %v; want region eu-west-1", cfg, err)
	}
	for _, bad := range []string{"", "provision", "arn:aws:lambda:eu-west-1:123456789012:function:x"} {
		t.Setenv(EnvStateMachineARN, bad)
		if _, err := ConfigFromEnv(); err == nil {
			t.Errorf("%s=%q accepted", EnvStateMachineARN, bad)
		}
	}
}

// hash16 is the first 16 hex digits of the id's SHA-256.
func hash16(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])[:16]
}

// errName is the error's name as Step Functions sees it (after the handler
// boundary's steperr.Map), "" for nil.
func errName(err error) string {
	if err == nil {
		return ""
	}
	var (
		inv *steperr.InvalidRequest
		thr *steperr.Throttled
		in  *steperr.Internal
	)
	switch m := steperr.Map(err); {
	case errors.As(m, &inv):
		return "InvalidRequest"
	case errors.As(m, &thr):
		return "Throttled"
	case errors.As(m, &in):
		return "Internal"
	default:
		return fmt.Sprintf("%T", m)
	}
}
