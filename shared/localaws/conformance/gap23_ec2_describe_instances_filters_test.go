package conformance

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 23: DescribeInstances applies its Filters: an instance is returned
// when every filter has a value matching one of the instance's (values may
// use the * and ? wildcards), and a reservation only with the instances
// that match.
func TestGap23EC2DescribeInstancesFilters(t *testing.T) {
	ctx := t.Context()
	// No transition delays: each instance is "running" (or "stopped",
	// "terminated") from the request after the call.
	b := localawstest.StartWith(t, localaws.Options{EC2StartDelay: -1, EC2StopDelay: -1})
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := ec2.NewFromConfig(cfg)

	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.30.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	subnet, err := client.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: aws.String(vpcID), CidrBlock: aws.String("10.30.1.0/24"), AvailabilityZone: aws.String("us-east-1a"),
	})
	if err != nil {
		t.Fatalf("CreateSubnet: %v", err)
	}
	subnetID := aws.ToString(subnet.Subnet.SubnetId)

	run := func(count int32, subnetID string, tags ...ec2types.Tag) []string {
		t.Helper()
		in := &ec2.RunInstancesInput{
			ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: ec2types.InstanceTypeT3Micro,
			MinCount: aws.Int32(count), MaxCount: aws.Int32(count),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeInstance, Tags: tags}},
		}
		if subnetID != "" {
			in.SubnetId = aws.String(subnetID)
		}
		out, err := client.RunInstances(ctx, in)
		if err != nil {
			t.Fatalf("RunInstances: %v", err)
		}
		var ids []string
		for _, inst := range out.Instances {
			ids = append(ids, aws.ToString(inst.InstanceId))
		}
		return ids
	}
	tag := func(k, v string) ec2types.Tag { return ec2types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	web := run(2, subnetID, tag("Name", "web"), tag("autostop:schedule", "office-hours"))
	batch := run(1, "", tag("Name", "batch"))
	web0, web1, batch0 := web[0], web[1], batch[0]

	if err := ec2.NewInstanceRunningWaiter(client, func(o *ec2.InstanceRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	}).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{web0, web1, batch0}}, 10*time.Second); err != nil {
		t.Fatalf("InstanceRunningWaiter: %v", err)
	}
	if _, err := client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{web1}}); err != nil {
		t.Fatalf("StopInstances: %v", err)
	}
	if err := ec2.NewInstanceStoppedWaiter(client, func(o *ec2.InstanceStoppedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	}).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{web1}}, 10*time.Second); err != nil {
		t.Fatalf("InstanceStoppedWaiter: %v", err)
	}

	filter := func(name string, values ...string) ec2types.Filter {
		return ec2types.Filter{Name: aws.String(name), Values: values}
	}
	cases := []struct {
		name    string
		filters []ec2types.Filter
		want    []string
	}{
		{"instance-id", []ec2types.Filter{filter("instance-id", web1, "i-0123456789abcdef0")}, []string{web1}},
		{"tag:Name", []ec2types.Filter{filter("tag:Name", "batch")}, []string{batch0}},
		{"tag:Name with a wildcard", []ec2types.Filter{filter("tag:Name", "w*")}, []string{web0, web1}},
		{"tag-key", []ec2types.Filter{filter("tag-key", "autostop:schedule")}, []string{web0, web1}},
		{"instance-state-name", []ec2types.Filter{filter("instance-state-name", "running")}, []string{web0, batch0}},
		{"instance-state-name, two values", []ec2types.Filter{filter("instance-state-name", "stopped", "stopping")}, []string{web1}},
		{"vpc-id", []ec2types.Filter{filter("vpc-id", vpcID)}, []string{web0, web1}},
		{"subnet-id", []ec2types.Filter{filter("subnet-id", subnetID)}, []string{web0, web1}},
		{"every filter", []ec2types.Filter{filter("tag:Name", "web"), filter("instance-state-name", "running")}, []string{web0}},
		{"no instance", []ec2types.Filter{filter("tag:Name", "web"), filter("instance-state-name", "terminated")}, nil},
	}
	for _, tc := range cases {
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: tc.filters})
		if err != nil {
			t.Errorf("DescribeInstances(%s): %v", tc.name, err)
			continue
		}
		var got []string
		for _, res := range out.Reservations {
			if len(res.Instances) == 0 {
				t.Errorf("DescribeInstances(%s): reservation %s without instances", tc.name, aws.ToString(res.ReservationId))
			}
			for _, inst := range res.Instances {
				got = append(got, aws.ToString(inst.InstanceId))
			}
		}
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("DescribeInstances(%s) = %q, want %q", tc.name, got, want)
		}
	}

	t.Log("filters with InstanceIds")
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		InstanceIds: []string{web0, web1}, Filters: []ec2types.Filter{filter("instance-state-name", "stopped")},
	})
	if err != nil {
		t.Fatalf("DescribeInstances(InstanceIds, Filters): %v", err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 || aws.ToString(out.Reservations[0].Instances[0].InstanceId) != web1 {
		t.Errorf("DescribeInstances(InstanceIds %s %s, stopped) = %d reservations, want the reservation with %s only", web0, web1, len(out.Reservations), web1)
	}
}
