// Command autostop is autostop's command line. `autostop lb create -f
// spec.json` provisions a load balancer and shows each step live; see
// `autostop --help`. The logic lives in shared/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/autostop/autostop/shared/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
