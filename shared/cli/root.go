// Package cli is the autostop command line (cmd/autostop is a thin main
// around Run): provision and inspect load balancers, manage AutoStopping
// rules, wake and sleep them on demand, and read what each workflow
// execution did. Commands that run a workflow start its state machine and
// show each step live from the execution history.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
)

// Exit codes, the same for every command.
const (
	ExitOK          = 0   // done: the execution succeeded, the resource was found
	ExitFailed      = 1   // the execution failed, timed out or was aborted; an AWS call failed; watching timed out
	ExitUsage       = 2   // bad flags or arguments, unreadable or invalid input file
	ExitNotFound    = 3   // the load balancer, rule or execution named does not exist
	ExitInterrupted = 130 // Ctrl-C: stopped watching, the execution keeps running
)

// exitCodesHelp is the part of every command's help about exit codes.
const exitCodesHelp = `Exit status: 0 done; 1 the workflow failed or an AWS call failed (the message
says what to do); 2 bad flags, arguments or input file; 3 not found;
130 interrupted (Ctrl-C stops watching, the execution goes on).`

// Output formats (--output).
const (
	outputTable   = "table"
	outputJSON    = "json"
	outputMermaid = "mermaid"
)

// annotationOutputs lists, in a command's annotations, the --output
// formats it accepts besides table and json.
const annotationOutputs = "autostop/outputs"

// The local backend `make up` starts (autostop-local up).
const (
	LocalEndpoint = "http://127.0.0.1:4566"
	localRegion   = "us-east-1"
	localKey      = "test"
)

const defaultPollInterval = 250 * time.Millisecond

// CLI runs commands. The zero value with Stdout and Stderr set is the real
// command; tests replace the AWS clients and the clock.
type CLI struct {
	Stdout, Stderr io.Writer
	// Stdin is read by "-f -". Default os.Stdin.
	Stdin io.Reader
	// NewClient builds the Step Functions client. Default: from
	// LoadConfig.
	NewClient func(ctx context.Context, c ClientOptions) (StepFunctions, Endpoint, error)
	// PollInterval between GetExecutionHistory calls. Default 250 ms.
	PollInterval time.Duration
	// Now and Random make execution names. Default: the clock, crypto/rand.
	Now    func() time.Time
	Random io.Reader

	global globalFlags
	// loaded is the AWS configuration of this run, once loaded (awsConfig).
	loaded *loadedConfig
}

// loadedConfig is LoadConfig's result, kept for the run.
type loadedConfig struct {
	cfg      aws.Config
	endpoint Endpoint
}

// globalFlags are the flags every command takes.
type globalFlags struct {
	ClientOptions
	output string
}

// Run runs the autostop command line with args (without the program name)
// and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return (&CLI{Stdout: stdout, Stderr: stderr}).Run(ctx, args)
}

// Run runs the command line args and returns the exit code.
func (c *CLI) Run(ctx context.Context, args []string) int {
	root := c.Command()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	var exit *exitError
	if errors.As(err, &exit) {
		if exit.err != nil {
			fmt.Fprintf(c.Stderr, "autostop: %v\n", exit.err)
		}
		if exit.code == ExitUsage {
			fmt.Fprintf(c.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
		return exit.code
	}
	// Cobra's own errors (an unknown command) come before any command ran.
	fmt.Fprintf(c.Stderr, "autostop: %v\n", err)
	fmt.Fprintf(c.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())

	return ExitUsage
}

// exitError ends a command with an exit code; err, if set, is printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}

	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a usage error (exit 2, with where the help is).
func usageErrorf(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

// failed is an error that is not the user's input (exit 1).
func failed(err error) error { return &exitError{code: ExitFailed, err: err} }

// notFound is a missing load balancer, rule or execution (exit 3).
func notFound(err error) error { return &exitError{code: ExitNotFound, err: err} }

// exitWith ends with code; what to say was printed already.
func exitWith(code int) error { return &exitError{code: code} }

// Command builds the autostop command tree.
func (c *CLI) Command() *cobra.Command {
	if c.Stdin == nil {
		c.Stdin = os.Stdin
	}
	root := &cobra.Command{
		Use:   "autostop",
		Short: "AutoStopping for idle EC2 workloads behind an Application Load Balancer you own",
		Long: `autostop manages AutoStopping on AWS infrastructure you own: an Application
Load Balancer in front of your instances, a proxy function behind its default
rule that wakes stopped instances on the first request, and a wildcard DNS
record; an idle watcher stops them again.

Every change runs as a Step Functions workflow in your account (retries,
rollback, an execution history to audit); the commands start them, show each
step live and print what was created, changed or deleted.

Where it talks to: the AWS SDK's standard configuration (AWS_PROFILE,
AWS_REGION, SSO, instance role, ...); --profile and --region override it.
AWS_ENDPOINT_URL points it at another endpoint, such as the local backend
('make up'); --local is a shortcut for that.

` + exitCodesHelp,
		Example: `  # provision a load balancer from a spec (samples: statemachine/samples/)
  autostop lb create -f web.json --region eu-west-1

  # everything on the local backend started by 'make up'
  autostop --local lb list

  # what the last three workflow executions did
  autostop history --last 3`,
		Args:              cobra.ArbitraryArgs,
		RunE:              groupRun,
		Version:           versionString(),
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: c.checkGlobalFlags,
	}
	root.SetOut(c.Stdout)
	root.SetErr(c.Stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErrorf("%v", err)
	})
	f := root.PersistentFlags()
	f.StringVar(&c.global.Region, "region", "", "AWS region (default: the SDK's, e.g. AWS_REGION or the profile's)")
	f.StringVar(&c.global.Profile, "profile", "", "named profile from the AWS shared config (default: AWS_PROFILE or default)")
	f.BoolVar(&c.global.Local, "local", false, "talk to the local backend ('make up'): AWS_ENDPOINT_URL="+LocalEndpoint+"\nunless set, test credentials unless set, region us-east-1 unless set")
	f.StringVarP(&c.global.output, "output", "o", outputTable, "output format: table or json (history also: mermaid)")

	root.AddCommand(c.lbCommand(), c.rulesCommand(), c.historyCommand(), c.versionCommand())

	return root
}

// checkGlobalFlags checks --output against what the command prints.
func (c *CLI) checkGlobalFlags(cmd *cobra.Command, _ []string) error {
	allowed := []string{outputTable, outputJSON}
	if extra := cmd.Annotations[annotationOutputs]; extra != "" {
		allowed = append(allowed, strings.Split(extra, ",")...)
	}
	if !slices.Contains(allowed, c.global.output) {
		return usageErrorf("--output %q: use %s", c.global.output, strings.Join(allowed, ", "))
	}

	return nil
}

// group is a command that only holds others.
func group(use, short, long, example string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: long + "\n\n" + exitCodesHelp, Example: example, Args: cobra.ArbitraryArgs, RunE: groupRun}
	cmd.AddCommand(subs...)

	return cmd
}

// groupRun runs a command that only holds others: without a subcommand it
// is a usage error that lists them; an unknown one is named, with the
// closest matches.
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.SuggestionsMinimumDistance <= 0 {
			cmd.SuggestionsMinimumDistance = 2
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageErrorf("%s", msg)
	}
	cmd.SetOut(cmd.ErrOrStderr())
	_ = cmd.Usage()

	return exitWith(ExitUsage)
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected argument %q", args[0])
	}

	return nil
}

// oneName takes exactly one argument, named what in the message.
func oneName(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return usageErrorf("%s is required", what)
		case len(args) > 1:
			return usageErrorf("unexpected argument %q (one %s)", args[1], what)
		}

		return nil
	}
}
