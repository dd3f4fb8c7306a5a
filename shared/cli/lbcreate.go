package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/spec"
)

const (
	createCommand = "autostop lb create"
	outputText    = "text"
	outputJSON    = "json"
)

// createFlags are `lb create`'s flags.
type createFlags struct {
	file, stateMachine, name, region, output string
	local                                    bool
	timeout                                  time.Duration
}

func (c *CLI) lbCreate(ctx context.Context, args []string) int {
	var f createFlags
	fs := flag.NewFlagSet("autostop lb create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.file, "f", "", "")
	fs.StringVar(&f.file, "file", "", "")
	fs.StringVar(&f.stateMachine, "state-machine", DefaultStateMachine, "")
	fs.StringVar(&f.name, "name", "", "")
	fs.BoolVar(&f.local, "local", false, "")
	fs.StringVar(&f.region, "region", "", "")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Minute, "")
	fs.StringVar(&f.output, "output", outputText, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(c.Stdout, lbCreateUsage)
			return ExitOK
		}
		return c.usageError(createCommand, "%v", err)
	}
	switch {
	case fs.NArg() > 0:
		return c.usageError(createCommand, "unexpected argument %q", fs.Arg(0))
	case f.file == "":
		return c.usageError(createCommand, "-f spec.json is required")
	case f.output != outputText && f.output != outputJSON:
		return c.usageError(createCommand, "--output %q: use text or json", f.output)
	case f.timeout < 0:
		return c.usageError(createCommand, "--timeout %v: must not be negative", f.timeout)
	}
	if f.name != "" {
		if err := checkExecutionName(f.name); err != nil {
			return c.usageError(createCommand, "%v", err)
		}
	}

	input, s, err := readSpec(f.file)
	if err != nil {
		fmt.Fprintf(c.Stderr, "autostop: %v\n", err)
		return ExitUsage
	}

	name := f.name
	if name == "" {
		now, random := time.Now, defaultRandom
		if c.Now != nil {
			now = c.Now
		}
		if c.Random != nil {
			random = c.Random
		}
		if name, err = executionName(s.Name, now(), random); err != nil {
			return c.fail(err)
		}
	}

	states, endpoint, err := c.client(ctx, ClientOptions{Region: f.region, Local: f.local})
	if errors.Is(err, errNoRegion) {
		return c.usageError(createCommand, "%v", err)
	}
	if err != nil {
		return c.fail(err)
	}

	// Progress goes to stdout with text output, to stderr with json.
	progressOut := c.Stdout
	if f.output == outputJSON {
		progressOut = c.Stderr
	}

	machine, err := findStateMachine(ctx, states, f.stateMachine)
	var refused *net.OpError
	if errors.As(err, &refused) && endpoint.URL != "" {
		return c.fail(fmt.Errorf("%w\nIs the backend at %s running? ('make up' starts the local one.)", err, endpoint.URL))
	}
	if err != nil {
		return c.fail(err)
	}
	var waits map[string]waitSpec
	if d, err := states.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(machine)}); err == nil {
		waits = waitStates(aws.ToString(d.Definition))
	}

	started, err := states.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(machine), Name: aws.String(name), Input: aws.String(input),
	})
	if err != nil {
		var exists *types.ExecutionAlreadyExists
		if errors.As(err, &exists) {
			return c.fail(fmt.Errorf("an execution named %q already exists: pass another --name", name))
		}
		return c.fail(fmt.Errorf("start execution %s of %s: %w", name, machine, err))
	}
	arn := aws.ToString(started.ExecutionArn)

	fmt.Fprintf(progressOut, "Provisioning load balancer %s from %s\n", s.Name, f.file)
	fmt.Fprintf(progressOut, "%sstate machine  %s\n", indent, machine)
	fmt.Fprintf(progressOut, "%sexecution      %s\n", indent, name)
	if endpoint.URL == "" {
		fmt.Fprintf(progressOut, "%sconsole        https://%s.console.aws.amazon.com/states/home?region=%s#/v2/executions/details/%s\n",
			indent, endpoint.Region, endpoint.Region, arn)
	} else {
		fmt.Fprintf(progressOut, "%sendpoint       %s\n", indent, endpoint.URL)
	}
	fmt.Fprintln(progressOut)

	w := &watcher{states: states, arn: arn, poll: c.PollInterval, progress: newProgress(progressOut, waits)}
	if w.poll == 0 {
		w.poll = defaultPollInterval
	}
	watchCtx := ctx
	if f.timeout > 0 {
		var cancel context.CancelFunc
		watchCtx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	final, err := w.watch(watchCtx)
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintf(c.Stderr, "\nautostop: stopped watching; execution %s goes on.\n%s", name, awsCLIHints(arn, endpoint))
		return ExitInterrupted
	case err != nil && watchCtx.Err() != nil:
		fmt.Fprintf(c.Stderr, "\nautostop: execution %s still running after --timeout %v; stopped watching.\n%s", name, f.timeout, awsCLIHints(arn, endpoint))
		return ExitFailed
	case err != nil:
		fmt.Fprintf(c.Stderr, "autostop: watch execution %s: %v\n%s", name, err, awsCLIHints(arn, endpoint))
		return ExitFailed
	}

	return c.result(final, w.progress.lastOutput, f.output, progressOut)
}

