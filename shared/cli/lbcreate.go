package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/spf13/cobra"

	"github.com/autostop/autostop/shared/spec"
)

// createFlags are `lb create`'s flags.
type createFlags struct {
	file, stateMachine, name string
	timeout                  time.Duration
}

func (c *CLI) lbCreateCommand() *cobra.Command {
	var f createFlags
	cmd := &cobra.Command{
		Use:   "create -f spec.json",
		Short: "Provision (create or adopt) a load balancer from a spec",
		Long: `Provisions the Application Load Balancer a load balancer spec describes: starts
an execution of the autostop-provision-load-balancer state machine (validate,
load balancer, proxy target, certificate, listeners, DNS; a failure rolls back
what the execution created) and shows each step as it happens:

  → EnsureLoadBalancer                  step started
  ✓ EnsureLoadBalancer  0.4s            step done
  ✗ EnsureLoadBalancer: Throttled: …    step failed (retrying, or caught: rollback)
  ↻ WaitForLoadBalancer  check 3, next in 15s   a wait loop, one line

At the end it prints the load balancer's DNS name, the wildcard record, the
certificate, the DNS records to add at another DNS provider and which resources
were created or adopted. With another DNS provider and an issued certificate,
the validation record to add is printed as soon as ACM gives it.

--output json prints only the execution's output JSON on stdout (a failure
document when it fails), progress on stderr.

The spec file is JSON (schema: statemachine/schema/load-balancer-spec.schema.json;
samples, one per path: statemachine/samples/). Unknown fields are errors.
Running it again with the same spec changes nothing that is already right.

` + exitCodesHelp,
		Example: `  # copy a sample, replace its placeholder IDs with yours
  cp statemachine/samples/route53-existing-certificate.json web.json
  autostop lb create -f web.json --region eu-west-1

  # on the local backend ('make up' prints its IDs)
  autostop lb create --local -f web.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.lbCreate(cmd.Context(), f)
		},
	}
	cmd.Flags().StringVarP(&f.file, "file", "f", "", `the load balancer spec (JSON); "-" reads stdin (required)`)
	cmd.Flags().StringVar(&f.stateMachine, "state-machine", DefaultStateMachine, "the provisioning state machine, by name or ARN")
	cmd.Flags().StringVar(&f.name, "name", "", "execution name (default cli-<lb name>-<UTC time>-<random>): letters, digits, - and _, at most 80")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Minute, "stop watching after this long (0: no limit); the execution goes on")

	return cmd
}

func (c *CLI) lbCreate(ctx context.Context, f createFlags) error {
	switch {
	case f.file == "":
		return usageErrorf("-f spec.json is required")
	case f.timeout < 0:
		return usageErrorf("--timeout %v: must not be negative", f.timeout)
	}
	if f.name != "" {
		if err := checkExecutionName(f.name); err != nil {
			return usageErrorf("%v", err)
		}
	}

	input, s, err := readSpec(c.Stdin, f.file)
	if err != nil {
		return &exitError{code: ExitUsage, err: err}
	}
	name := f.name
	if name == "" {
		if name, err = c.executionName(s.Name); err != nil {
			return failed(err)
		}
	}

	return c.startAndWatch(ctx, start{
		stateMachine: f.stateMachine, name: name, input: input, timeout: f.timeout,
		title: fmt.Sprintf("Provisioning load balancer %s from %s", s.Name, f.file),
	}, c.provisionResult)
}

// readSpec reads and checks the spec file ("-": stdin); it returns the
// execution input (the file, compacted) and the parsed spec.
func readSpec(stdin io.Reader, path string) (string, spec.LoadBalancerSpec, error) {
	var raw []byte
	var err error
	if path == "-" {
		raw, err = io.ReadAll(stdin)
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

// provisionResult prints how a provisioning ended: what was provisioned,
// or the failure and its rollback.
func (c *CLI) provisionResult(final *sfn.DescribeExecutionOutput, lastOutput string, progressOut io.Writer) error {
	if final.Status != types.ExecutionStatusSucceeded {
		return c.failure(final, lastOutput, progressOut)
	}
	raw := aws.ToString(final.Output)
	if c.global.output == outputJSON {
		c.printRawJSON(raw)
		return nil
	}
	var out Output
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		fmt.Fprintf(c.Stdout, "\nExecution SUCCEEDED; its output:\n%s\n", raw)
		return nil
	}
	printSummary(c.Stdout, out)

	return nil
}

// failure prints how an execution that did not succeed ended, with its
// rollback (read from lastOutput) and what more adds, and returns
// ExitFailed.
func (c *CLI) failure(final *sfn.DescribeExecutionOutput, lastOutput string, progressOut io.Writer, more ...func(*Failure)) error {
	failure := Failure{
		ExecutionARN: aws.ToString(final.ExecutionArn), Status: string(final.Status),
		Error: aws.ToString(final.Error), Cause: aws.ToString(final.Cause),
	}
	failure.Rollback, failure.RollbackError = rollbackOf(lastOutput)
	for _, m := range more {
		m(&failure)
	}
	printFailure(progressOut, failure)
	if c.global.output == outputJSON {
		_ = c.printJSON(failure)
	}

	return exitWith(ExitFailed)
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
