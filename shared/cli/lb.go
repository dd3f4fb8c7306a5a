package cli

import "github.com/spf13/cobra"

func (c *CLI) lbCommand() *cobra.Command {
	return group("lb", "Provision, inspect and delete load balancers",
		`A load balancer is an Application Load Balancer autostop provisioned (or
adopted) for one wildcard domain: its default rule sends requests for stopped
workloads to the proxy function; each AutoStopping rule adds a host rule.`,
		`  autostop lb create -f web.json
  autostop lb list
  autostop lb describe web
  autostop lb delete web --force`,
		c.lbCreateCommand(), c.lbListCommand(), c.lbDescribeCommand(), c.lbDeleteCommand(), c.lbUpdateProxyCommand(),
	)
}
