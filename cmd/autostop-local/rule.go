package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localdeploy"
	"github.com/autostop/autostop/shared/localenv"
	"github.com/autostop/autostop/shared/localworkload"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/spec"
)

// demoRule is the rule `make up` and `make demo` attach: the demo instance
// behind demo.<domain>, checked on /healthz every few seconds (every 500 ms
// locally) and switched after two successes.
func demoRule(instanceID string) rule.Rule {
	return rule.Rule{
		Name: "demo", InstanceIDs: []string{instanceID}, Port: 8080, IdleMinutes: 15,
		HealthCheck: &rule.HealthCheck{Path: "/healthz", IntervalSeconds: 5, TimeoutSeconds: 2, HealthyThresholdCount: 2, UnhealthyThresholdCount: 10},
	}
}

// attachByEvent puts an "AutoStopping Rule Created" event for r on the
// autostop bus, as any producer would, and waits for the AttachRule
// execution the event starts (named evt-<event id>). It returns that
// execution's output.
func attachByEvent(ctx context.Context, clients clients, region, lb string, r rule.Rule) (string, error) {
	detail, err := json.Marshal(eventstart.RuleCreated{Rule: r, LoadBalancer: eventstart.LoadBalancerRef{Name: lb}})
	if err != nil {
		return "", err
	}
	out, err := clients.events.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
		EventBusName: aws.String(eventstart.EventBusName), Source: aws.String(eventstart.Source),
		DetailType: aws.String(eventstart.DetailTypeRuleCreated), Detail: aws.String(string(detail)),
	}}})
	if err != nil {
		return "", fmt.Errorf("put the rule's event: %w", err)
	}
	if out.FailedEntryCount > 0 || len(out.Entries) != 1 {
		return "", fmt.Errorf("put the rule's event: %d failed", out.FailedEntryCount)
	}
	arn := eventstart.ExecutionARN(localdeploy.StateMachineARN(region, app.NamePrefix+app.AttachRule),
		eventstart.ExecutionName(aws.ToString(out.Entries[0].EventId)))

	return waitExecution(ctx, clients.states, arn, 2*time.Minute)
}

// provision runs ProvisionLoadBalancer on s and waits for it.
func provision(ctx context.Context, clients clients, region string, s spec.LoadBalancerSpec) (string, error) {
	in, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	started, err := clients.states.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(localdeploy.StateMachineARN(region, app.NamePrefix+app.ProvisionLoadBalancer)),
		Name:            aws.String("local-" + s.Name), Input: aws.String(string(in)),
	})
	if err != nil {
		return "", fmt.Errorf("provision %s: %w", s.Name, err)
	}

	return waitExecution(ctx, clients.states, aws.ToString(started.ExecutionArn), 4*time.Minute)
}

// waitExecution waits for an execution (which may not exist yet) to end
// and returns its output; a failed execution is an error with its cause.
func waitExecution(ctx context.Context, states *sfn.Client, arn string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		d, err := states.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		var missing *sfntypes.ExecutionDoesNotExist
		switch {
		case errors.As(err, &missing):
		case err != nil:
			return "", fmt.Errorf("execution %s: %w", arn, err)
		case d.Status == sfntypes.ExecutionStatusSucceeded:
			return aws.ToString(d.Output), nil
		case d.Status != sfntypes.ExecutionStatusRunning:
			return "", fmt.Errorf("execution %s %s: %s: %s", aws.ToString(d.Name), d.Status, aws.ToString(d.Error), aws.ToString(d.Cause))
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("execution %s did not end within %v", arn, timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// provisioned is what up and demo read of a provisioning's output.
type provisioned struct {
	Name    string `json:"name"`
	Domain  string `json:"domain"`
	Results struct {
		LoadBalancer struct {
			ARN string `json:"arn"`
		} `json:"loadBalancer"`
	} `json:"results"`
}

// attachDemo seeds the demo instance (stopped), attaches the demo rule to
// the load balancer by event, and starts the data plane serving it on
// frontPort. It prints each phase with its time.
func attachDemo(ctx context.Context, w io.Writer, start time.Time, cfg aws.Config, env *localenv.Environment, lb provisioned, frontPort int, log *slog.Logger) (*dataPlane, rulestore.Item, error) {
	cl := newClients(cfg)
	addr, err := localworkload.NewAddresses(localworkload.FirstAddress).Next(demoApp.Ports...)
	if err != nil {
		return nil, rulestore.Item{}, err
	}
	id, err := seedDemoInstance(ctx, cfg, env, addr)
	if err != nil {
		return nil, rulestore.Item{}, err
	}
	printf(w, start, "instance %s (stand-in app on %s:8080), stopped", id, addr)

	r := demoRule(id)
	if _, err := attachByEvent(ctx, cl, env.Region, lb.Name, r); err != nil {
		return nil, rulestore.Item{}, fmt.Errorf("attach the demo rule: %w", err)
	}
	it, err := cl.rules.Get(ctx, r.Name+"."+lb.Domain, true)
	if err != nil {
		return nil, rulestore.Item{}, fmt.Errorf("the demo rule after AttachRule: %w", err)
	}
	printf(w, start, "rule %s attached by event (AttachRule): %s", it.Rule.Name, it.State)

	plane, err := startDataPlane(ctx, cfg, lb.Results.LoadBalancer.ARN, frontPort, log, nil)
	if err != nil {
		return nil, rulestore.Item{}, err
	}
	printf(w, start, "ALB front on 127.0.0.1:%d, stand-in apps supervised", plane.front.Port())

	return plane, it, nil
}

// demoLoadBalancer provisions the sample load balancer of the seeded
// environment and attaches the demo rule to it (up and demo).
func demoLoadBalancer(ctx context.Context, w io.Writer, b *localaws.Backend, env *localenv.Environment, f backendFlags, frontPort int, logOut io.Writer) (*dataPlane, rulestore.Item, error) {
	start := time.Now()
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		return nil, rulestore.Item{}, err
	}
	raw, err := os.ReadFile(filepath.Join(f.root, "statemachine", "samples", "route53-existing-certificate.json"))
	if err != nil {
		return nil, rulestore.Item{}, fmt.Errorf("read sample: %w", err)
	}
	s, err := spec.Parse(raw)
	if err != nil {
		return nil, rulestore.Item{}, err
	}
	out, err := provision(ctx, newClients(cfg), env.Region, env.Fill(s))
	if err != nil {
		return nil, rulestore.Item{}, err
	}
	var lb provisioned
	if err := json.Unmarshal([]byte(out), &lb); err != nil {
		return nil, rulestore.Item{}, fmt.Errorf("provisioning output: %w", err)
	}
	printf(w, start, "load balancer %s provisioned (*.%s)", lb.Name, lb.Domain)

	return attachDemo(ctx, w, start, cfg, env, lb, frontPort, slog.New(slog.NewJSONHandler(logOut, nil)))
}

// printFront says how to reach the demo rule through the front.
func printFront(w io.Writer, plane *dataPlane, it rulestore.Item) {
	url := plane.URL(it.Host)
	fmt.Fprintf(w, `
The load balancer is served on 127.0.0.1:%d (the ALB front). The rule %q answers
%s; its instance %s is stopped. Open in a browser:

  %s

or, as an API client (held until the instance serves, then 307):

  curl -i -H 'Accept: application/json' %s

The first request wakes the instance (StartInstances, then the health check, then
the switch); the page reloads itself onto the instance's page.
`, plane.front.Port(), it.Rule.Name, it.Host, it.Rule.InstanceIDs[0], url, url)
}
