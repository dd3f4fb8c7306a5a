package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

const machineARN = "arn:aws:states:us-east-1:123456789012:stateMachine:autostop-provision-load-balancer"

const validSpec = `{
  "name": "web",
  "vpcId": "vpc-0123abcd",
  "domain": "autostop",
  "dns": {"provider": "route53", "hostedZoneId": "Z0123456789ABCDEFGHIJ"},
  "certificate": {"arn": "arn:aws:acm:us-east-1:123456789012:certificate/0f0e-1234"}
}`

func writeSpec(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}

	return path
}

func machinePages() [][]types.StateMachineListItem {
	item := func(name string) types.StateMachineListItem {
		return types.StateMachineListItem{Name: aws.String(name), StateMachineArn: aws.String("arn:aws:states:us-east-1:123456789012:stateMachine:" + name)}
	}

	return [][]types.StateMachineListItem{
		{item("other-1"), item("other-2")},
		{item("autostop-provision-load-balancer-old")},
		{item("other-3"), item(DefaultStateMachine)},
	}
}

// batches splits a history into polls of n events.
func batches(h *history, n int) [][]types.HistoryEvent {
	var out [][]types.HistoryEvent
	for i := 0; i < len(h.events); i += n {
		out = append(out, h.events[i:min(i+n, len(h.events))])
	}

	return out
}

type runResult struct {
	code           int
	stdout, stderr string
	fake           *fakeStates
	clientBuilt    bool
}

func run(t *testing.T, ctx context.Context, fake *fakeStates, args ...string) runResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	r := runResult{fake: fake}
	c := &CLI{
		Stdout: &stdout, Stderr: &stderr,
		NewClient: func(context.Context, ClientOptions) (StepFunctions, Endpoint, error) {
			r.clientBuilt = true
			return fake, Endpoint{Region: "us-east-1", URL: "http://127.0.0.1:4566"}, nil
		},
		PollInterval: time.Millisecond,
		Now:          func() time.Time { return time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC) },
		Random:       bytes.NewReader([]byte{0x0a, 0x0b}),
	}
	r.code = c.Run(ctx, args)
	r.stdout, r.stderr = stdout.String(), stderr.String()

	return r
}

func TestLbCreateEndsWithExecution(t *testing.T) {
	failed := sfn.DescribeExecutionOutput{Status: types.ExecutionStatusFailed, Error: aws.String("AccessDenied"), Cause: aws.String(deniedCause)}
	succeeded := sfn.DescribeExecutionOutput{Status: types.ExecutionStatusSucceeded, Output: aws.String(provisionedOutput)}
	tests := []struct {
		name       string
		history    *history
		final      sfn.DescribeExecutionOutput
		args       []string
		wantCode   int
		wantStdout []string // substrings, in order
		wantStderr []string
		notStdout  []string
	}{
		{
			name: "success", history: successHistory(), final: succeeded, wantCode: ExitOK,
			wantStdout: []string{
				"Provisioning load balancer web from",
				"execution      cli-web-20250102T150405Z-0a0b",
				"  ↻ WaitForLoadBalancer: waiting for the load balancer, check 1, next in 15s",
				"  ✓ WaitForLoadBalancer  15.2s",
				"  ✓ Provisioned",
				"Load balancer web is ready",
				"DNS name        web-1.elb.localhost",
				"Wildcard        *.autostop.example.test",
				"Certificate     arn:aws:acm:us-east-1:123456789012:certificate/c1 (ISSUED)",
				"Records written in Route 53:",
				"*.autostop.example.test  A  ALIAS web-1.elb.localhost",
				"Created by this execution (5):",
				"security-group  sg-1",
				"Updated by this execution (1):",
				"Adopted (existed already, used as is) (1):",
				"certificate  arn:aws:acm:us-east-1:123456789012:certificate/c1",
			},
			notStdout: []string{"Add these records"},
		},
		{
			name: "retry then success", history: retryHistory(), final: succeeded, wantCode: ExitOK,
			wantStdout: []string{"Throttled: create load balancer web: api error Throttling: Rate exceeded (retrying)", "✓ EnsureLoadBalancer  0.5s", "is ready"},
		},
		{
			name: "failure with rollback", history: rollbackHistory(), final: failed, wantCode: ExitFailed,
			wantStdout: []string{
				"✗ EnsureListeners: AccessDenied: create listener: not authorized",
				"Execution FAILED.",
				"Error: AccessDenied",
				"Cause: create listener: not authorized",
				"Rollback: deleted 2 resource(s), 0 left.",
				"load-balancer  arn:lb",
			},
			notStdout: []string{"is ready"},
		},
		{
			name: "json output on success", history: successHistory(), final: succeeded, args: []string{"--output", "json"}, wantCode: ExitOK,
			wantStdout: []string{`"loadBalancerDnsName": "web-1.elb.localhost"`},
			wantStderr: []string{"→ Validate", "✓ Provisioned"},
			notStdout:  []string{"→", "is ready"},
		},
		{
			name: "json output on failure", history: rollbackHistory(), final: failed, args: []string{"--output", "json"}, wantCode: ExitFailed,
			wantStdout: []string{`"status": "FAILED"`, `"error": "AccessDenied"`, `"rollback": {`},
			wantStderr: []string{"✗ EnsureListeners", "Execution FAILED."},
			notStdout:  []string{"→"},
		},
		{
			name: "timed out", history: newHistory().task("Validate", 0).add(types.HistoryEventTypeExecutionTimedOut, 0, nil),
			final: sfn.DescribeExecutionOutput{Status: types.ExecutionStatusTimedOut}, wantCode: ExitFailed,
			wantStdout: []string{"Execution TIMED_OUT."},
		},
		{
			name: "aborted, without end event", history: newHistory().task("Validate", 0),
			final: sfn.DescribeExecutionOutput{Status: types.ExecutionStatusAborted}, wantCode: ExitFailed,
			wantStdout: []string{"✓ Validate", "Execution ABORTED."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeStates{pages: machinePages(), definition: definition, batches: batches(tt.history, 5), final: tt.final}
			args := append([]string{"lb", "create", "-f", writeSpec(t, validSpec)}, tt.args...)
			r := run(t, context.Background(), fake, args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.wantCode, r.stdout, r.stderr)
			}
			assertInOrder(t, "stdout", r.stdout, tt.wantStdout)
			assertInOrder(t, "stderr", r.stderr, tt.wantStderr)
			for _, s := range tt.notStdout {
				if strings.Contains(r.stdout, s) {
					t.Errorf("stdout has %q:\n%s", s, r.stdout)
				}
			}
		})
	}
}

