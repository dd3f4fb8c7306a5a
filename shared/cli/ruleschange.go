package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/spf13/cobra"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/idlewatch"
	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/rulestore"
)

// followHelp says what the commands that follow a rule workflow print.
const followHelp = `It prints each step as it happens ("→ Step", "✓ Step 0.4s", a wait loop as one
"↻" line) and ends with the execution's name ('autostop history NAME' shows it
again); on failure the error and its cause. --output json prints the
execution's output on stdout, progress on stderr.`

// ruleFlags are the flags of the commands that change a rule.
type ruleFlags struct {
	file    string
	timeout time.Duration
}

func (f *ruleFlags) addTimeout(cmd *cobra.Command, d time.Duration) {
	cmd.Flags().DurationVar(&f.timeout, "timeout", d, "stop watching after this long (0: no limit); the execution goes on")
}

func (c *CLI) rulesCreateCommand() *cobra.Command {
	var f ruleFlags
	cmd := &cobra.Command{
		Use:   "create -f rule.json",
		Short: "Attach an AutoStopping rule (through the rule-created event)",
		Long: `Attaches an AutoStopping rule the way every other producer does: puts an
"AutoStopping Rule Created" event on the autostop event bus, then follows the
AttachRule execution the event starts (named evt-<event id>): validate, the
rule's target group, the instances' autostop:rule tag, the rule's item (state
stopped; a rule whose instances already run is woken at once).

` + followHelp + `

The file is the event's detail: {"rule": {…}, "loadBalancer": {"name": "web"}}
(schema: statemachine/schema/autostopping-rule-created.schema.json), or a whole
event with that detail (samples: statemachine/samples/events/).

` + exitCodesHelp,
		Example: `  cat > reports.json <<'JSON'
  {"rule": {"name": "reports", "instanceIds": ["i-0fedcba9876543210"], "port": 80, "idleMinutes": 15},
   "loadBalancer": {"name": "web"}}
  JSON
  autostop rules create -f reports.json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.file == "" {
				return usageErrorf("-f rule.json is required")
			}
			raw, err := readInput(c.Stdin, f.file)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			detail, err := eventstart.ParseDetail(eventDetail(raw))
			if err != nil {
				return &exitError{code: ExitUsage, err: fmt.Errorf("%s: %w", f.file, err)}
			}
			doc, _ := json.Marshal(detail)
			return c.putAndFollow(cmd.Context(), eventstart.DetailTypeRuleCreated, string(doc), app.AttachRule, f.timeout,
				fmt.Sprintf("Attaching rule %s to load balancer %s", detail.Rule.Name, detail.LoadBalancer.LoadBalancerName()))
		},
	}
	cmd.Flags().StringVarP(&f.file, "file", "f", "", `the rule-created detail (JSON); "-" reads stdin (required)`)
	f.addTimeout(cmd, 30*time.Minute)

	return cmd
}

func (c *CLI) rulesDeleteCommand() *cobra.Command {
	var f ruleFlags
	cmd := &cobra.Command{
		Use:   "delete HOST|NAME",
		Short: "Detach an AutoStopping rule (through the rule-deleted event)",
		Long: `Detaches an AutoStopping rule: puts an "AutoStopping Rule Deleted" event on the
autostop event bus and follows the DetachRule execution it starts: the rule's
host listener rule, its target group, the instances' autostop:rule tag and its
item are deleted. The instances are left as they are (running or stopped);
autostop never terminates them.

` + followHelp + `

` + exitCodesHelp,
		Example: `  autostop rules delete reports.autostop.example.com`,
		Args:    oneName("rule HOST or NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, store, err := c.reader(cmd.Context())
			if err != nil {
				return err
			}
			it, err := findRule(cmd.Context(), store, args[0])
			if err != nil {
				return err
			}
			doc, _ := json.Marshal(eventstart.RuleDeleted{Host: it.Host, Name: it.Rule.Name})
			return c.putAndFollow(cmd.Context(), eventstart.DetailTypeRuleDeleted, string(doc), app.DetachRule, f.timeout,
				fmt.Sprintf("Detaching rule %s (%s)", it.Rule.Name, it.Host))
		},
	}
	f.addTimeout(cmd, 30*time.Minute)

	return cmd
}

// putAndFollow puts an event on the autostop bus and follows the execution
// of the state machine (an app ID) it starts.
func (c *CLI) putAndFollow(ctx context.Context, detailType, detail, machineID string, timeout time.Duration, title string) error {
	states, endpoint, err := c.states(ctx)
	if err != nil {
		return err
	}
	machine, err := findStateMachine(ctx, states, app.NamePrefix+machineID)
	if err != nil {
		return failed(unreachable(err, endpoint))
	}
	cfg, _, err := c.awsConfig(ctx)
	if err != nil {
		return err
	}
	out, err := eventbridge.NewFromConfig(cfg).PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(eventstart.EventBusName), Source: aws.String(eventstart.Source),
		DetailType: aws.String(detailType), Detail: aws.String(detail),
	}}})
	if err != nil {
		return failed(fmt.Errorf("put the %q event on the %s bus: %w", detailType, eventstart.EventBusName, err))
	}
	if out.FailedEntryCount > 0 || len(out.Entries) != 1 || aws.ToString(out.Entries[0].EventId) == "" {
		msg := "rejected"
		if len(out.Entries) == 1 {
			msg = aws.ToString(out.Entries[0].ErrorCode) + ": " + aws.ToString(out.Entries[0].ErrorMessage)
		}
		return failed(fmt.Errorf("put the %q event: %s", detailType, msg))
	}
	name := eventstart.ExecutionName(aws.ToString(out.Entries[0].EventId))
	arn := eventstart.ExecutionARN(machine, name)
	if err := waitStarted(ctx, states, arn, time.Minute); err != nil {
		return failed(fmt.Errorf("the event was put (id %s) but its execution %s did not start: %w; "+
			"check the autostop-start-provisioning function's logs", aws.ToString(out.Entries[0].EventId), name, err))
	}

	return c.follow(ctx, followed{states: states, endpoint: endpoint, machine: machine, arn: arn, name: name,
		title: title, timeout: timeout, waits: waitsOf(ctx, states, machine), out: c.progressOut()}, c.executionResult)
}

// waitStarted waits until an execution someone else starts exists.
func waitStarted(ctx context.Context, states StepFunctions, arn string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		_, err := states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		var missing *types.ExecutionDoesNotExist
		if err == nil || !errors.As(err, &missing) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not found after %v", timeout)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// executionResult prints how a rule workflow ended: its output (json), or
// the failure.
func (c *CLI) executionResult(final *sfn.DescribeExecutionOutput, lastOutput string, progressOut io.Writer) error {
	if final.Status != types.ExecutionStatusSucceeded {
		return c.failure(final, lastOutput, progressOut)
	}
	if c.global.output == outputJSON {
		c.printRawJSON(aws.ToString(final.Output))
		return nil
	}
	fmt.Fprintf(c.Stdout, "\nDone (execution %s): 'autostop history %s' shows each step.\n", aws.ToString(final.Name), aws.ToString(final.Name))

	return nil
}

// readInput reads a file, or stdin for "-".
func readInput(stdin io.Reader, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(stdin)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}

	return raw, nil
}

// eventDetail returns the detail of a whole EventBridge event, or raw as
// it is when it is not one.
func eventDetail(raw []byte) []byte {
	var ev struct {
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(raw, &ev) == nil && ev.DetailType != "" && len(ev.Detail) > 0 {
		return ev.Detail
	}

	return raw
}

func (c *CLI) rulesWakeCommand() *cobra.Command {
	var f ruleFlags
	cmd := &cobra.Command{
		Use:   "wake HOST|NAME",
		Short: "Start a rule's instances now (the proxy's wake workflow)",
		Long: `Wakes a stopped rule now, exactly as the first request through the load
balancer would: moves the rule to starting (a conditional write: a wake already
under way is followed, not doubled) and starts its WakeRule execution (start the
instances, wait for the load balancer's health check, add the host rule), then
follows it. A running rule is left as it is.

` + followHelp + `

` + exitCodesHelp,
		Example: `  autostop rules wake reports.autostop.example.com`,
		Args:    oneName("rule HOST or NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.wakeOrSleep(cmd.Context(), args[0], f.timeout, true)
		},
	}
	f.addTimeout(cmd, 30*time.Minute)

	return cmd
}

func (c *CLI) rulesSleepCommand() *cobra.Command {
	var f ruleFlags
	cmd := &cobra.Command{
		Use:   "sleep HOST|NAME",
		Short: "Stop a running rule's instances now (the idle watcher's sleep workflow)",
		Long: `Puts a running rule to sleep now, as the idle watcher does when it is idle:
moves the rule to stopping (sleep reason "requested") and starts its SleepRule
execution (remove the host rule, stop the instances, wait until they are
stopped), then follows it. The next request wakes it again.

` + followHelp + `

` + exitCodesHelp,
		Example: `  autostop rules sleep reports.autostop.example.com`,
		Args:    oneName("rule HOST or NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.wakeOrSleep(cmd.Context(), args[0], f.timeout, false)
		},
	}
	f.addTimeout(cmd, 30*time.Minute)

	return cmd
}

// wakeOrSleep wakes or puts to sleep a rule through the workflows the proxy
// and the idle watcher start, and follows the execution.
func (c *CLI) wakeOrSleep(ctx context.Context, hostOrName string, timeout time.Duration, wake bool) error {
	states, endpoint, err := c.states(ctx)
	if err != nil {
		return err
	}
	_, store, err := c.reader(ctx)
	if err != nil {
		return err
	}
	it, err := findRule(ctx, store, hostOrName)
	if err != nil {
		return err
	}
	machineID := app.SleepRule
	if wake {
		machineID = app.WakeRule
	}
	machine, err := findStateMachine(ctx, states, app.NamePrefix+machineID)
	if err != nil {
		return failed(unreachable(err, endpoint))
	}

	var name, title string
	if wake {
		now, _, err := proxymanager.BeginWake(ctx, store, proxymanager.StateMachineWaker{Client: states, StateMachineARN: machine}, it.Host, time.Time{})
		if err != nil {
			return failed(err)
		}
		if now.State == rulestore.Running {
			return c.nothingToDo(now, fmt.Sprintf("Rule %s is running already (since %s); nothing to do.", now.Rule.Name, stamp(now.ReadyAt)))
		}
		if now.State != rulestore.Starting {
			return failed(fmt.Errorf("rule %s is %s: it cannot be woken now%s", now.Host, now.State, brokenHint(now)))
		}
		name, title = proxymanager.WakeExecutionName(now), fmt.Sprintf("Waking rule %s (%s)", now.Rule.Name, now.Host)
	} else {
		if it.State != rulestore.Running {
			return c.nothingToDo(it, fmt.Sprintf("Rule %s is %s, not running; nothing to stop.", it.Rule.Name, it.State))
		}
		now, won, err := store.BeginSleep(ctx, it.Host, it.ReadyAt, rulestore.SleepRequested)
		if err != nil {
			return failed(err)
		}
		if !won {
			return failed(fmt.Errorf("rule %s moved on while it was read (now %s): run the command again", now.Host, now.State))
		}
		name, title = idlewatch.SleepExecutionName(now), fmt.Sprintf("Putting rule %s (%s) to sleep", now.Rule.Name, now.Host)
		in, _ := json.Marshal(idlewatch.SleepInput{Host: now.Host, SleepRequestedAt: now.SleepRequestedAt.UTC().Format(rulestore.TimeFormat), Reason: now.SleepReason})
		_, err = states.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(machine), Name: aws.String(name), Input: aws.String(string(in))})
		var exists *types.ExecutionAlreadyExists
		if err != nil && !errors.As(err, &exists) {
			return failed(fmt.Errorf("rule %s is stopping but its SleepRule did not start (the idle watcher starts it again in a few minutes): %w", now.Host, err))
		}
	}

	return c.follow(ctx, followed{states: states, endpoint: endpoint, machine: machine, arn: eventstart.ExecutionARN(machine, name), name: name,
		title: title, timeout: timeout, waits: waitsOf(ctx, states, machine), out: c.progressOut()}, c.executionResult)
}

// Unchanged is what --output json prints when a wake or sleep finds the
// rule where the command would take it: no execution starts.
type Unchanged struct {
	Host    string `json:"host"`
	Name    string `json:"name"`
	State   string `json:"state"`
	Changed bool   `json:"changed"` // always false
	Message string `json:"message"`
}

// nothingToDo says the rule is left as it is: msg, or Unchanged as json.
func (c *CLI) nothingToDo(it rulestore.Item, msg string) error {
	if c.global.output == outputJSON {
		return c.printJSON(Unchanged{Host: it.Host, Name: it.Rule.Name, State: string(it.State), Message: msg})
	}
	fmt.Fprintln(c.Stdout, msg)

	return nil
}

func brokenHint(it rulestore.Item) string {
	if it.Broken != "" {
		return " (" + it.Broken + ")"
	}

	return ""
}
