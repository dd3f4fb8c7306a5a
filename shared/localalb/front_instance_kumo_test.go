package localalb

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localenv"
	"github.com/autostop/autostop/shared/localworkload"
)

// TestFrontForwardsToStandInInstance: an HTTP:80 listener forwards by
// default to an instance target group (health check /healthz, healthy
// threshold 2) whose target is a stopped kumo instance with a stand-in
// workload (shared/localworkload). Once the instance is started, the front
// answers 503 while kumo reports the target "initial", and forwards to the
// stand-in once kumo has health-checked it "healthy"; when the instance
// stops, 503 again.
func TestFrontForwardsToStandInInstance(t *testing.T) {
	if localworkload.AddressTag != AddressTag {
		t.Fatalf("localworkload.AddressTag %q != AddressTag %q", localworkload.AddressTag, AddressTag)
	}
	ctx := t.Context()
	b := localawstest.StartWith(t, localaws.Options{
		EC2StartDelay: 300 * time.Millisecond, EC2StopDelay: 300 * time.Millisecond,
		HealthCheckInterval: 200 * time.Millisecond, HealthCheckTimeout: 150 * time.Millisecond,
	})
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := localenv.Seed(ctx, cfg)
	if err != nil {
		t.Fatalf("seed the local environment: %v", err)
	}
	ec2c, api := ec2.NewFromConfig(cfg), elbv2.NewFromConfig(cfg)

	const port = 8080
	addr, err := localworkload.NewRandomAddresses().Next(port)
	if err != nil {
		t.Fatal(err)
	}
	spec := localworkload.Spec{Address: addr, Ports: []int{port}, StartupDelay: 200 * time.Millisecond}
	run, err := ec2c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(env.SubnetIDs[0]),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: spec.Tags()}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	waitInstance := func(want ec2types.InstanceStateName) {
		t.Helper()
		if err := standInWaitFor(5*time.Second, func() (bool, error) {
			out, err := ec2c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
			if err != nil {
				return false, err
			}
			return out.Reservations[0].Instances[0].State.Name == want, nil
		}); err != nil {
			t.Fatalf("instance %s %s: %v", id, want, err)
		}
	}
	waitInstance(ec2types.InstanceStateNameRunning)
	if _, err := ec2c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	waitInstance(ec2types.InstanceStateNameStopped)

	tg, err := api.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("front-instance"), TargetType: types.TargetTypeEnumInstance, Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(port), VpcId: aws.String(env.VPCID), HealthCheckPath: aws.String("/healthz"),
		// kumo checks from the moment the instance runs; the stand-in
		// listens up to a poll plus its startup delay later (250 ms): 5
		// failed checks (1 s) are needed to make the target unhealthy.
		HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(5),
	})
	if err != nil {
		t.Fatalf("create target group: %v", err)
	}
	tgARN := tg.TargetGroups[0].TargetGroupArn
	if _, err := api.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tgARN, Targets: []types.TargetDescription{{Id: aws.String(id)}}}); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
	lb, err := api.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("front-instance"), Type: types.LoadBalancerTypeEnumApplication, Scheme: types.LoadBalancerSchemeEnumInternetFacing,
		Subnets: env.SubnetIDs, SecurityGroups: []string{env.WebSGID},
	})
	if err != nil {
		t.Fatalf("create load balancer: %v", err)
	}
	lbARN := aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	if _, err := api.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: tgARN}}}); err != nil {
		t.Fatalf("create listener: %v", err)
	}

	sup := localworkload.NewSupervisor(ec2c, localworkload.Config{PollInterval: 50 * time.Millisecond, Logger: testLogger(t)})
	supDone := make(chan error, 1)
	supCtx, stopSup := context.WithCancel(ctx)
	go func() { supDone <- sup.Run(supCtx) }()
	t.Cleanup(func() {
		stopSup()
		if err := <-supDone; err != nil {
			t.Errorf("supervisor: %v", err)
		}
	})

	front, err := New(NewClients(cfg), Config{LoadBalancerARN: lbARN, CacheTTL: 100 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, front)
	host := "app.autostop.example.test.localhost:" + strconv.Itoa(srv.Port())
	client := &http.Client{Timeout: 5 * time.Second}
	send := func() (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, "GET", srv.URL()+"/hello?x=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET through the front: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header
	}
	health := func() types.TargetHealthStateEnum {
		t.Helper()
		out, err := api.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tgARN})
		if err != nil || len(out.TargetHealthDescriptions) != 1 {
			t.Fatalf("DescribeTargetHealth = %+v, %v", out, err)
		}
		return out.TargetHealthDescriptions[0].TargetHealth.State
	}

	if h := health(); h != types.TargetHealthStateEnumUnused {
		t.Errorf("target of the stopped instance: %s, want unused", h)
	}
	if status, body, _ := send(); status != http.StatusServiceUnavailable {
		t.Errorf("stopped instance: %d %q, want 503", status, body)
	}

	started := time.Now()
	if _, err := ec2c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("StartInstances: %v", err)
	}
	// A request is checked against the target's health before and after
	// it: "initial" both times means the front cannot have seen it healthy.
	var initial503 int
	for {
		before := health()
		status, body, _ := send()
		after := health()
		if before == types.TargetHealthStateEnumInitial && after == types.TargetHealthStateEnumInitial {
			if status != http.StatusServiceUnavailable {
				t.Fatalf("target initial: the front answered %d %q, want 503", status, body)
			}
			initial503++
		}
		if after == types.TargetHealthStateEnumHealthy {
			break
		}
		if after == types.TargetHealthStateEnumUnhealthy || time.Since(started) > 10*time.Second {
			t.Fatalf("target %s %v after StartInstances, want healthy", after, time.Since(started).Round(time.Millisecond))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("target healthy %v after StartInstances; %d requests answered 503 while it was initial", time.Since(started).Round(time.Millisecond), initial503)
	if initial503 == 0 {
		t.Error("no request was sent while the target was initial")
	}

	var status int
	var body string
	var header http.Header
	if err := standInWaitFor(3*time.Second, func() (bool, error) {
		status, body, header = send()
		return status == http.StatusOK, nil
	}); err != nil {
		t.Fatalf("healthy target: the front still answers %d %q", status, body)
	}
	for _, want := range []string{"served by " + id, "host: app.autostop.example.test\n", "path: /hello?x=1\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if header.Get("X-Served-By") != id {
		t.Errorf("X-Served-By %q, want %s", header.Get("X-Served-By"), id)
	}

	t.Log("stopped again: 503")
	if _, err := ec2c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	if err := standInWaitFor(3*time.Second, func() (bool, error) {
		status, body, _ = send()
		return status == http.StatusServiceUnavailable, nil
	}); err != nil {
		t.Fatalf("stopping instance: the front still answers %d %q", status, body)
	}
}

// standInWaitFor polls cond every 20 ms until it holds, fails, or timeout passes.
func standInWaitFor(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return context.DeadlineExceeded
		}
		time.Sleep(20 * time.Millisecond)
	}
}