func TestLbCreateStartsTheExecution(t *testing.T) {
	fake := &fakeStates{pages: machinePages(), batches: batches(successHistory(), 100),
		final: sfn.DescribeExecutionOutput{Status: types.ExecutionStatusSucceeded, Output: aws.String(provisionedOutput)}}
	r := run(t, context.Background(), fake, "lb", "create", "-f", writeSpec(t, validSpec))
	if r.code != ExitOK {
		t.Fatalf("exit code %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	in := fake.started
	if got, want := aws.ToString(in.StateMachineArn), aws.ToString(machinePages()[2][1].StateMachineArn); got != want {
		t.Errorf("state machine %s, want %s", got, want)
	}
	if got := aws.ToString(in.Name); got != "cli-web-20250102T150405Z-0a0b" {
		t.Errorf("execution name %q", got)
	}
	var input map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(in.Input)), &input); err != nil || input["name"] != "web" || strings.Contains(aws.ToString(in.Input), "\n") {
		t.Errorf("input %q (%v): want the spec, compacted", aws.ToString(in.Input), err)
	}
	// Without a definition (no DescribeStateMachine permission), waits
	// show without their duration.
	if !strings.Contains(r.stdout, "  ↻ WaitForLoadBalancer: waiting for the load balancer, check 1\n") {
		t.Errorf("wait line:\n%s", r.stdout)
	}
}

