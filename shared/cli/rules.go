package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/autostop/autostop/shared/inventory"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
)

func (c *CLI) rulesCommand() *cobra.Command {
	return group("rules", "Manage AutoStopping rules: create, list, describe, wake, sleep, delete",
		`An AutoStopping rule routes one host under a load balancer's domain to a set of
EC2 instances: autostop starts them on the first request and stops them after
the rule's idle minutes. Rules live in the rules table (autostop-rules;
AUTOSTOP_RULES_TABLE overrides the name).`,
		`  autostop rules create -f reports.json
  autostop rules list --lb web
  autostop rules wake reports.autostop.example.com
  autostop rules sleep reports
  autostop rules delete reports`,
		c.rulesCreateCommand(), c.rulesListCommand(), c.rulesDescribeCommand(),
		c.rulesWakeCommand(), c.rulesSleepCommand(), c.rulesDeleteCommand(),
	)
}

func (c *CLI) rulesListCommand() *cobra.Command {
	var lb string
	cmd := &cobra.Command{
		Use:   "list [--lb NAME]",
		Short: "List AutoStopping rules and their state",
		Long: `Lists the AutoStopping rules (all, or those of one load balancer) with their
state: stopped (a request wakes it), starting, running, stopping, detaching;
"(broken)" when an instance was terminated outside autostop.

--output json prints an array of objects: name, host, loadBalancer, state,
instanceIds, port, idleMinutes, dryRun, readyAt, stoppedAt, lastError, broken.

` + exitCodesHelp,
		Example: `  autostop rules list
  autostop rules list --lb web --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, store, err := c.reader(cmd.Context())
			if err != nil {
				return err
			}
			items, err := store.List(cmd.Context())
			if err != nil {
				return failed(err)
			}
			rules := []inventory.Rule{}
			for _, it := range items {
				if lb == "" || it.LoadBalancer == lb {
					rules = append(rules, inventory.RuleOf(it))
				}
			}
			slices.SortFunc(rules, func(a, b inventory.Rule) int { return strings.Compare(a.Host, b.Host) })
			if c.global.output == outputJSON {
				return c.printJSON(rules)
			}
			if len(rules) == 0 {
				fmt.Fprintln(c.Stdout, "No AutoStopping rules.")
				return nil
			}
			printRules(c.Stdout, "", rules, true)
			return nil
		},
	}
	cmd.Flags().StringVar(&lb, "lb", "", "only the rules of this load balancer")

	return cmd
}

func (c *CLI) rulesDescribeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "describe HOST|NAME",
		Short: "Show a rule: settings, state, last wake and sleep",
		Long: `Shows one AutoStopping rule, by host (app.autostop.example.com) or by name when
only one rule has it: its settings, its state, what autostop created for it,
the last wake and sleep (their executions: 'autostop history' shows them) and
the last error.

--output json prints the rules table's item as stored (the fields of
shared/rulestore.Item).

` + exitCodesHelp,
		Example: `  autostop rules describe app.autostop.example.com
  autostop rules describe app --output json`,
		Args: oneName("rule HOST or NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, store, err := c.reader(cmd.Context())
			if err != nil {
				return err
			}
			it, err := findRule(cmd.Context(), store, args[0])
			if err != nil {
				return err
			}
			if c.global.output == outputJSON {
				return c.printJSON(it)
			}
			printRule(c.Stdout, it)
			return nil
		},
	}
}

// findRule finds a rule by host, or by name when one rule has it.
func findRule(ctx context.Context, store *rulestore.Store, hostOrName string) (rulestore.Item, error) {
	it, err := store.Get(ctx, hostOrName, true)
	if err == nil {
		return it, nil
	}
	if !errors.Is(err, rulestore.ErrNotFound) {
		return rulestore.Item{}, failed(err)
	}
	items, err := store.List(ctx)
	if err != nil {
		return rulestore.Item{}, failed(err)
	}
	var found []rulestore.Item
	for _, it := range items {
		if it.Rule.Name == hostOrName {
			found = append(found, it)
		}
	}
	switch len(found) {
	case 0:
		return rulestore.Item{}, notFound(fmt.Errorf("no AutoStopping rule with host or name %q ('autostop rules list' lists them)", hostOrName))
	case 1:
		return found[0], nil
	}
	hosts := make([]string, len(found))
	for i, it := range found {
		hosts[i] = it.Host
	}

	return rulestore.Item{}, usageErrorf("%d rules are named %q: give the host (%s)", len(found), hostOrName, strings.Join(hosts, ", "))
}

func printRule(w io.Writer, it rulestore.Item) {
	r := it.Rule
	fmt.Fprintf(w, "Rule %s (%s)\n", r.Name, it.Host)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s%s\t%s\n", indent, k, v)
		}
	}
	state := string(it.State)
	if it.Phase != "" {
		state += " (" + string(it.Phase) + ")"
	}
	row("State", state)
	row("Broken", it.Broken)
	row("Load balancer", it.LoadBalancer)
	row("Instances", strings.Join(r.InstanceIDs, ", "))
	row("Port", fmt.Sprint(r.Port))
	hc := rule.DefaultHealthCheck()
	if r.HealthCheck != nil {
		hc = *r.HealthCheck
	}
	row("Health check", fmt.Sprintf("GET %s every %ds", hc.Path, hc.IntervalSeconds))
	row("Idle", fmt.Sprintf("%d min", r.IdleMinutes))
	if r.DryRun {
		row("Dry run", "yes: the idle watcher logs 'would stop' instead of stopping")
	}
	row("Target group", it.TargetGroupARN)
	row("Host rule", dash(it.ListenerRuleARN))
	row("Attached by", it.AttachedBy)
	row("Last wake", when(it.WakeRequestedAt, it.WakeExecution))
	row("Ready at", stamp(it.ReadyAt))
	row("Last sleep", when(it.SleepRequestedAt, it.SleepExecution)+reason(it.SleepReason))
	row("Stopped at", stamp(it.StoppedAt))
	row("Last error", it.LastError)
	_ = tw.Flush()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}

	return t.UTC().Format(time.RFC3339)
}

// when is a request time with its execution.
func when(t time.Time, execution string) string {
	if t.IsZero() {
		return ""
	}
	s := stamp(t)
	if execution != "" {
		s += " (" + stateMachineName(execution) + ")"
	}

	return s
}

func reason(r rulestore.SleepReason) string {
	if r == "" {
		return ""
	}

	return ", " + string(r)
}
