package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/cli"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localenv"
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

	if code != 0 {
		fmt.Fprintf(stdout, "\nLogs of kumo and the functions: %s\n", flags.logPath)
		return code, nil
	}

	if err := demoWake(ctx, stdout, b, env, env.Fill(request), logFile); err != nil {
		fmt.Fprintf(stdout, "\nLogs of kumo and the functions: %s\n", flags.logPath)
		return 1, err
	}
	fmt.Fprintf(stdout, "\nLogs of kumo and the functions: %s\n", flags.logPath)
	fmt.Fprintln(stdout, "Demo done: the local backend stops now. `make up` keeps one running for other clients and a browser.")

	return 0, nil
}

// demoWake attaches the demo rule to the load balancer the demo
// provisioned, sends a first request through the ALB front and prints the
// wake as it happens, until the instance serves.
func demoWake(ctx context.Context, stdout io.Writer, b *localaws.Backend, env *localenv.Environment, s spec.LoadBalancerSpec, logOut io.Writer) error {
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		return err
	}
	lbs, err := elbv2.NewFromConfig(cfg).DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{s.Name}})
	if err != nil || len(lbs.LoadBalancers) != 1 {
		return fmt.Errorf("find load balancer %s: %v", s.Name, err)
	}
	lb := provisioned{Name: s.Name, Domain: spec.NormalizeDomain(s.Domain)}
	lb.Results.LoadBalancer.ARN = aws.ToString(lbs.LoadBalancers[0].LoadBalancerArn)

	fmt.Fprintf(stdout, "\nAttaching the rule \"demo\" (an AutoStopping Rule Created event) to a stopped instance:\n")
	start := time.Now()
	plane, it, err := attachDemo(ctx, stdout, start, cfg, env, lb, 0, slog.New(slog.NewJSONHandler(logOut, nil)))
	if err != nil {
		return err
	}
	defer plane.Stop()

	url := plane.URL(it.Host)
	fmt.Fprintf(stdout, "\nFirst request, as a browser opening %s:\n", url)
	start = time.Now()
	status, header, _, err := get(ctx, url, "text/html")
	if err != nil {
		return err
	}
	printf(stdout, start, "GET → %d, Retry-After %s, X-Autostop %q (the progress page)", status, header.Get("Retry-After"), header.Get("X-Autostop"))
	w := &wakeWatch{out: stdout, start: start, cl: newClients(cfg), plane: plane}

	return w.run(ctx, it.Host, 2*time.Minute)
}