func TestLbCreateFlags(t *testing.T) {
	succeeded := sfn.DescribeExecutionOutput{Status: types.ExecutionStatusSucceeded, Output: aws.String(provisionedOutput)}
	t.Run("name and state machine ARN", func(t *testing.T) {
		fake := &fakeStates{batches: batches(successHistory(), 100), final: succeeded}
		r := run(t, context.Background(), fake, "lb", "create", "--file", writeSpec(t, validSpec), "--name", "my_run-1", "--state-machine", machineARN)
		if r.code != ExitOK {
			t.Fatalf("exit code %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if fake.listCalls != 0 || aws.ToString(fake.started.StateMachineArn) != machineARN || aws.ToString(fake.started.Name) != "my_run-1" {
			t.Errorf("list calls %d, started %s as %s", fake.listCalls, aws.ToString(fake.started.StateMachineArn), aws.ToString(fake.started.Name))
		}
	})
	t.Run("execution exists", func(t *testing.T) {
		fake := &fakeStates{pages: machinePages(), startErr: &types.ExecutionAlreadyExists{Message: aws.String("exists")}}
		r := run(t, context.Background(), fake, "lb", "create", "-f", writeSpec(t, validSpec), "--name", "again")
		if r.code != ExitFailed || !strings.Contains(r.stderr, `an execution named "again" already exists`) {
			t.Errorf("exit code %d, stderr:\n%s", r.code, r.stderr)
		}
	})
	t.Run("state machine not found", func(t *testing.T) {
		fake := &fakeStates{pages: machinePages()}
		r := run(t, context.Background(), fake, "lb", "create", "-f", writeSpec(t, validSpec), "--state-machine", "nope")
		if r.code != ExitFailed || !strings.Contains(r.stderr, `no state machine named "nope"`) || fake.started != nil {
			t.Errorf("exit code %d, started %v, stderr:\n%s", r.code, fake.started != nil, r.stderr)
		}
	})
}

func TestFindStateMachinePages(t *testing.T) {
	tests := []struct {
		name, find, want, wantErr string
		wantCalls                 int
	}{
		{"on the last page", DefaultStateMachine, "arn:aws:states:us-east-1:123456789012:stateMachine:" + DefaultStateMachine, "", 3},
		{"on the first page", "other-2", "arn:aws:states:us-east-1:123456789012:stateMachine:other-2", "", 1},
		{"prefix is no match", "autostop-provision", "", "no state machine named", 3},
		{"ARN as is", machineARN, machineARN, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeStates{pages: machinePages()}
			got, err := findStateMachine(context.Background(), fake, tt.find)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("got %q, %v; want %q, error %q", got, err, tt.want, tt.wantErr)
			}
			if fake.listCalls != tt.wantCalls {
				t.Errorf("%d ListStateMachines calls, want %d", fake.listCalls, tt.wantCalls)
			}
		})
	}
}

func TestUsageAndSpecErrors(t *testing.T) {
	specPath := writeSpec(t, validSpec)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"no command", nil, ExitUsage, "", "Available Commands:"},
		{"help", []string{"--help"}, ExitOK, "autostop lb create -f web.json", ""},
		{"lb help", []string{"lb", "--help"}, ExitOK, "autostop lb [command] --help", ""},
		{"lb create help", []string{"lb", "create", "--help"}, ExitOK, "statemachine/samples/", ""},
		{"unknown command", []string{"vm"}, ExitUsage, "", `unknown command "vm" for "autostop"`},
		{"unknown command, suggestion", []string{"lbs"}, ExitUsage, "", `did you mean lb?`},
		{"unknown lb command", []string{"lb", "frobnicate"}, ExitUsage, "", `unknown command "frobnicate" for "autostop lb"`},
		{"no file", []string{"lb", "create"}, ExitUsage, "", "-f spec.json is required"},
		{"unknown flag", []string{"lb", "create", "-f", specPath, "--regoin", "x"}, ExitUsage, "", "unknown flag: --regoin"},
		{"extra argument", []string{"lb", "create", "-f", specPath, "extra"}, ExitUsage, "", `unexpected argument "extra"`},
		{"bad output", []string{"lb", "create", "-f", specPath, "--output", "yaml"}, ExitUsage, "", `--output "yaml": use table, json`},
		{"mermaid is for history", []string{"lb", "create", "-f", specPath, "--output", "mermaid"}, ExitUsage, "", `--output "mermaid": use table, json`},
		{"bad name", []string{"lb", "create", "-f", specPath, "--name", "has space"}, ExitUsage, "", "letters, digits, hyphens and underscores"},
		{"long name", []string{"lb", "create", "-f", specPath, "--name", strings.Repeat("a", 81)}, ExitUsage, "", "1–80 letters"},
		{"missing file", []string{"lb", "create", "-f", filepath.Join(t.TempDir(), "none.json")}, ExitUsage, "", "read spec:"},
		{
			"unknown field", []string{"lb", "create", "-f", writeSpec(t, strings.Replace(validSpec, `"vpcId"`, `"vpc"`, 1))},
			ExitUsage, "", `unknown field "vpc"`,
		},
		{"not JSON", []string{"lb", "create", "-f", writeSpec(t, "name: web")}, ExitUsage, "", "parse load balancer spec"},
		{"trailing data", []string{"lb", "create", "-f", writeSpec(t, validSpec+"{}")}, ExitUsage, "", "unexpected data after the JSON object"},
		{
			"invalid spec", []string{"lb", "create", "-f", writeSpec(t, strings.Replace(validSpec, `"web"`, `"-web"`, 1))},
			ExitUsage, "", "invalid load balancer spec:\n  name: \"-web\" must be letters",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, context.Background(), &fakeStates{}, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", r.code, tt.wantCode, r.stderr)
			}
			if !strings.Contains(r.stdout, tt.wantStdout) || (tt.wantStdout == "" && r.stdout != "") {
				t.Errorf("stdout %q, want %q", r.stdout, tt.wantStdout)
			}
			if !strings.Contains(r.stderr, tt.wantStderr) || (tt.wantStderr == "" && r.stderr != "") {
				t.Errorf("stderr %q, want %q", r.stderr, tt.wantStderr)
			}
			if r.clientBuilt {
				t.Error("an AWS client was built for a usage error")
			}
		})
	}
}

