// Command holdbackend starts the local backend with one function process,
// prints the process ids it started as JSON on one line, and runs until
// SIGINT or SIGTERM. The no-orphan test drives it.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/autostop/autostop/shared/localaws"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	b, err := localaws.Start(ctx, localaws.Options{Binary: os.Args[1]})
	if err != nil {
		return err
	}
	defer b.Stop()

	if err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: "echo", TimeoutSec: 10, MemoryMB: 128}, os.Args[2]); err != nil {
		return err
	}

	if err := json.NewEncoder(os.Stdout).Encode(b.PIDs()); err != nil {
		return err
	}

	<-ctx.Done()

	return b.Stop()
}
