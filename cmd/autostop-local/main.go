// Command autostop-local runs autostop's local AWS backend: the patched kumo
// emulator with the app deployed and a customer environment seeded, for any
// AWS client to drive. See `autostop-local up --help`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localdeploy"
	"github.com/autostop/autostop/shared/localenv"
)

const usage = `autostop-local runs autostop on a local AWS backend (the kumo emulator,
patched by this project), with no AWS account.

Usage:
  autostop-local up [flags]    start the backend, deploy the app, seed a demo
                               environment, print how to reach it; Ctrl-C stops
                               everything
  autostop-local demo [flags]  the same, then provision a load balancer from a
                               sample request with 'autostop lb create', show
                               each step live, print the result and stop

Run 'make up' or 'make demo' from the repository root: they build kumo and the
functions first.
`

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		fmt.Fprint(os.Stderr, usage)
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	var err error
	switch os.Args[1] {
	case "up":
		err = up(ctx, os.Args[2:], os.Stdout)
	case "demo":
		var code int
		code, err = demo(ctx, os.Args[2:], os.Stdout, os.Stderr)
		if err == nil && code != 0 {
			os.Exit(code)
		}
	default:
		err = fmt.Errorf("unknown command %q (try --help)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "autostop-local:", err)
		os.Exit(1)
	}
}

