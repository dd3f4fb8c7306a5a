package validate

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// checkNetwork checks the VPC, the subnets (or picks them) and the security
// groups.
func (v *validation) checkNetwork(ctx context.Context) error {
	if err := v.checkVPC(ctx); err != nil {
		return err
	}
	if len(v.s.SubnetIDs) == 0 {
		if err := v.defaultSubnets(ctx); err != nil {
			return err
		}
	} else if err := v.checkSubnets(ctx); err != nil {
		return err
	}

	return v.checkSecurityGroups(ctx)
}

func (v *validation) checkVPC(ctx context.Context) error {
	_, err := v.c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{v.s.VPCID}}, v.ec2Region)
	switch {
	case steperr.HasCode(err, "InvalidVpcID.NotFound", "InvalidVpcID.Malformed"):
		v.invalidf("vpcId", "VPC %s does not exist in %s", v.s.VPCID, v.s.Region)
		v.vpcMissing = true
	case err != nil:
		return fmt.Errorf("describe VPC %s: %w", v.s.VPCID, err)
	}

	return nil
}

// checkSubnets checks the given subnets: they exist, are in the VPC, in at
// least two availability zones, one per zone (an ALB takes one subnet per
// zone).
func (v *validation) checkSubnets(ctx context.Context) error {
	subnets, missing, err := describeEach(ctx, v.s.SubnetIDs, "InvalidSubnetID.NotFound",
		func(ctx context.Context, ids []string) ([]ec2types.Subnet, error) {
			out, err := v.c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: ids}, v.ec2Region)
			if err != nil {
				return nil, err
			}
			return out.Subnets, nil
		})
	if err != nil {
		return fmt.Errorf("describe subnets %s: %w", strings.Join(v.s.SubnetIDs, ", "), err)
	}

	index := map[string]int{}
	for i, id := range v.s.SubnetIDs {
		index[id] = i
	}
	for _, id := range missing {
		v.invalidf(fmt.Sprintf("subnetIds[%d]", index[id]), "subnet %s does not exist in %s", id, v.s.Region)
	}

	byZone := map[string][]string{}
	for _, sn := range subnets {
		id, vpc := aws.ToString(sn.SubnetId), aws.ToString(sn.VpcId)
		if !v.vpcMissing && vpc != v.s.VPCID {
			v.invalidf(fmt.Sprintf("subnetIds[%d]", index[id]), "subnet %s is in VPC %s, not in vpcId %s", id, vpc, v.s.VPCID)
		}
		zone := aws.ToString(sn.AvailabilityZone)
		byZone[zone] = append(byZone[zone], id)
	}
	zones := make([]string, 0, len(byZone))
	for z, ids := range byZone {
		zones = append(zones, z)
		if len(ids) > 1 {
			sort.Strings(ids)
			v.invalidf("subnetIds", "subnets %s are all in availability zone %s: an ALB takes one subnet per zone", strings.Join(ids, ", "), z)
		}
	}
	sort.Strings(zones)
	if len(missing) == 0 && len(zones) < spec.MinSubnets {
		v.invalidf("subnetIds", "the subnets are in %d availability zone(s) (%s): an ALB needs subnets in at least %d",
			len(zones), strings.Join(zones, ", "), spec.MinSubnets)
	}

	return nil
}

// defaultSubnets picks one subnet of the VPC per availability zone: the
// default subnet of the zone if there is one, else for an internet-facing
// ALB a subnet that gives public addresses (for an internal one, one that
// does not), else the lowest ID. The result is sorted by ID, so the same
// VPC always gives the same subnets.
func (v *validation) defaultSubnets(ctx context.Context) error {
	if v.vpcMissing {
		return nil
	}

	var all []ec2types.Subnet
	in := &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{v.s.VPCID}}}}
	for {
		out, err := v.c.EC2.DescribeSubnets(ctx, in, v.ec2Region)
		if err != nil {
			return fmt.Errorf("describe subnets of VPC %s: %w", v.s.VPCID, err)
		}
		all = append(all, out.Subnets...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}

	wantPublic := v.s.Scheme != spec.SchemeInternal
	rank := func(sn ec2types.Subnet) int {
		switch {
		case aws.ToBool(sn.DefaultForAz):
			return 0
		case aws.ToBool(sn.MapPublicIpOnLaunch) == wantPublic:
			return 1
		}
		return 2
	}
	best := map[string]ec2types.Subnet{}
	for _, sn := range all {
		if aws.ToString(sn.VpcId) != v.s.VPCID || (sn.State != "" && sn.State != ec2types.SubnetStateAvailable) {
			continue
		}
		zone := aws.ToString(sn.AvailabilityZone)
		cur, ok := best[zone]
		if !ok || rank(sn) < rank(cur) || (rank(sn) == rank(cur) && aws.ToString(sn.SubnetId) < aws.ToString(cur.SubnetId)) {
			best[zone] = sn
		}
	}

	var ids []string
	for _, sn := range best {
		ids = append(ids, aws.ToString(sn.SubnetId))
	}
	sort.Strings(ids)
	if len(ids) < spec.MinSubnets {
		v.invalidf("subnetIds", "not given, and VPC %s has subnets in %d availability zone(s): an ALB needs subnets in at least %d",
			v.s.VPCID, len(ids), spec.MinSubnets)
		return nil
	}
	v.s.SubnetIDs = ids

	return nil
}

// checkSecurityGroups checks that the given security groups exist and are
// in the VPC. None given: the ensure step creates one.
func (v *validation) checkSecurityGroups(ctx context.Context) error {
	if len(v.s.SecurityGroupIDs) == 0 {
		return nil
	}

	groups, missing, err := describeEach(ctx, v.s.SecurityGroupIDs, "InvalidGroup.NotFound",
		func(ctx context.Context, ids []string) ([]ec2types.SecurityGroup, error) {
			out, err := v.c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids}, v.ec2Region)
			if err != nil {
				return nil, err
			}
			return out.SecurityGroups, nil
		})
	if err != nil {
		return fmt.Errorf("describe security groups %s: %w", strings.Join(v.s.SecurityGroupIDs, ", "), err)
	}

	index := map[string]int{}
	for i, id := range v.s.SecurityGroupIDs {
		index[id] = i
	}
	for _, id := range missing {
		v.invalidf(fmt.Sprintf("securityGroupIds[%d]", index[id]), "security group %s does not exist in %s", id, v.s.Region)
	}
	for _, g := range groups {
		id, vpc := aws.ToString(g.GroupId), aws.ToString(g.VpcId)
		if !v.vpcMissing && vpc != v.s.VPCID {
			v.invalidf(fmt.Sprintf("securityGroupIds[%d]", index[id]), "security group %s is in VPC %s, not in vpcId %s", id, vpc, v.s.VPCID)
		}
	}

	return nil
}

// describeEach describes ids in one call; when that fails with notFound (the
// call names no result then), it describes them one by one to tell which
// are missing.
func describeEach[T any](ctx context.Context, ids []string, notFound string, describe func(context.Context, []string) ([]T, error)) (found []T, missing []string, err error) {
	found, err = describe(ctx, ids)
	if err == nil || !steperr.HasCode(err, notFound) {
		return found, nil, err
	}

	found = nil
	for _, id := range ids {
		one, err := describe(ctx, []string{id})
		switch {
		case steperr.HasCode(err, notFound):
			missing = append(missing, id)
		case err != nil:
			return nil, nil, err
		default:
			found = append(found, one...)
		}
	}

	return found, missing, nil
}
