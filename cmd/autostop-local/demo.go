package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/autostop/autostop/shared/cli"
	"github.com/autostop/autostop/shared/spec"
)

// demo brings the local backend up, provisions a load balancer from a
// sample request through the project's own CLI, and stops. It returns the
// CLI's exit code.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: autostop-local demo [flags]

Starts the local AWS backend (as 'up' does), fills a sample request from
statemachine/samples/ with the seeded environment's IDs, provisions it with
'autostop lb create' (each step shown live), prints the result and stops.

Flags:
`)
		fs.PrintDefaults()
	}
	flags := addBackendFlags(fs, 0)
	sample := fs.String("sample", "route53-existing-certificate", "sample request in statemachine/samples/ (without .json)")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}

	raw, err := os.ReadFile(filepath.Join(flags.root, "statemachine", "samples", *sample+".json"))
	if err != nil {
		return 2, fmt.Errorf("read sample: %w", err)
	}
	request, err := spec.Parse(raw)
	if err != nil {
		return 2, fmt.Errorf("sample %s: %w", *sample, err)
	}

	b, _, env, logFile, err := bringUp(ctx, *flags, stdout)
	if err != nil {
		return 1, err
	}
	defer logFile.Close()
	defer b.Stop()

	filled, err := json.MarshalIndent(env.Fill(request), "", "  ")
	if err != nil {
		return 1, err
	}
	specPath := filepath.Join(flags.root, ".build", "demo-"+*sample+".json")
	if err := os.WriteFile(specPath, append(filled, '\n'), 0o644); err != nil {
		return 1, fmt.Errorf("write %s: %w", specPath, err)
	}
	fmt.Fprintf(stdout, "\nRequest (statemachine/samples/%s.json with the seeded IDs), saved as %s:\n%s\n\n", *sample, specPath, filled)

	// The CLI reaches the backend through the SDK's standard settings, as
	// any other client would.
	for _, kv := range b.Env() {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return 1, err
		}
	}
	fmt.Fprintf(stdout, "$ autostop lb create -f %s\n", specPath)
	code := cli.Run(ctx, []string{"lb", "create", "-f", specPath}, stdout, stderr)

	fmt.Fprintf(stdout, "\nLogs of kumo and the functions: %s\n", flags.logPath)
	if code != 0 {
		return code, nil
	}
	fmt.Fprintln(stdout, "Demo done: the local backend stops now. `make up` keeps one running for other clients.")

	return 0, nil
}