// Ctrl-C and --timeout stop watching and say how to go on; the execution
// is not stopped (the fake has no StopExecution).
func TestStopWatching(t *testing.T) {
	running := func() *fakeStates {
		// The history never ends.
		return &fakeStates{pages: machinePages(), batches: batches(newHistory().enter("Task", "Validate", `{}`), 100)}
	}
	t.Run("interrupt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		r := run(t, ctx, running(), "lb", "create", "-f", writeSpec(t, validSpec))
		if r.code != ExitInterrupted {
			t.Errorf("exit code %d, want %d", r.code, ExitInterrupted)
		}
		assertInOrder(t, "stderr", r.stderr, []string{
			"stopped watching; execution cli-web-20250102T150405Z-0a0b goes on",
			"aws stepfunctions describe-execution --execution-arn " + execARN("cli-web-20250102T150405Z-0a0b") + " --region us-east-1 --endpoint-url http://127.0.0.1:4566",
			"aws stepfunctions stop-execution",
		})
	})
	t.Run("timeout", func(t *testing.T) {
		r := run(t, context.Background(), running(), "lb", "create", "-f", writeSpec(t, validSpec), "--timeout", "50ms")
		if r.code != ExitFailed || !strings.Contains(r.stderr, "still running after --timeout 50ms") {
			t.Errorf("exit code %d, stderr:\n%s", r.code, r.stderr)
		}
	})
}

func TestExecutionName(t *testing.T) {
	now := time.Date(2025, 1, 2, 15, 4, 5, 0, time.FixedZone("x", 3600))
	tests := []struct{ lb, want string }{
		{"web", "cli-web-20250102T140405Z-0a0b"},
		{"Web-Prod-1", "cli-Web-Prod-1-20250102T140405Z-0a0b"},
		{"a.b c", "cli-a-b-c-20250102T140405Z-0a0b"},
		{"", "cli-lb-20250102T140405Z-0a0b"},
		{strings.Repeat("x", 100), "cli-" + strings.Repeat("x", 54) + "-20250102T140405Z-0a0b"},
	}
	for _, tt := range tests {
		got, err := executionName(tt.lb, now, bytes.NewReader([]byte{0x0a, 0x0b}))
		if err != nil || got != tt.want {
			t.Errorf("executionName(%q) = %q, %v; want %q", tt.lb, got, err, tt.want)
		}
		if checkExecutionName(got) != nil {
			t.Errorf("%q is not a valid execution name", got)
		}
	}
	if _, err := executionName("web", now, bytes.NewReader(nil)); err == nil {
		t.Error("no randomness: want an error")
	}
}

func TestRollbackOf(t *testing.T) {
	rb, rbErr := rollbackOf(`{"rollback":{"deleted":[],"left":[{"kind":"listener","id":"arn:l","action":"created"}]},"rollbackError":{"Error":"Internal","Cause":"x"}}`)
	if rb == nil || len(rb.Left) != 1 || rbErr == nil || rbErr.Error != "Internal" {
		t.Errorf("got %+v, %+v", rb, rbErr)
	}
	if rb, rbErr := rollbackOf(`not json`); rb != nil || rbErr != nil {
		t.Errorf("not JSON: got %+v, %+v", rb, rbErr)
	}
	var buf bytes.Buffer
	printFailure(&buf, Failure{Status: "FAILED", Error: "Internal", Rollback: rb, RollbackError: rbErr})
	assertInOrder(t, "failure", buf.String(), []string{"Rollback: deleted 0 resource(s), 1 left.", "Left (created by this execution", "listener  arn:l", "Rollback incomplete: Internal: x"})

	// What the rollback put back or kept is not counted as deleted.
	rb, _ = rollbackOf(`{"rollback":{"deleted":[{"kind":"load-balancer","id":"arn:lb","action":"deleted"},
 {"kind":"listener","id":"arn:http","action":"updated"},{"kind":"permission","id":"arn:alias#autostop_proxy_target_groups","action":"kept"}],"left":[]}}`)
	buf.Reset()
	printFailure(&buf, Failure{Status: "FAILED", Error: "Internal", Rollback: rb})
	assertInOrder(t, "failure with kept", buf.String(), []string{"Rollback: deleted 1 resource(s), 0 left.", "load-balancer  arn:lb",
		"Put back or kept:", "listener    arn:http", "updated", "permission  arn:alias#autostop_proxy_target_groups", "kept"})
}

