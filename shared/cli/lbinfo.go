package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/spf13/cobra"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/inventory"
	"github.com/autostop/autostop/shared/rulestore"
)

// EnvRulesTable overrides the rules table's name (default autostop-rules,
// as the stack deploys it).
const EnvRulesTable = "AUTOSTOP_RULES_TABLE"

// reader builds what list and describe read with, from the global flags.
func (c *CLI) reader(ctx context.Context) (inventory.Reader, *rulestore.Store, error) {
	cfg, _, err := c.awsConfig(ctx)
	if err != nil {
		return inventory.Reader{}, nil, err
	}
	table := os.Getenv(EnvRulesTable)
	if table == "" {
		table = app.NamePrefix + app.RulesTable
	}
	store := rulestore.New(dynamodb.NewFromConfig(cfg), table)

	return inventory.Reader{ELBv2: elbv2.NewFromConfig(cfg), Rules: store}, store, nil
}

func (c *CLI) lbListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List autostop's load balancers",
		Long: `Lists the load balancers autostop provisioned or adopted in this account and
region (found by their proxy target groups, which carry autostop's tags), with
their domain, state, DNS name and how many AutoStopping rules each serves.

--output json prints an array of objects: name, arn, dnsName, state (the ALB's:
provisioning, active, active_impaired, failed; "missing" when the proxy target
group is attached to no load balancer), scheme, vpcId, domain, adopted,
createdBy (the execution that created the ALB), proxyTargetGroupArn, rules.

` + exitCodesHelp,
		Example: `  autostop lb list
  autostop lb list --output json | jq -r '.[].dnsName'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, _, err := c.reader(cmd.Context())
			if err != nil {
				return err
			}
			lbs, err := r.LoadBalancers(cmd.Context())
			if err != nil {
				return failed(err)
			}
			if c.global.output == outputJSON {
				return c.printJSON(lbs)
			}
			printLoadBalancers(c.Stdout, lbs)
			return nil
		},
	}
}

func printLoadBalancers(w io.Writer, lbs []inventory.LoadBalancer) {
	if len(lbs) == 0 {
		fmt.Fprintln(w, "No autostop load balancers in this account and region ('autostop lb create -f spec.json' provisions one).")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDOMAIN\tSTATE\tRULES\tADOPTED\tDNS NAME")
	for _, lb := range lbs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", lb.Name, lb.Domain, lb.State, lb.Rules, yesNo(lb.Adopted), dash(lb.DNSName))
	}
	_ = tw.Flush()
}

func (c *CLI) lbDescribeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a load balancer: listeners, proxy target, rules",
		Long: `Shows one autostop load balancer: the ALB (ARN, DNS name, state, scheme, VPC,
security groups), whether autostop created or adopted it, its domain, its
listeners (port, protocol, default action, certificate, how many host rules),
the proxy target group and its target (the proxy function's alias), and its
AutoStopping rules with their state.

--output json prints {"loadBalancer": {…as in 'lb list'…}, "securityGroups": […],
"listeners": [{arn, port, protocol, certificates, defaultAction, hostRules}],
"proxyTargets": […], "rules": [{…as in 'rules list'…}]}.

` + exitCodesHelp,
		Example: `  autostop lb describe web
  autostop lb describe web --output json | jq '.listeners'`,
		Args: oneName("load balancer NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, _, err := c.reader(cmd.Context())
			if err != nil {
				return err
			}
			d, err := r.Describe(cmd.Context(), args[0])
			if errors.Is(err, inventory.ErrNotFound) {
				return notFound(fmt.Errorf("no autostop load balancer named %q in this account and region ('autostop lb list' lists them)", args[0]))
			}
			if err != nil {
				return failed(err)
			}
			if c.global.output == outputJSON {
				return c.printJSON(d)
			}
			printDetail(c.Stdout, d)
			return nil
		},
	}
}

func printDetail(w io.Writer, d inventory.Detail) {
	lb := d.LoadBalancer
	fmt.Fprintf(w, "Load balancer %s\n", lb.Name)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s%s\t%s\n", indent, k, v) }
	row("ARN", dash(lb.ARN))
	row("DNS name", dash(lb.DNSName))
	row("State", lb.State)
	row("Scheme", dash(lb.Scheme))
	row("VPC", dash(lb.VPCID))
	row("Security groups", dash(strings.Join(d.SecurityGroups, ", ")))
	row("Domain", fmt.Sprintf("%s (rules answer <name>.%s)", lb.Domain, lb.Domain))
	if lb.Adopted {
		row("Owner", "adopted: existed before autostop, never deleted by it")
	} else {
		row("Owner", "created by autostop (execution "+dash(lb.CreatedBy)+")")
	}
	row("Proxy target", lb.ProxyTargetGroupARN)
	row("Proxy function", dash(strings.Join(d.ProxyTargets, ", ")))
	_ = tw.Flush()

	fmt.Fprintf(w, "\nListeners (%d):\n", len(d.Listeners))
	if len(d.Listeners) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "%sPORT\tPROTOCOL\tDEFAULT ACTION\tHOST RULES\tCERTIFICATE\n", indent)
		for _, l := range d.Listeners {
			fmt.Fprintf(tw, "%s%d\t%s\t%s\t%d\t%s\n", indent, l.Port, l.Protocol, l.DefaultAction, l.HostRules, dash(strings.Join(l.Certificates, ", ")))
		}
		_ = tw.Flush()
	}

	fmt.Fprintf(w, "\nRules (%d):\n", len(d.Rules))
	if len(d.Rules) > 0 {
		printRules(w, indent, d.Rules, false)
	}
}

// printRules writes rules as a table, each line after prefix.
func printRules(w io.Writer, prefix string, rules []inventory.Rule, withLB bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	lbCol := ""
	if withLB {
		lbCol = "LOAD BALANCER\t"
	}
	fmt.Fprintf(tw, "%sHOST\t%sSTATE\tINSTANCES\tPORT\tIDLE\tLAST ERROR\n", prefix, lbCol)
	for _, r := range rules {
		lbCol = ""
		if withLB {
			lbCol = r.LoadBalancer + "\t"
		}
		state := r.State
		if r.Broken != "" {
			state += " (broken)"
		}
		if r.DryRun {
			state += " (dry run)"
		}
		fmt.Fprintf(tw, "%s%s\t%s%s\t%s\t%d\t%dm\t%s\n", prefix, r.Host, lbCol, state, strings.Join(r.InstanceIDs, ","), r.Port, r.IdleMinutes, dash(shorten(r.LastError, 60)))
	}
	_ = tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}

	return "no"
}

// dash stands in for an empty value in tables.
func dash(s string) string {
	if s == "" {
		return "-"
	}

	return s
}
