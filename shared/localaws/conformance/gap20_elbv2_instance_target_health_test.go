package conformance

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 20: the targets of an instance target group are health-checked as on
// AWS. A new target is "initial"; it becomes "healthy" only after
// HealthyThresholdCount health checks (GET of HealthCheckPath on the traffic
// port) passed, and "unhealthy" after UnhealthyThresholdCount failed, with
// the reason (Target.ResponseCodeMismatch for a code outside the Matcher).
// The target of a stopped instance is "unused" (Target.InvalidState) and is
// not checked; once started it is checked from scratch. IP targets keep
// kumo's behaviour (healthy at once).
//
// kumo's instances do not run: the instance is tagged kumo:address=127.0.0.1
// so the checks reach this test's HTTP server.
func TestGap20ELBv2InstanceTargetHealth(t *testing.T) {
	ctx := t.Context()
	const interval = 300 * time.Millisecond
	b := localawstest.StartWith(t, localaws.Options{
		EC2StartDelay: time.Second, EC2StopDelay: 500 * time.Millisecond,
		HealthCheckInterval: interval, HealthCheckTimeout: 200 * time.Millisecond,
	})
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ec2c, elbc := ec2.NewFromConfig(cfg), elb.NewFromConfig(cfg)

	// The stand-in for the instance: counts the health checks per path.
	var okChecks, failChecks, redirectChecks atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.UserAgent() != "ELB-HealthChecker/2.0" {
			t.Errorf("health check %s with User-Agent %q, want ELB-HealthChecker/2.0", r.URL.Path, r.UserAgent())
		}
		switch r.URL.Path {
		case "/healthz":
			okChecks.Add(1)
		case "/fail":
			failChecks.Add(1)
			w.WriteHeader(http.StatusInternalServerError)
		case "/moved":
			redirectChecks.Add(1)
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	_, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)

	run, err := ec2c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeInstance,
			Tags:         []ec2types.Tag{{Key: aws.String("kumo:address"), Value: aws.String("127.0.0.1")}},
		}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	gap20WaitInstance(ctx, t, ec2c, id, ec2types.InstanceStateNameRunning)

	targetGroup := func(name, path, matcher string) string {
		t.Helper()
		out, err := elbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
			Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(int32(port)),
			VpcId: aws.String("vpc-0a"), TargetType: elbtypes.TargetTypeEnumInstance,
			HealthCheckPath: aws.String(path), HealthCheckIntervalSeconds: aws.Int32(5), HealthCheckTimeoutSeconds: aws.Int32(2),
			HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
			Matcher: &elbtypes.Matcher{HttpCode: aws.String(matcher)},
		})
		if err != nil {
			t.Fatalf("CreateTargetGroup %s: %v", name, err)
		}
		arn := aws.ToString(out.TargetGroups[0].TargetGroupArn)
		if _, err := elbc.RegisterTargets(ctx, &elb.RegisterTargetsInput{
			TargetGroupArn: aws.String(arn), Targets: []elbtypes.TargetDescription{{Id: aws.String(id)}},
		}); err != nil {
			t.Fatalf("RegisterTargets %s: %v", name, err)
		}
		return arn
	}
	okTG := targetGroup("gap20-ok", "/healthz", "200")
	failTG := targetGroup("gap20-fail", "/fail", "200")
	redirectTG := targetGroup("gap20-redirect", "/moved", "200-399")

	health := func(arn string) elbtypes.TargetHealth {
		t.Helper()
		out, err := elbc.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("DescribeTargetHealth: %v", err)
		}
		if len(out.TargetHealthDescriptions) != 1 || aws.ToString(out.TargetHealthDescriptions[0].Target.Id) != id {
			t.Fatalf("DescribeTargetHealth listed %d targets, want the instance %s", len(out.TargetHealthDescriptions), id)
		}
		return *out.TargetHealthDescriptions[0].TargetHealth
	}
	// waitFor polls until the target is in state and checks that it was
	// "initial" until then.
	waitFor := func(arn string, state elbtypes.TargetHealthStateEnum, checks *atomic.Int32, threshold int32) elbtypes.TargetHealth {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			before := checks.Load()
			h := health(arn)
			if h.State == state {
				if n := checks.Load(); n < threshold {
					t.Errorf("%s after %d health checks (%d before the call), want at least the threshold, %d", state, n, before, threshold)
				}
				return h
			}
			if h.State != elbtypes.TargetHealthStateEnumInitial {
				t.Fatalf("target health %s (%s: %s) while waiting for %s, want initial until then",
					h.State, h.Reason, aws.ToString(h.Description), state)
			}
			if time.Now().After(deadline) {
				t.Fatalf("target still %s (%s) after 15 s, want %s", h.State, h.Reason, state)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	t.Log("registered: initial")
	if h := health(okTG); h.State != elbtypes.TargetHealthStateEnumInitial ||
		(h.Reason != elbtypes.TargetHealthReasonEnumRegistrationInProgress && h.Reason != elbtypes.TargetHealthReasonEnumInitialHealthChecking) {
		t.Fatalf("target right after RegisterTargets: %s (%s), want initial (Elb.RegistrationInProgress or Elb.InitialHealthChecking)", h.State, h.Reason)
	}

	t.Log("initial → healthy after 2 passed checks; a 302 passes a 200-399 matcher")
	if h := waitFor(okTG, elbtypes.TargetHealthStateEnumHealthy, &okChecks, 2); h.Reason != "" || aws.ToString(h.Description) != "" {
		t.Errorf("healthy target has reason %q, description %q; want none", h.Reason, aws.ToString(h.Description))
	}
	waitFor(redirectTG, elbtypes.TargetHealthStateEnumHealthy, &redirectChecks, 2)

	t.Log("initial → unhealthy after 2 checks answered 500")
	h := waitFor(failTG, elbtypes.TargetHealthStateEnumUnhealthy, &failChecks, 2)
	if h.Reason != elbtypes.TargetHealthReasonEnumResponseCodeMismatch || !strings.Contains(aws.ToString(h.Description), "[500]") {
		t.Errorf("unhealthy target: reason %q, description %q; want Target.ResponseCodeMismatch, codes [500]", h.Reason, aws.ToString(h.Description))
	}

	t.Log("stopped instance: unused, Target.InvalidState, no checks")
	if _, err := ec2c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	gap20WaitInstance(ctx, t, ec2c, id, ec2types.InstanceStateNameStopped)
	h = health(okTG)
	if h.State != elbtypes.TargetHealthStateEnumUnused || h.Reason != elbtypes.TargetHealthReasonEnumInvalidState ||
		aws.ToString(h.Description) != "Target is in the stopped state" {
		t.Errorf("target of the stopped instance: %s (%s: %q), want unused (Target.InvalidState: Target is in the stopped state)",
			h.State, h.Reason, aws.ToString(h.Description))
	}
	checksWhenStopped := okChecks.Load()
	time.Sleep(3 * interval)
	if n := okChecks.Load(); n != checksWhenStopped {
		t.Errorf("%d health checks of the stopped instance's target, want none", n-checksWhenStopped)
	}

	t.Log("started again: checked from scratch")
	if _, err := ec2c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("StartInstances: %v", err)
	}
	gap20WaitInstance(ctx, t, ec2c, id, ec2types.InstanceStateNameRunning)
	if h := health(okTG); h.State != elbtypes.TargetHealthStateEnumInitial {
		t.Errorf("target of the restarted instance: %s (%s), want initial", h.State, h.Reason)
	}
	waitFor(okTG, elbtypes.TargetHealthStateEnumHealthy, &okChecks, checksWhenStopped+2)

	t.Log("IP targets: healthy at once, as before")
	ipTG, err := elbc.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String("gap20-ip"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(8080),
		VpcId: aws.String("vpc-0a"), TargetType: elbtypes.TargetTypeEnumIp,
	})
	if err != nil {
		t.Fatal(err)
	}
	ipARN := ipTG.TargetGroups[0].TargetGroupArn
	if _, err := elbc.RegisterTargets(ctx, &elb.RegisterTargetsInput{
		TargetGroupArn: ipARN, Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.0.1"), Port: aws.Int32(8080)}},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := elbc.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: ipARN})
	if err != nil || len(out.TargetHealthDescriptions) != 1 || out.TargetHealthDescriptions[0].TargetHealth.State != elbtypes.TargetHealthStateEnumHealthy {
		t.Errorf("IP target health = %+v, %v; want healthy", out, err)
	}
}

func gap20WaitInstance(ctx context.Context, t *testing.T, client *ec2.Client, id string, state ec2types.InstanceStateName) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			t.Fatalf("DescribeInstances: %v", err)
		}
		got := out.Reservations[0].Instances[0].State.Name
		if got == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s is %s after 15 s, want %s", id, got, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
