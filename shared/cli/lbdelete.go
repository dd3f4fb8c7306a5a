package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/spf13/cobra"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/lbdelete"
	"github.com/autostop/autostop/shared/step"
)

// deleteFlags are `lb delete`'s flags.
type deleteFlags struct {
	force   bool
	name    string
	timeout time.Duration
}

func (c *CLI) lbDeleteCommand() *cobra.Command {
	var f deleteFlags
	cmd := &cobra.Command{
		Use:   "delete NAME [--force]",
		Short: "Delete a load balancer and everything autostop created for it",
		Long: `Deletes everything autostop created for a load balancer: starts an execution of
the autostop-delete-load-balancer state machine and shows each step live. It
deletes only what carries the load balancer's autostop:load-balancer tag (DNS
records: only where autostop's TXT ownership record says so): the wildcard
records, the listeners, the ALB and its security group, the certificates
autostop requested, the target groups and, when no other load balancer needs
it, the proxy's invoke permission. An adopted ALB stays, with autostop's
listeners and target groups removed and the listeners autostop changed put
back. Nothing without autostop's tags is touched.

While AutoStopping rules use the load balancer it refuses; --force detaches
them first, each through the DetachRule workflow (their instances are left as
they are). A failure stops the execution with what is left; running the same
command again finishes the job.

--output json prints the execution's output (what each step deleted) on stdout,
progress on stderr.

` + exitCodesHelp + `
Deleting a load balancer that has nothing left exits 3.`,
		Example: `  autostop lb delete web
  autostop lb delete web --force      # detach its rules first`,
		Args: oneName("load balancer NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.timeout < 0 {
				return usageErrorf("--timeout %v: must not be negative", f.timeout)
			}
			if f.name != "" {
				if err := checkExecutionName(f.name); err != nil {
					return usageErrorf("%v", err)
				}
			}
			name := f.name
			if name == "" {
				var err error
				if name, err = c.executionName("delete-" + args[0]); err != nil {
					return failed(err)
				}
			}
			input, _ := json.Marshal(lbdelete.Request{Name: args[0], Force: f.force})
			return c.startAndWatch(cmd.Context(), start{
				stateMachine: app.NamePrefix + app.DeleteLoadBalancer, name: name, input: string(input), timeout: f.timeout,
				title: "Deleting load balancer " + args[0],
			}, c.deleteResult)
		},
	}
	cmd.Flags().BoolVar(&f.force, "force", false, "detach the load balancer's AutoStopping rules first (through DetachRule)")
	cmd.Flags().StringVar(&f.name, "name", "", "execution name (default cli-delete-<lb>-<UTC time>-<random>)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 30*time.Minute, "stop watching after this long (0: no limit); the execution goes on")

	return cmd
}

// deleteOutput is the DeleteLoadBalancer execution's output.
type deleteOutput struct {
	Name      string           `json:"name"`
	Execution string           `json:"execution"`
	Adopted   bool             `json:"adopted"`
	Message   string           `json:"message"`
	Results   lbdelete.Results `json:"results"`
}

// deleteResult prints what a deletion deleted, or how it failed.
func (c *CLI) deleteResult(final *sfn.DescribeExecutionOutput, lastOutput string, progressOut io.Writer) error {
	if final.Status != types.ExecutionStatusSucceeded {
		return c.failure(final, lastOutput, progressOut)
	}
	raw := aws.ToString(final.Output)
	var out deleteOutput
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return failed(fmt.Errorf("read the execution's output: %w", err))
	}
	if c.global.output == outputJSON {
		c.printRawJSON(raw)
	}
	if out.Message != "" {
		fmt.Fprintf(progressOut, "\nNothing autostop created for load balancer %s is left: %s.\n", out.Name, out.Message)
		return exitWith(ExitNotFound)
	}
	if c.global.output == outputJSON {
		return nil
	}

	var all []step.Resource
	for _, r := range []*lbdelete.Result{out.Results.DNS, out.Results.Listeners, out.Results.LoadBalancer, out.Results.Certificates, out.Results.TargetGroups} {
		if r != nil {
			all = append(all, r.Deleted...)
		}
	}
	fmt.Fprintf(c.Stdout, "\nLoad balancer %s is deleted (execution %s).\n", out.Name, out.Execution)
	if out.Adopted {
		fmt.Fprintf(c.Stdout, "%sIts ALB was adopted: it stays, without autostop's listeners and target groups.\n", indent)
	}
	var deleted, other []step.Resource
	for _, r := range all {
		if r.Action == step.Deleted {
			deleted = append(deleted, r)
		} else {
			other = append(other, r)
		}
	}
	fmt.Fprintf(c.Stdout, "\nDeleted (%d):\n", len(deleted))
	resourceTable(c.Stdout, deleted)
	if len(other) > 0 {
		fmt.Fprintf(c.Stdout, "\nPut back or kept (%d):\n", len(other))
		resourceActionTable(c.Stdout, other)
	}

	return nil
}
