package localworkload

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// kumoEC2 starts kumo with the given instance delays and returns an EC2
// client and a subnet to launch instances in.
func kumoEC2(t *testing.T, start, stop time.Duration) (*ec2.Client, string) {
	t.Helper()
	ctx := t.Context()
	b := localawstest.StartWith(t, localaws.Options{EC2StartDelay: start, EC2StopDelay: stop})
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	api := ec2.NewFromConfig(cfg)
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	subnet, err := api.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.30.1.0/24")})
	if err != nil {
		t.Fatalf("CreateSubnet: %v", err)
	}

	return api, aws.ToString(subnet.Subnet.SubnetId)
}

// runInstance launches one instance tagged with spec's tags.
func runInstance(t *testing.T, api *ec2.Client, subnetID string, spec Spec) string {
	t.Helper()
	out, err := api.RunInstances(t.Context(), &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: spec.Tags()}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}

	return aws.ToString(out.Instances[0].InstanceId)
}

func instanceState(t *testing.T, api *ec2.Client, id string) ec2types.InstanceStateName {
	t.Helper()
	out, err := api.DescribeInstances(t.Context(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances(%s) = %+v, %v", id, out, err)
	}

	return out.Reservations[0].Instances[0].State.Name
}

func waitState(t *testing.T, api *ec2.Client, id string, want ec2types.InstanceStateName) {
	t.Helper()
	eventually(t, "instance "+id+" is "+string(want), func() bool { return instanceState(t, api, id) == want })
}

// TestStandInFollowsKumoInstance: the stand-in listens once kumo reports
// the instance running and the startup delay has passed, answers on each
// port, stops answering while the instance is stopping, and starts again
// with the instance.
func TestStandInFollowsKumoInstance(t *testing.T) {
	const startDelay, stopDelay, startupDelay = 500 * time.Millisecond, time.Second, 300 * time.Millisecond
	api, subnet := kumoEC2(t, startDelay, stopDelay)
	spec := testSpec(t, 2)
	spec.StartupDelay = startupDelay

	s := NewSupervisor(api, Config{PollInterval: 50 * time.Millisecond, Logger: testLogger(t)})
	runSupervisor(t, s)

	launched := time.Now()
	id := runInstance(t, api, subnet, spec)
	addrs := spec.addrs()
	if st := instanceState(t, api, id); st != ec2types.InstanceStateNamePending || listening(addrs[0]) {
		t.Fatalf("right after RunInstances: %s, listening %v; want pending, nothing listening", st, listening(addrs[0]))
	}
	eventually(t, "the stand-in listens", func() bool { return listening(addrs[0]) })
	if d := time.Since(launched); d < startDelay+startupDelay {
		t.Errorf("listening %v after RunInstances, before the instance ran (%v) plus the startup delay (%v)", d, startDelay, startupDelay)
	}
	t.Logf("listening %v after RunInstances (start delay %v + startup delay %v + polling)", time.Since(launched).Round(time.Millisecond), startDelay, startupDelay)
	if st := instanceState(t, api, id); st != ec2types.InstanceStateNameRunning {
		t.Errorf("stand-in listening while the instance is %s", st)
	}

	for _, addr := range addrs {
		status, body, err := get(t, "http://"+addr+"/some/path?q=1")
		if err != nil || status != 200 || !strings.Contains(body, "served by "+id) || !strings.Contains(body, "path: /some/path?q=1") {
			t.Errorf("GET %s: %d %q %v; want 200 served by %s", addr, status, body, err, id)
		}
	}
	if w, ok := s.Running()[id]; !ok || w.State != AppListening {
		t.Errorf("Running()[%s] = %+v, %v; want listening", id, w, ok)
	}

	stopCalled := time.Now()
	if _, err := api.StopInstances(t.Context(), &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	eventually(t, "the stand-in stops answering", func() bool { return !listening(addrs[0]) && !listening(addrs[1]) })
	t.Logf("closed %v after StopInstances (stop delay %v)", time.Since(stopCalled).Round(time.Millisecond), stopDelay)
	var stopped *Event
	for _, e := range s.Events() {
		if e.InstanceID == id && e.Kind == EventStopped {
			stopped = &e
		}
	}
	if stopped == nil || stopped.Reason != string(ec2types.InstanceStateNameStopping) || stopped.Time.Sub(stopCalled) >= stopDelay {
		t.Errorf("stopped event %+v, want one while the instance is stopping (within %v of StopInstances)", stopped, stopDelay)
	}
	waitState(t, api, id, ec2types.InstanceStateNameStopped)
	if listening(addrs[0]) || len(s.Running()) != 0 {
		t.Errorf("stopped instance: listening %v, Running %v", listening(addrs[0]), s.Running())
	}

	t.Log("started again")
	if _, err := api.StartInstances(t.Context(), &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatalf("StartInstances: %v", err)
	}
	eventually(t, "the stand-in listens again", func() bool { return listening(addrs[0]) })
	if _, body, err := get(t, "http://"+addrs[0]+"/"); err != nil || !strings.Contains(body, "served by "+id) {
		t.Errorf("after the restart: %q %v", body, err)
	}
	if k := kinds(s.Events(), id); len(k) != 5 || k[3] != EventStarting || k[4] != EventListening {
		t.Errorf("events %v, want starting, listening, stopped, starting, listening", k)
	}
	for _, e := range s.Events() {
		t.Log(e)
	}
}

// TestStandInHealthFail: with health "fail", the health path answers 500
// (every path when no health path is given).
func TestStandInHealthFail(t *testing.T) {
	api, subnet := kumoEC2(t, 100*time.Millisecond, 100*time.Millisecond)
	onePath := testSpec(t, 1)
	onePath.Health, onePath.HealthPath = HealthFail, "/healthz"
	everyPath := testSpec(t, 1)
	everyPath.Health = HealthFail
	healthy := testSpec(t, 1)

	s := NewSupervisor(api, Config{PollInterval: 50 * time.Millisecond, Logger: testLogger(t)})
	runSupervisor(t, s)
	ids := map[string]string{}
	for name, spec := range map[string]Spec{"one": onePath, "every": everyPath, "ok": healthy} {
		ids[name] = runInstance(t, api, subnet, spec)
	}
	eventually(t, "three stand-ins listen", func() bool {
		return listening(onePath.addrs()[0]) && listening(everyPath.addrs()[0]) && listening(healthy.addrs()[0])
	})

	tests := []struct {
		spec   Spec
		id     string
		path   string
		status int
	}{
		{onePath, ids["one"], "/healthz", 500},
		{onePath, ids["one"], "/healthz?full=1", 500},
		{onePath, ids["one"], "/", 200},
		{everyPath, ids["every"], "/", 500},
		{everyPath, ids["every"], "/healthz", 500},
		{healthy, ids["ok"], "/healthz", 200},
	}
	for _, tt := range tests {
		status, body, err := get(t, "http://"+tt.spec.addrs()[0]+tt.path)
		if err != nil || status != tt.status || !strings.Contains(body, "served by "+tt.id) {
			t.Errorf("GET %s on %s: %d %q %v; want %d", tt.path, tt.id, status, body, err, tt.status)
		}
	}
}

// TestSupervisorShutdownClosesEverything: when Run's context ends, every
// stand-in stops, whether listening or within its startup delay.
func TestSupervisorShutdownClosesEverything(t *testing.T) {
	api, subnet := kumoEC2(t, 100*time.Millisecond, 100*time.Millisecond)
	a, b, slow := testSpec(t, 1), testSpec(t, 2), testSpec(t, 1)
	slow.StartupDelay = time.Hour

	s := NewSupervisor(api, Config{PollInterval: 50 * time.Millisecond, Logger: testLogger(t)})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(cancel)

	slowID := runInstance(t, api, subnet, slow)
	runInstance(t, api, subnet, a)
	runInstance(t, api, subnet, b)
	all := append(append(a.addrs(), b.addrs()...), slow.addrs()...)
	eventually(t, "the stand-ins run", func() bool {
		return listening(a.addrs()[0]) && listening(b.addrs()[0]) && listening(b.addrs()[1]) && s.Running()[slowID].State == AppStarting
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return 3 s after its context ended")
	}
	for _, addr := range all {
		if listening(addr) {
			t.Errorf("%s still listens after Run returned", addr)
		}
	}
	if r := s.Running(); len(r) != 0 {
		t.Errorf("Running after Run returned: %v", r)
	}
	var shut int
	for _, e := range s.Events() {
		if e.Kind == EventStopped && e.Reason == ReasonShutdown {
			shut++
		}
	}
	if shut != 3 {
		t.Errorf("%d stand-ins stopped at shutdown, want 3", shut)
	}
}
