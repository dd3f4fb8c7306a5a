package conformance

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 19: EC2 instances pass through the transitional states as on AWS:
// RunInstances and StartInstances answer "pending" (0), "running" (16)
// follows; StopInstances answers "stopping" (64), "stopped" (80) follows;
// TerminateInstances "shutting-down", then "terminated". StopInstances of a
// pending instance and StartInstances of a stopping one fail with
// IncorrectInstanceState (HTTP 400); starting a running instance and
// stopping a stopped one change nothing. DescribeInstances and
// DescribeInstanceStatus report the state of the moment, the SDK's waiters
// work, RunInstances TagSpecifications are kept.
func TestGap19EC2InstanceLifecycle(t *testing.T) {
	ctx := t.Context()
	const startDelay, stopDelay = 2 * time.Second, time.Second
	b := localawstest.StartWith(t, localaws.Options{EC2StartDelay: startDelay, EC2StopDelay: stopDelay})
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := ec2.NewFromConfig(cfg)

	launchedAt := time.Now()
	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeInstance,
			Tags:         []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("gap19")}},
		}},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	id := aws.ToString(run.Instances[0].InstanceId)
	if s := run.Instances[0].State; s.Name != ec2types.InstanceStateNamePending || aws.ToInt32(s.Code) != 0 {
		t.Fatalf("RunInstances returned the instance %s (%d), want pending (0)", s.Name, aws.ToInt32(s.Code))
	}

	inst := gap19Describe(ctx, t, client, id)
	if inst.State.Name != ec2types.InstanceStateNamePending {
		t.Fatalf("DescribeInstances right after RunInstances: %s, want pending", inst.State.Name)
	}
	if len(inst.Tags) != 1 || aws.ToString(inst.Tags[0].Key) != "Name" || aws.ToString(inst.Tags[0].Value) != "gap19" {
		t.Errorf("instance tags = %v, want the RunInstances TagSpecifications (Name=gap19)", gap19Tags(inst.Tags))
	}

	t.Log("pending: StopInstances fails, StartInstances changes nothing")
	_, err = client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	gap19WantIncorrectState(t, err, "StopInstances of a pending instance")
	gap19WantChange(t, "StartInstances of a pending instance", func() ([]ec2types.InstanceStateChange, error) {
		out, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return nil, err
		}
		return out.StartingInstances, nil
	}, ec2types.InstanceStateNamePending, ec2types.InstanceStateNamePending)

	t.Log("pending → running, through the SDK's waiter")
	if err := ec2.NewInstanceRunningWaiter(client, gap19FastWaiter).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, 30*time.Second); err != nil {
		t.Fatalf("InstanceRunningWaiter: %v", err)
	}
	if waited := time.Since(launchedAt); waited < startDelay-200*time.Millisecond {
		t.Errorf("running %v after RunInstances, want about the start delay %v", waited, startDelay)
	}
	inst = gap19Describe(ctx, t, client, id)
	if inst.State.Name != ec2types.InstanceStateNameRunning || aws.ToInt32(inst.State.Code) != 16 || aws.ToString(inst.StateTransitionReason) != "" {
		t.Errorf("running instance: %s (%d), reason %q; want running (16), no reason", inst.State.Name, aws.ToInt32(inst.State.Code), aws.ToString(inst.StateTransitionReason))
	}
	status, err := client.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}})
	if err != nil || len(status.InstanceStatuses) != 1 || status.InstanceStatuses[0].InstanceState.Name != ec2types.InstanceStateNameRunning {
		t.Errorf("DescribeInstanceStatus of the running instance = %+v, %v; want it running", status, err)
	}
	gap19WantChange(t, "StartInstances of a running instance", func() ([]ec2types.InstanceStateChange, error) {
		out, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return nil, err
		}
		return out.StartingInstances, nil
	}, ec2types.InstanceStateNameRunning, ec2types.InstanceStateNameRunning)

	t.Log("running → stopping → stopped")
	stop := func() ([]ec2types.InstanceStateChange, error) {
		out, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return nil, err
		}
		return out.StoppingInstances, nil
	}
	gap19WantChange(t, "StopInstances of a running instance", stop, ec2types.InstanceStateNameRunning, ec2types.InstanceStateNameStopping)
	inst = gap19Describe(ctx, t, client, id)
	if inst.State.Name != ec2types.InstanceStateNameStopping || aws.ToInt32(inst.State.Code) != 64 ||
		!strings.HasPrefix(aws.ToString(inst.StateTransitionReason), "User initiated (") {
		t.Errorf("stopping instance: %s (%d), reason %q; want stopping (64), User initiated (…)", inst.State.Name, aws.ToInt32(inst.State.Code), aws.ToString(inst.StateTransitionReason))
	}
	_, err = client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	gap19WantIncorrectState(t, err, "StartInstances of a stopping instance")
	gap19WantChange(t, "StopInstances of a stopping instance", stop, ec2types.InstanceStateNameStopping, ec2types.InstanceStateNameStopping)

	if err := ec2.NewInstanceStoppedWaiter(client, func(o *ec2.InstanceStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	}).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, 30*time.Second); err != nil {
		t.Fatalf("InstanceStoppedWaiter: %v", err)
	}
	inst = gap19Describe(ctx, t, client, id)
	if aws.ToInt32(inst.State.Code) != 80 || !strings.HasSuffix(aws.ToString(inst.StateTransitionReason), " GMT)") {
		t.Errorf("stopped instance: %s (%d), reason %q; want stopped (80), User initiated (… GMT)", inst.State.Name, aws.ToInt32(inst.State.Code), aws.ToString(inst.StateTransitionReason))
	}
	status, err = client.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}})
	if err != nil || len(status.InstanceStatuses) != 0 {
		t.Errorf("DescribeInstanceStatus of a stopped instance = %+v, %v; want none (running instances only)", status, err)
	}
	status, err = client.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}, IncludeAllInstances: aws.Bool(true)})
	if err != nil || len(status.InstanceStatuses) != 1 || status.InstanceStatuses[0].InstanceState.Name != ec2types.InstanceStateNameStopped {
		t.Errorf("DescribeInstanceStatus(IncludeAllInstances) = %+v, %v; want the stopped instance", status, err)
	}
	gap19WantChange(t, "StopInstances of a stopped instance", stop, ec2types.InstanceStateNameStopped, ec2types.InstanceStateNameStopped)

	t.Log("stopped → pending, then terminated")
	gap19WantChange(t, "StartInstances of a stopped instance", func() ([]ec2types.InstanceStateChange, error) {
		out, err := client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return nil, err
		}
		return out.StartingInstances, nil
	}, ec2types.InstanceStateNameStopped, ec2types.InstanceStateNamePending)
	gap19WantChange(t, "TerminateInstances of a pending instance", func() ([]ec2types.InstanceStateChange, error) {
		out, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return nil, err
		}
		return out.TerminatingInstances, nil
	}, ec2types.InstanceStateNamePending, ec2types.InstanceStateNameShuttingDown)
	if err := ec2.NewInstanceTerminatedWaiter(client, func(o *ec2.InstanceTerminatedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	}).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}, 30*time.Second); err != nil {
		t.Fatalf("InstanceTerminatedWaiter: %v", err)
	}
	_, err = client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}})
	gap19WantIncorrectState(t, err, "StartInstances of a terminated instance")
	_, err = client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
	gap19WantIncorrectState(t, err, "StopInstances of a terminated instance")
}