func up(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: autostop-local up [flags]

Starts kumo on 127.0.0.1, deploys every function and state machine of the app,
seeds a VPC, subnets, security groups, the hosted zone example.test and ACM
certificates, provisions the load balancer autostop-demo, attaches the rule
"demo" for a stopped instance, serves the load balancer on the ALB front,
prints the environment variables an AWS client needs, and stays up until
Ctrl-C. Examples, in another shell:

  export AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 \
         AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  aws stepfunctions list-state-machines
  curl -i http://demo.autostop.example.test.localhost:8088/   # wakes the demo rule

Flags:
`)
		fs.PrintDefaults()
	}
	flags := addBackendFlags(fs, 4566)
	envJSON := fs.String("env-json", "", "also write the seeded environment's IDs to this file as JSON")
	frontPort := fs.Int("front-port", 8088, "port of the ALB front on 127.0.0.1 (0: any free port)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	b, deployed, env, logFile, err := bringUp(ctx, *flags, stdout)
	if err != nil {
		return err
	}
	defer logFile.Close()
	defer b.Stop()

	plane, it, err := demoLoadBalancer(ctx, stdout, b, env, *flags, *frontPort, logFile)
	if err != nil {
		return err
	}
	defer plane.Stop()

	if *envJSON != "" {
		data, _ := json.MarshalIndent(env, "", "  ")
		if err := os.WriteFile(*envJSON, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *envJSON, err)
		}
	}

	printBanner(stdout, b, env, deployed)
	printFront(stdout, plane, it)
	fmt.Fprintf(stdout, "\nLogs: %s\nPress Ctrl-C to stop.\n", flags.logPath)

	<-ctx.Done()
	fmt.Fprintln(stdout, "\nStopping the local AWS backend")

	return b.Stop()
}

func printBanner(w io.Writer, b *localaws.Backend, env *localenv.Environment, d *localdeploy.Deployed) {
	fmt.Fprintf(w, `
Local AWS backend is up. In another shell:

  export %s

Seeded environment (%s):
  VPC                 %s  subnets %s (%s)
  security group      %s  (80/443 open)
  other VPC           %s  subnet %s  security group %s
  hosted zone         %s  %s  (domain %s)
  certificate         %s  (*.%s, valid)
  other certificate   %s  (does not cover the domain)
  expired certificate %s

Deployed:
`, strings.Join(b.Env(), " \\\n         "), env.Region,
		env.VPCID, strings.Join(env.SubnetIDs, ", "), strings.Join(env.SubnetAZs, ", "), env.WebSGID,
		env.OtherVPCID, env.OtherSubnetID, env.OtherSGID,
		env.HostedZoneID, env.ZoneName, env.Domain,
		env.CertificateARN, env.Domain, env.OtherCertificateARN, env.ExpiredCertificateARN)
	for _, id := range slices.Sorted(maps.Keys(d.FunctionARNs)) {
		fmt.Fprintf(w, "  function       %-24s %s\n", id, d.FunctionARNs[id])
	}
	for _, id := range slices.Sorted(maps.Keys(d.StateMachineARNs)) {
		fmt.Fprintf(w, "  state machine  %-24s %s\n", id, d.StateMachineARNs[id])
	}
	for _, id := range slices.Sorted(maps.Keys(d.RuleARNs)) {
		fmt.Fprintf(w, "  event rule     %-24s %s\n", id, d.RuleARNs[id])
	}
	for _, s := range app.Description().Schedules {
		fmt.Fprintf(w, "  schedule       %-24s %s  %s, %dx faster locally\n", s.ID, d.ScheduleARNs[s.ID], s.Expression, app.LocalScheduleScale)
	}
}

// backendFlags are the flags up and demo share.
type backendFlags struct {
	port                 int
	region, kumo, binDir string
	logPath, root        string
}

// addBackendFlags registers the flags up and demo share.
func addBackendFlags(fs *flag.FlagSet, defaultPort int) *backendFlags {
	root, _ := localaws.RepoRoot()
	f := &backendFlags{root: root}
	fs.IntVar(&f.port, "port", defaultPort, "kumo's port on 127.0.0.1 (0: any free port)")
	fs.StringVar(&f.region, "region", localaws.DefaultRegion, "region the backend serves")
	fs.StringVar(&f.kumo, "kumo", "", "patched kumo binary (default: $AUTOSTOP_KUMO or .build/bin/kumo)")
	fs.StringVar(&f.binDir, "bin-dir", filepath.Join(root, ".build", "local"), "directory with <function>/bootstrap built for this machine")
	fs.StringVar(&f.logPath, "log", filepath.Join(root, ".build", "local-backend.log"), "file for kumo's and the functions' logs")

	return f
}

// bringUp starts kumo, deploys the app and seeds the environment, printing
// each phase with its time. The caller stops the backend and closes the log.
func bringUp(ctx context.Context, f backendFlags, stdout io.Writer) (*localaws.Backend, *localdeploy.Deployed, *localenv.Environment, *os.File, error) {
	logFile, err := os.Create(f.logPath)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("open log %s: %w", f.logPath, err)
	}

	start := time.Now()
	step := func(format string, a ...any) {
		fmt.Fprintf(stdout, "  %-44s %6.2fs\n", fmt.Sprintf(format, a...), time.Since(start).Seconds())
	}

	fmt.Fprintln(stdout, "Starting the local AWS backend")
	// The app's schedules fire at app.LocalScheduleScale (the idle
	// watcher every second), as in every local run of the app.
	b, err := localaws.Start(ctx, localdeploy.BackendOptions(localaws.Options{
		Binary: f.kumo, Region: f.region, Port: f.port, Output: logFile,
		Logger: slog.New(slog.NewJSONHandler(logFile, nil)),
	}))
	if err != nil {
		logFile.Close()
		return nil, nil, nil, nil, err
	}
	fail := func(err error) (*localaws.Backend, *localdeploy.Deployed, *localenv.Environment, *os.File, error) {
		_ = b.Stop()
		logFile.Close()
		return nil, nil, nil, nil, err
	}
	step("kumo healthy on %s", b.Endpoint())

	deployed, err := localdeploy.Deploy(ctx, b, app.Description(), localdeploy.Options{RepoRoot: f.root, BinDir: f.binDir})
	if err != nil {
		return fail(err)
	}
	step("%d functions polling, %d state machine(s)", len(deployed.FunctionARNs), len(deployed.StateMachineARNs))

	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		return fail(err)
	}
	env, err := localenv.Seed(ctx, cfg)
	if err != nil {
		return fail(err)
	}
	step("environment seeded")

	return b, deployed, env, logFile, nil
}
