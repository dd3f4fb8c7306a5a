package conformance

import (
	"errors"
	"net/http"
	"net/netip"
	"slices"
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

// Gap 22: RunInstances places an instance in the subnet it names (SubnetId,
// or the NetworkInterfaces' device 0): RunInstances and DescribeInstances
// return the subnet, its VPC, its availability zone (Placement), a private
// address inside the subnet's CIDR block that no other instance holds
// (AWS reserves the first four and the last), the private DNS name of that
// address (ip-10-30-1-4.ec2.internal in us-east-1) and the security groups
// of SecurityGroupIds. A subnet, security group or address that cannot be
// used fails the call: InvalidSubnetID.NotFound, InvalidGroup.NotFound,
// InvalidIPAddress.InUse, InvalidParameterValue.
func TestGap22EC2InstanceNetworkPlacement(t *testing.T) {
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
	sg, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("gap22-web"), Description: aws.String("gap22"), VpcId: aws.String(vpcID),
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	sgID := aws.ToString(sg.GroupId)
	cidr := netip.MustParsePrefix("10.30.1.0/24")
	want := gap22Placement{subnetID: subnetID, vpcID: vpcID, zone: "us-east-1a", cidr: cidr, groupID: sgID, groupName: "gap22-web"}

	t.Log("RunInstances with SubnetId and SecurityGroupIds")
	run, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(2), MaxCount: aws.Int32(2),
		SubnetId: aws.String(subnetID), SecurityGroupIds: []string{sgID},
	})
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if len(run.Instances) != 2 {
		t.Fatalf("RunInstances launched %d instances, want 2", len(run.Instances))
	}
	ids := []string{aws.ToString(run.Instances[0].InstanceId), aws.ToString(run.Instances[1].InstanceId)}
	addresses := map[string]string{}
	for _, inst := range run.Instances {
		want.check(t, "RunInstances", inst)
		addresses[aws.ToString(inst.PrivateIpAddress)] = aws.ToString(inst.InstanceId)
	}
	if len(addresses) != 2 {
		t.Errorf("the two instances share the address %v, want one address each", addresses)
	}

	described, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	seen := 0
	for _, res := range described.Reservations {
		for _, inst := range res.Instances {
			seen++
			want.check(t, "DescribeInstances", inst)
			if id := addresses[aws.ToString(inst.PrivateIpAddress)]; id != aws.ToString(inst.InstanceId) {
				t.Errorf("DescribeInstances: %s has the address %s, RunInstances gave it to %q",
					aws.ToString(inst.InstanceId), aws.ToString(inst.PrivateIpAddress), id)
			}
		}
	}
	if seen != 2 {
		t.Errorf("DescribeInstances returned %d instances, want 2", seen)
	}

	t.Log("RunInstances with NetworkInterfaces and a chosen address")
	run, err = client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		NetworkInterfaces: []ec2types.InstanceNetworkInterfaceSpecification{{
			DeviceIndex: aws.Int32(0), SubnetId: aws.String(subnetID), Groups: []string{sgID},
			PrivateIpAddress: aws.String("10.30.1.50"),
		}},
	})
	if err != nil {
		t.Fatalf("RunInstances with NetworkInterfaces: %v", err)
	}
	want.check(t, "RunInstances with NetworkInterfaces", run.Instances[0])
	if got := aws.ToString(run.Instances[0].PrivateIpAddress); got != "10.30.1.50" {
		t.Errorf("RunInstances with NetworkInterfaces: PrivateIpAddress %s, want the one asked for, 10.30.1.50", got)
	}

	t.Log("addresses, subnets and groups that cannot be used")
	failures := []struct {
		name string
		in   ec2.RunInstancesInput
		code string
	}{
		{"a subnet that does not exist", ec2.RunInstancesInput{SubnetId: aws.String("subnet-0123456789abcdef0")}, "InvalidSubnetID.NotFound"},
		{"a security group that does not exist", ec2.RunInstancesInput{SubnetId: aws.String(subnetID), SecurityGroupIds: []string{"sg-0123456789abcdef0"}}, "InvalidGroup.NotFound"},
		{"an address in use", ec2.RunInstancesInput{SubnetId: aws.String(subnetID), PrivateIpAddress: aws.String("10.30.1.50")}, "InvalidIPAddress.InUse"},
		{"an address outside the subnet", ec2.RunInstancesInput{SubnetId: aws.String(subnetID), PrivateIpAddress: aws.String("10.30.2.7")}, "InvalidParameterValue"},
		{"an address AWS reserves", ec2.RunInstancesInput{SubnetId: aws.String(subnetID), PrivateIpAddress: aws.String("10.30.1.1")}, "InvalidParameterValue"},
	}
	for _, f := range failures {
		in := f.in
		in.ImageId, in.InstanceType = aws.String("ami-0123456789abcdef0"), ec2types.InstanceTypeT3Micro
		in.MinCount, in.MaxCount = aws.Int32(1), aws.Int32(1)
		_, err := client.RunInstances(ctx, &in)
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != f.code {
			t.Errorf("RunInstances with %s: error = %v, want %s", f.name, err, f.code)
			continue
		}
		var respErr *awshttp.ResponseError
		if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusBadRequest {
			t.Errorf("RunInstances with %s: HTTP status of %v, want 400", f.name, err)
		}
	}
	all, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatalf("DescribeInstances: %v", err)
	}
	count := 0
	for _, res := range all.Reservations {
		count += len(res.Instances)
	}
	if count != 3 {
		t.Errorf("%d instances exist, want 3: a failed RunInstances launches nothing", count)
	}

	t.Log("a terminated instance's address is free again")
	if _, err := client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(run.Instances[0].InstanceId)}}); err != nil {
		t.Fatalf("TerminateInstances: %v", err)
	}
	if err := ec2.NewInstanceTerminatedWaiter(client, func(o *ec2.InstanceTerminatedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 200*time.Millisecond
	}).Wait(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{aws.ToString(run.Instances[0].InstanceId)}}, 10*time.Second); err != nil {
		t.Fatalf("InstanceTerminatedWaiter: %v", err)
	}
	if _, err := client.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String("ami-0123456789abcdef0"), InstanceType: ec2types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID), PrivateIpAddress: aws.String("10.30.1.50"),
	}); err != nil {
		t.Errorf("RunInstances with the address of a terminated instance: %v", err)
	}
}

