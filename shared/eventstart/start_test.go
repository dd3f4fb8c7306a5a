package eventstart

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/steperr"
)

func TestStart(t *testing.T) {
	newLB := sampleEvent(t, sampleNew)
	existing := sampleEvent(t, sampleExisting)
	deleted := sampleEvent(t, sampleDeleted)
	cfg := Config{AttachStateMachineARN: fakeAttachARN, DetachStateMachineARN: fakeDetachARN}
	execARN := ExecutionARN(fakeAttachARN, "evt-"+newLB.ID)
	otherID := func(id string) events.EventBridgeEvent { e := newLB; e.ID = id; return e }
	attach := func(ev events.EventBridgeEvent) Result {
		return Result{EventID: ev.ID, DetailType: DetailTypeRuleCreated, Rule: "app", Host: "app.autostop.example.com", LoadBalancer: "autostop-demo",
			StateMachineARN: fakeAttachARN, ExecutionName: "evt-" + ev.ID, ExecutionARN: ExecutionARN(fakeAttachARN, "evt-"+ev.ID)}
	}
	started := func(r Result) Result { r.Started = true; return r }
	status := func(r Result, s string) Result { r.Status = s; return r }

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
			name:      "created rule with a spec starts AttachRule named from the event id",
			ev:        newLB,
			want:      started(attach(newLB)),
			wantCalls: []string{"DescribeExecution", "StartExecution"},
			wantExecs: 1,
		},
		{
			name: "created rule on an existing load balancer starts AttachRule",
			ev:   existing,
			want: Result{EventID: existing.ID, DetailType: DetailTypeRuleCreated, Rule: "reports", Host: "reports.autostop.example.com", LoadBalancer: "autostop-demo",
				StateMachineARN: fakeAttachARN, ExecutionName: "evt-" + existing.ID, ExecutionARN: ExecutionARN(fakeAttachARN, "evt-"+existing.ID), Started: true},
			wantCalls: []string{"DescribeExecution", "StartExecution"},
			wantExecs: 1,
		},
		{
			name: "deleted rule starts DetachRule",
			ev:   deleted,
			want: Result{EventID: deleted.ID, DetailType: DetailTypeRuleDeleted, Rule: "app", Host: "app.autostop.example.com",
				StateMachineARN: fakeDetachARN, ExecutionName: "evt-" + deleted.ID, ExecutionARN: ExecutionARN(fakeDetachARN, "evt-"+deleted.ID), Started: true},
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
			want:      status(attach(newLB), "RUNNING"),
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
			want:      status(attach(newLB), "FAILED"),
			wantCalls: []string{"DescribeExecution"},
			wantExecs: 1,
		},
		{
			name: "redelivered deleted rule: no second start",
			before: func(t *testing.T, f *fakeSFN) {
				if _, err := Start(t.Context(), f, cfg, deleted); err != nil {
					t.Fatal(err)
				}
				f.calls = nil
			},
			ev: deleted,
			want: Result{EventID: deleted.ID, DetailType: DetailTypeRuleDeleted, Rule: "app", Host: "app.autostop.example.com",
				StateMachineARN: fakeDetachARN, ExecutionName: "evt-" + deleted.ID, ExecutionARN: ExecutionARN(fakeDetachARN, "evt-"+deleted.ID), Status: "RUNNING"},
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
			want:      status(attach(newLB), "SUCCEEDED"),
			wantCalls: []string{"DescribeExecution", "StartExecution", "DescribeExecution"},
			wantExecs: 1,
		},
		{
			name: "another event for the same rule starts its own execution",
			before: func(t *testing.T, f *fakeSFN) {
				if _, err := Start(t.Context(), f, cfg, newLB); err != nil {
					t.Fatal(err)
				}
				f.calls = nil
			},
			ev:        otherID("11111111-2222-3333-4444-555555555555"),
			want:      started(attach(otherID("11111111-2222-3333-4444-555555555555"))),
			wantCalls: []string{"DescribeExecution", "StartExecution"},
			wantExecs: 2,
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
			want:      func() Result { r := attach(newLB); r.ExecutionARN = ""; return r }(),
			wantCalls: []string{"DescribeExecution", "StartExecution"},
			wantErr:   "Throttled",
		},
		{
			name:    "missing configuration",
			cfg:     &Config{AttachStateMachineARN: fakeAttachARN},
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

// TestStartInputIsTheDetail: the execution's input is the event's detail,
// as the workflow takes it (the same parser accepts it and reads the same
// values), and the same event always yields the same input.
func TestStartInputIsTheDetail(t *testing.T) {
	cfg := Config{AttachStateMachineARN: fakeAttachARN, DetachStateMachineARN: fakeDetachARN}
	for _, file := range []string{sampleNew, sampleExisting, sampleDeleted} {
		t.Run(file, func(t *testing.T) {
			ev := sampleEvent(t, file)
			f := newFakeSFN()
			res, err := Start(t.Context(), f, cfg, ev)
			if err != nil {
				t.Fatal(err)
			}
			input := f.execs[res.ExecutionARN].input

			var got, want any
			if ev.DetailType == DetailTypeRuleCreated {
				got, err = ParseDetail([]byte(input))
				want, _ = ParseDetail(ev.Detail)
			} else {
				got, err = ParseDeletedDetail([]byte(input))
				want, _ = ParseDeletedDetail(ev.Detail)
			}
			if err != nil {
				t.Fatalf("input %s: %v", input, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("input %s reads as %+v, the event's detail as %+v", input, got, want)
			}

			// A second fake, the same event: byte-identical input (AWS
			// compares inputs to tell an idempotent StartExecution from a
			// conflict).
			f2 := newFakeSFN()
			if _, err := Start(t.Context(), f2, cfg, ev); err != nil {
				t.Fatal(err)
			}
			if f2.execs[res.ExecutionARN].input != input {
				t.Errorf("inputs differ: %s vs %s", f2.execs[res.ExecutionARN].input, input)
			}
		})
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
	got := ExecutionARN("arn:aws:states:eu-west-1:123456789012:stateMachine:attach", "evt-1")
	if want := "arn:aws:states:eu-west-1:123456789012:execution:attach:evt-1"; got != want {
		t.Errorf("ExecutionARN = %q, want %q", got, want)
	}
}

func TestConfigFromEnv(t *testing.T) {
	t.Setenv(EnvAttachStateMachineARN, "arn:aws:states:eu-west-1:123456789012:stateMachine:attach")
	t.Setenv(EnvDetachStateMachineARN, "arn:aws:states:eu-west-1:123456789012:stateMachine:detach")
	cfg, err := ConfigFromEnv()
	if err != nil || cfg.Region() != "eu-west-1" {
		t.Errorf("ConfigFromEnv = %+v, %v; want region eu-west-1", cfg, err)
	}
	for _, env := range []string{EnvAttachStateMachineARN, EnvDetachStateMachineARN} {
		for _, bad := range []string{"", "provision", "arn:aws:lambda:eu-west-1:123456789012:function:x", "arn:aws:states:us-east-1:123456789012:stateMachine:other-region"} {
			t.Run(env+"="+bad, func(t *testing.T) {
				t.Setenv(env, bad)
				if _, err := ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), env) {
					t.Errorf("%s=%q: error %v, want one naming %s", env, bad, err, env)
				}
			})
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