// Other DNS: the certificate's validation records and the wildcard CNAME
// are records to add.
func TestSummaryOtherDNS(t *testing.T) {
	var out Output
	if err := json.Unmarshal([]byte(`{"name":"web","execution":"e","wildcard":"*.a.example.org","loadBalancerDnsName":"lb.example",
	 "results":{"certificate":{"arn":"arn:c","status":"ISSUED","validationRecords":[{"name":"_x.a.example.org","type":"CNAME","value":"_y.acm-validations.aws"}]},
	 "dns":{"wildcard":"*.a.example.org","recordsToAdd":[{"name":"*.a.example.org","type":"CNAME","value":"lb.example"}]}}}`), &out); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	printSummary(&buf, out)
	assertInOrder(t, "summary", buf.String(), []string{
		"Add these records at your DNS provider:",
		"_x.a.example.org  CNAME  _y.acm-validations.aws",
		"*.a.example.org   CNAME  lb.example",
	})
	if strings.Contains(buf.String(), "Route 53") {
		t.Errorf("summary mentions Route 53:\n%s", buf.String())
	}
}

func TestNoRegionIsUsageError(t *testing.T) {
	var stderr bytes.Buffer
	c := &CLI{Stdout: &bytes.Buffer{}, Stderr: &stderr, NewClient: func(context.Context, ClientOptions) (StepFunctions, Endpoint, error) {
		return nil, Endpoint{}, errNoRegion
	}}
	if code := c.Run(context.Background(), []string{"lb", "create", "-f", writeSpec(t, validSpec)}); code != ExitUsage || !strings.Contains(stderr.String(), "--region") {
		t.Errorf("exit code %d, stderr %q", code, stderr.String())
	}
	c = &CLI{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, NewClient: func(context.Context, ClientOptions) (StepFunctions, Endpoint, error) {
		return nil, Endpoint{}, errors.New("load AWS configuration: broken profile")
	}}
	if code := c.Run(context.Background(), []string{"lb", "create", "-f", writeSpec(t, validSpec)}); code != ExitFailed {
		t.Errorf("exit code %d, want %d", code, ExitFailed)
	}
}

func assertInOrder(t *testing.T, what, got string, want []string) {
	t.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("%s lacks %q (in order):\n%s", what, w, got)
			return
		}
		rest = rest[i+len(w):]
	}
}

// --local fills in only what is not set; AWS_ENDPOINT_URL alone is enough.
func TestNewClientEndpoint(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	tests := []struct {
		name                string
		env                 map[string]string
		opts                ClientOptions
		wantURL, wantRegion string
		wantErr             error
	}{
		{"local defaults", nil, ClientOptions{Local: true}, LocalEndpoint, "us-east-1", nil},
		{"local keeps AWS_ENDPOINT_URL and region", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9999", "AWS_REGION": "eu-west-1"},
			ClientOptions{Local: true}, "http://127.0.0.1:9999", "eu-west-1", nil},
		{"AWS_ENDPOINT_URL without --local", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:9999"},
			ClientOptions{Region: "us-west-2"}, "http://127.0.0.1:9999", "us-west-2", nil},
		{"AWS", nil, ClientOptions{Region: "eu-central-1"}, "", "eu-central-1", nil},
		{"AWS without a region", nil, ClientOptions{}, "", "", errNoRegion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID"} {
				t.Setenv(k, tt.env[k])
			}
			_, e, err := NewClient(context.Background(), tt.opts)
			if !errors.Is(err, tt.wantErr) || e.URL != tt.wantURL || e.Region != tt.wantRegion {
				t.Errorf("got %+v, %v; want %s %s, %v", e, err, tt.wantURL, tt.wantRegion, tt.wantErr)
			}
		})
	}
}