// gap22Placement is where the test's instances must be.
type gap22Placement struct {
	subnetID, vpcID, zone string
	cidr                  netip.Prefix
	groupID, groupName    string
}

func (p gap22Placement) check(t *testing.T, call string, inst ec2types.Instance) {
	t.Helper()
	id := aws.ToString(inst.InstanceId)
	if got := aws.ToString(inst.SubnetId); got != p.subnetID {
		t.Errorf("%s: %s SubnetId = %q, want %s", call, id, got, p.subnetID)
	}
	if got := aws.ToString(inst.VpcId); got != p.vpcID {
		t.Errorf("%s: %s VpcId = %q, want %s", call, id, got, p.vpcID)
	}
	if inst.Placement == nil || aws.ToString(inst.Placement.AvailabilityZone) != p.zone {
		t.Errorf("%s: %s Placement = %+v, want AvailabilityZone %s", call, id, inst.Placement, p.zone)
	}
	ip := aws.ToString(inst.PrivateIpAddress)
	addr, err := netip.ParseAddr(ip)
	last := netip.MustParseAddr("10.30.1.255")
	if err != nil || !p.cidr.Contains(addr) || addr.Compare(p.cidr.Addr().Next().Next().Next()) <= 0 || addr == last {
		t.Errorf("%s: %s PrivateIpAddress = %q, want an address of %s other than the first four and the last", call, id, ip, p.cidr)
	}
	if want := "ip-" + strings.ReplaceAll(ip, ".", "-") + ".ec2.internal"; aws.ToString(inst.PrivateDnsName) != want {
		t.Errorf("%s: %s PrivateDnsName = %q, want %s", call, id, aws.ToString(inst.PrivateDnsName), want)
	}
	groups := make([]string, 0, len(inst.SecurityGroups))
	for _, g := range inst.SecurityGroups {
		groups = append(groups, aws.ToString(g.GroupId)+"/"+aws.ToString(g.GroupName))
	}
	if !slices.Equal(groups, []string{p.groupID + "/" + p.groupName}) {
		t.Errorf("%s: %s SecurityGroups = %q, want %s/%s", call, id, groups, p.groupID, p.groupName)
	}
}
