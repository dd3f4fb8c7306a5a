package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// start is a workflow execution a command starts and watches.
type start struct {
	stateMachine string // name or ARN
	name         string // execution name
	input        string // JSON
	title        string // the progress's first line
	timeout      time.Duration
}

// resultFunc prints how a watched execution ended (lastOutput is the last
// state's output: a failed execution's rollback) and returns the command's
// error.
type resultFunc func(final *sfn.DescribeExecutionOutput, lastOutput string, progressOut io.Writer) error

// startAndWatch starts an execution, shows its steps live and hands the
// end to result. Progress goes to stdout with table output, to stderr with
// json (stdout then holds only the result document).
func (c *CLI) startAndWatch(ctx context.Context, s start, result resultFunc) error {
	states, endpoint, err := c.states(ctx)
	if err != nil {
		return err
	}
	progressOut := c.progressOut()

	machine, err := findStateMachine(ctx, states, s.stateMachine)
	if err != nil {
		return failed(unreachable(err, endpoint))
	}
	waits := waitsOf(ctx, states, machine)

	started, err := states.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(machine), Name: aws.String(s.name), Input: aws.String(s.input),
	})
	if err != nil {
		var exists *types.ExecutionAlreadyExists
		if errors.As(err, &exists) {
			return failed(fmt.Errorf("an execution named %q already exists: pass another --name", s.name))
		}
		return failed(fmt.Errorf("start execution %s of %s: %w", s.name, machine, err))
	}
	arn := aws.ToString(started.ExecutionArn)

	return c.follow(ctx, followed{states: states, endpoint: endpoint, machine: machine, arn: arn, name: s.name,
		title: s.title, timeout: s.timeout, waits: waits, out: progressOut}, result)
}

// followed is an execution a command watches.
type followed struct {
	states    StepFunctions
	endpoint  Endpoint
	machine   string
	arn, name string
	title     string
	timeout   time.Duration
	waits     map[string]waitSpec
	out       io.Writer // where the progress goes
}

// follow shows an execution's steps live from its history until it ends,
// and hands the end to result.
func (c *CLI) follow(ctx context.Context, f followed, result resultFunc) error {
	fmt.Fprintln(f.out, f.title)
	fmt.Fprintf(f.out, "%sstate machine  %s\n", indent, f.machine)
	fmt.Fprintf(f.out, "%sexecution      %s\n", indent, f.name)
	if f.endpoint.URL == "" {
		fmt.Fprintf(f.out, "%sconsole        https://%s.console.aws.amazon.com/states/home?region=%s#/v2/executions/details/%s\n",
			indent, f.endpoint.Region, f.endpoint.Region, f.arn)
	} else {
		fmt.Fprintf(f.out, "%sendpoint       %s\n", indent, f.endpoint.URL)
	}
	fmt.Fprintln(f.out)

	w := &watcher{states: f.states, arn: f.arn, poll: c.PollInterval, progress: newProgress(f.out, f.waits)}
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
		fmt.Fprintf(c.Stderr, "\nautostop: stopped watching; execution %s goes on.\n%s", f.name, awsCLIHints(f.arn, f.endpoint))
		return exitWith(ExitInterrupted)
	case err != nil && watchCtx.Err() != nil:
		fmt.Fprintf(c.Stderr, "\nautostop: execution %s still running after --timeout %v; stopped watching.\n%s", f.name, f.timeout, awsCLIHints(f.arn, f.endpoint))
		return exitWith(ExitFailed)
	case err != nil:
		fmt.Fprintf(c.Stderr, "autostop: watch execution %s: %v\n%s", f.name, err, awsCLIHints(f.arn, f.endpoint))
		return exitWith(ExitFailed)
	}

	return result(final, w.progress.lastOutput, f.out)
}

// progressOut is where progress goes: stdout with table output, stderr
// with json (stdout then holds only the result document).
func (c *CLI) progressOut() io.Writer {
	if c.global.output == outputJSON {
		return c.Stderr
	}

	return c.Stdout
}

// waitsOf reads the Wait states of a state machine's definition (nil when
// it cannot be read: the progress then shows waits without their time).
func waitsOf(ctx context.Context, states StepFunctions, machine string) map[string]waitSpec {
	d, err := states.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: aws.String(machine)})
	if err != nil {
		return nil
	}

	return waitStates(aws.ToString(d.Definition))
}

// unreachable adds a hint to an error from a custom endpoint that refused
// the connection.
func unreachable(err error, e Endpoint) error {
	var refused *net.OpError
	if errors.As(err, &refused) && e.URL != "" {
		return fmt.Errorf("%w\nIs the backend at %s running? ('make up' starts the local one.)", err, e.URL)
	}

	return err
}

// executionName names an execution for label (see executionName).
func (c *CLI) executionName(label string) (string, error) {
	now, random := time.Now, defaultRandom
	if c.Now != nil {
		now = c.Now
	}
	if c.Random != nil {
		random = c.Random
	}

	return executionName(label, now(), random)
}