func gap19FastWaiter(o *ec2.InstanceRunningWaiterOptions) {
	o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
}

func gap19Describe(ctx context.Context, t *testing.T, client *ec2.Client, id string) ec2types.Instance {
	t.Helper()
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatalf("DescribeInstances(%s): %v", id, err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("DescribeInstances(%s) = %d reservations, want the instance", id, len(out.Reservations))
	}
	return out.Reservations[0].Instances[0]
}

// gap19WantChange checks a state-changing call's PreviousState and
// CurrentState.
func gap19WantChange(t *testing.T, what string, call func() ([]ec2types.InstanceStateChange, error), previous, current ec2types.InstanceStateName) {
	t.Helper()
	changes, err := call()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(changes) != 1 || changes[0].PreviousState.Name != previous || changes[0].CurrentState.Name != current {
		var got []string
		for _, c := range changes {
			got = append(got, string(c.PreviousState.Name)+" → "+string(c.CurrentState.Name))
		}
		t.Fatalf("%s: %q, want %s → %s", what, got, previous, current)
	}
}

func gap19WantIncorrectState(t *testing.T, err error, what string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "IncorrectInstanceState" {
		t.Fatalf("%s: error = %v, want IncorrectInstanceState", what, err)
	}
	var respErr *awshttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusBadRequest {
		t.Errorf("%s: HTTP status of %v, want 400", what, err)
	}
}

func gap19Tags(tags []ec2types.Tag) []string {
	var out []string
	for _, tag := range tags {
		out = append(out, aws.ToString(tag.Key)+"="+aws.ToString(tag.Value))
	}
	return out
}
