package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/rulestore"

	"github.com/autostop/autostop/shared/localalb"
	"github.com/autostop/autostop/shared/localdeploy"
	"github.com/autostop/autostop/shared/localenv"
	"github.com/autostop/autostop/shared/localworkload"
)

// clients are the SDK clients up and demo use, all on the local backend.
type clients struct {
	events *eventbridge.Client
	states *sfn.Client
	ec2    *ec2.Client
	elb    *elbv2.Client
	rules  *rulestore.Store
}

func newClients(cfg aws.Config) clients {
	table, _ := app.Description().Table(app.RulesTable)

	return clients{
		events: eventbridge.NewFromConfig(cfg), states: sfn.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg),
		elb: elbv2.NewFromConfig(cfg), rules: rulestore.New(dynamodb.NewFromConfig(cfg), table.Name()),
	}
}

// dataPlane is what makes a local load balancer serve traffic: the ALB
// front (shared/localalb) and the stand-in apps of its instances
// (shared/localworkload).
type dataPlane struct {
	front   *localalb.Server
	metrics *localalb.MetricsPublisher
	sup     *localworkload.Supervisor
	cancel  context.CancelFunc
	done    chan struct{}
}

// startDataPlane serves the load balancer on 127.0.0.1:port (0: any free
// port) and runs the stand-ins. onEvent, when set, sees every stand-in
// event (started, listening, stopped).
func startDataPlane(ctx context.Context, cfg aws.Config, lbARN string, port int, log *slog.Logger, onEvent func(localworkload.Event)) (*dataPlane, error) {
	// RequestCount per target group to kumo's CloudWatch, as the ALB
	// publishes it each minute, but each app.IdlePeriod's local period (a
	// second): the idle watcher reads it with that period.
	period, err := localdeploy.LocalSeconds(app.IdlePeriod)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	metrics, err := localalb.NewMetricsPublisher(cloudwatch.NewFromConfig(cfg), localalb.MetricsConfig{LoadBalancerARN: lbARN, Period: period, Logger: log})
	if err != nil {
		cancel()
		return nil, err
	}
	front, err := localalb.New(localalb.NewClients(cfg), localalb.Config{LoadBalancerARN: lbARN, Logger: log, Observer: metrics})
	if err != nil {
		cancel()
		_ = metrics.Close()
		return nil, err
	}
	srv, err := front.Serve(ctx, "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		cancel()
		_ = metrics.Close()
		return nil, fmt.Errorf("serve the ALB front on port %d: %w", port, err)
	}
	sup := localworkload.NewSupervisor(ec2.NewFromConfig(cfg), localworkload.Config{Logger: log, OnEvent: onEvent})
	d := &dataPlane{front: srv, metrics: metrics, sup: sup, cancel: cancel, done: make(chan struct{})}
	go func() { _ = sup.Run(ctx); close(d.done) }()

	return d, nil
}

// URL is where a rule's host is served: http://<host>.localhost:<port>/.
func (d *dataPlane) URL(host string) string {
	return "http://" + host + ".localhost:" + strconv.Itoa(d.front.Port()) + "/"
}

// Stop ends the stand-ins and the front, and publishes the last requests'
// metrics.
func (d *dataPlane) Stop() {
	d.cancel()
	<-d.done
	_ = d.front.Close()
	_ = d.metrics.Close()
}

// demoApp is how the demo instance's stand-in behaves: it answers on 8080
// three seconds after the instance runs, like an app that boots.
var demoApp = localworkload.Spec{Ports: []int{8080}, StartupDelay: 3 * time.Second}

// seedDemoInstance launches the demo rule's instance in the seeded VPC,
// with its stand-in's tags, and stops it, as a workload autostop has put to
// sleep. It returns the instance's ID.
func seedDemoInstance(ctx context.Context, cfg aws.Config, env *localenv.Environment, addr netip.Addr) (string, error) {
	client := ec2.NewFromConfig(cfg)
	app := demoApp
	app.Address = addr
	tags := append(app.Tags(), ec2types.Tag{Key: aws.String("Name"), Value: aws.String("autostop-demo-app")})
	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0demo000000000000"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(env.SubnetIDs[0]),
		SecurityGroupIds:  []string{env.WebSGID},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: tags}},
	})
	if err != nil {
		return "", fmt.Errorf("launch the demo instance: %w", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	in := &ec2.DescribeInstancesInput{InstanceIds: []string{id}}
	if err := ec2.NewInstanceRunningWaiter(client).Wait(ctx, in, time.Minute, func(o *ec2.InstanceRunningWaiterOptions) { o.MinDelay = 200 * time.Millisecond }); err != nil {
		return "", fmt.Errorf("demo instance %s running: %w", id, err)
	}
	if _, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		return "", fmt.Errorf("stop the demo instance %s: %w", id, err)
	}
	if err := ec2.NewInstanceStoppedWaiter(client).Wait(ctx, in, time.Minute, func(o *ec2.InstanceStoppedWaiterOptions) { o.MinDelay = 200 * time.Millisecond }); err != nil {
		return "", fmt.Errorf("demo instance %s stopped: %w", id, err)
	}

	return id, nil
}

// printf writes one progress line with the time since start.
func printf(w io.Writer, start time.Time, format string, a ...any) {
	fmt.Fprintf(w, "  %-60s %6.2fs\n", strings.TrimSpace(fmt.Sprintf(format, a...)), time.Since(start).Seconds())
}