// readSpec reads and checks the spec file; it returns the execution input
// (the file, compacted) and the parsed spec.
func readSpec(path string) (string, spec.LoadBalancerSpec, error) {
	var raw []byte
	var err error
	if path == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return "", spec.LoadBalancerSpec{}, fmt.Errorf("read spec: %w", err)
	}
	s, err := spec.Parse(raw)
	if err != nil {
		return "", spec.LoadBalancerSpec{}, fmt.Errorf("%s: %w", path, err)
	}
	if problems := s.Problems(); len(problems) > 0 {
		return "", spec.LoadBalancerSpec{}, fmt.Errorf("%s: invalid load balancer spec:\n  %s", path, strings.Join(problems, "\n  "))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return "", spec.LoadBalancerSpec{}, fmt.Errorf("%s: %w", path, err)
	}

	return compact.String(), s, nil
}

// result prints how the execution ended and returns the exit code.
func (c *CLI) result(final *sfn.DescribeExecutionOutput, lastOutput, output string, progressOut io.Writer) int {
	status := final.Status
	if status == types.ExecutionStatusSucceeded {
		raw := aws.ToString(final.Output)
		if output == outputJSON {
			fmt.Fprintln(c.Stdout, raw)
			return ExitOK
		}
		var out Output
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			fmt.Fprintf(c.Stdout, "\nExecution SUCCEEDED; its output:\n%s\n", raw)
			return ExitOK
		}
		printSummary(c.Stdout, out)
		return ExitOK
	}

	failure := Failure{
		ExecutionARN: aws.ToString(final.ExecutionArn), Status: string(status),
		Error: aws.ToString(final.Error), Cause: aws.ToString(final.Cause),
	}
	failure.Rollback, failure.RollbackError = rollbackOf(lastOutput)
	printFailure(progressOut, failure)
	if output == outputJSON {
		doc, _ := json.MarshalIndent(failure, "", "  ")
		fmt.Fprintln(c.Stdout, string(doc))
	}

	return ExitFailed
}

// awsCLIHints says how to follow or stop the execution with the AWS CLI.
func awsCLIHints(arn string, e Endpoint) string {
	opts := " --region " + e.Region
	if e.URL != "" {
		opts += " --endpoint-url " + e.URL
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Follow it:\n  aws stepfunctions describe-execution --execution-arn %s%s\n", arn, opts)
	fmt.Fprintf(&b, "  aws stepfunctions get-execution-history --execution-arn %s%s\n", arn, opts)
	fmt.Fprintf(&b, "Abort it (no rollback runs: what it created so far stays, tagged with its execution name):\n")
	fmt.Fprintf(&b, "  aws stepfunctions stop-execution --execution-arn %s%s\n", arn, opts)

	return b.String()
}
