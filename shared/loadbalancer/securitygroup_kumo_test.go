package loadbalancer

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
)

// TestEnsureKumoNewGroupEventuallyConsistent: with realistic timing (kumo
// patch 0029) a new security group is InvalidGroup.NotFound by ID for about
// a second after CreateSecurityGroup, as on AWS; Ensure waits for it and
// authorizes its rules, then creates the ALB. Its rollback deletes the group
// once the deleted ALB has let go of it (DependencyViolation for about 3 s).
func TestEnsureKumoNewGroupEventuallyConsistent(t *testing.T) {
	ctx := context.Background()
	b := localawstest.StartWith(t, localaws.Options{RealisticTiming: true})
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClients(cfg, b.Region())
	api := ec2.NewFromConfig(cfg)

	// The network, made here: localenv.Seed authorizes its own new groups
	// at once, which realistic timing refuses.
	vpc, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	var subnets []string
	for i, az := range []string{"a", "b"} {
		out, err := api.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(vpcID), CidrBlock: aws.String([]string{"10.1.1.0/24", "10.1.2.0/24"}[i]), AvailabilityZone: aws.String(b.Region() + az),
		})
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, aws.ToString(out.Subnet.SubnetId))
	}
	s := spec.LoadBalancerSpec{
		Name: "fresh", Region: b.Region(), Scheme: spec.SchemeInternetFacing, IPAddressType: spec.IPv4,
		VPCID: vpcID, SubnetIDs: subnets, Domain: "autostop.example.test", DNS: spec.DNSSpec{Provider: spec.ProviderOther},
	}

	start := time.Now()
	res, err := Ensure(ctx, c, step.Input{Spec: s, Execution: "exec-1"})
	if err != nil {
		t.Fatalf("Ensure right after the group's creation: %v", err)
	}
	took := time.Since(start)
	t.Logf("Ensure took %v", took)
	if want := []string{"security-group:created", "load-balancer:created"}; !slices.Equal(actions(res.Resources), want) {
		t.Fatalf("resources %v, want %v", actions(res.Resources), want)
	}
	if took < 500*time.Millisecond {
		t.Errorf("Ensure took %v: the new group was found at once, want about 1 s of InvalidGroup.NotFound (is kumo patch 0029 applied?)", took)
	}
	sgID := res.Resources[0].ID
	out, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sgID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, port := range []int32{80, 443} {
		if !granted(out.SecurityGroups[0].IpPermissions, port, anyIPv4, false) {
			t.Errorf("TCP %d from %s not allowed: %+v", port, anyIPv4, out.SecurityGroups[0].IpPermissions)
		}
	}

	// The rollback: the group is DependencyViolation for a while after the
	// ALB is deleted; calling again (as the state machine does) gets it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, left, err := DeleteCreatedBy(ctx, c, "fresh", "exec-1")
		if err == nil && len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollback: left %v: %v", left, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if _, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sgID}}); err == nil {
		t.Errorf("security group %s still there after the rollback", sgID)
	}
}
