package conformance

import (
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 29: DescribeVpcs, DescribeSubnets and DescribeSecurityGroups apply
// their Filters: every filter must match (AND), any of a filter's values
// may (OR), values may use the * and ? wildcards; a filter name the action
// does not know fails with InvalidParameterValue.
func TestGap29EC2DescribeFilters(t *testing.T) {
	ctx := t.Context()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := ec2.NewFromConfig(cfg)

	tags := func(rt ec2types.ResourceType, kv ...string) []ec2types.TagSpecification {
		spec := ec2types.TagSpecification{ResourceType: rt}
		for i := 0; i+1 < len(kv); i += 2 {
			spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return []ec2types.TagSpecification{spec}
	}
	vpc := func(cidr, name, env string) string {
		t.Helper()
		out, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{
			CidrBlock: aws.String(cidr), TagSpecifications: tags(ec2types.ResourceTypeVpc, "Name", name, "env", env),
		})
		if err != nil {
			t.Fatalf("CreateVpc(%s): %v", cidr, err)
		}
		return aws.ToString(out.Vpc.VpcId)
	}
	subnet := func(vpcID, cidr, zone, name string) string {
		t.Helper()
		out, err := client.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(zone),
			TagSpecifications: tags(ec2types.ResourceTypeSubnet, "Name", name),
		})
		if err != nil {
			t.Fatalf("CreateSubnet(%s): %v", cidr, err)
		}
		return aws.ToString(out.Subnet.SubnetId)
	}
	group := func(vpcID, name, env string) string {
		t.Helper()
		out, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			VpcId: aws.String(vpcID), GroupName: aws.String(name), Description: aws.String(name + " servers"),
			TagSpecifications: tags(ec2types.ResourceTypeSecurityGroup, "env", env),
		})
		if err != nil {
			t.Fatalf("CreateSecurityGroup(%s): %v", name, err)
		}
		return aws.ToString(out.GroupId)
	}

	vpcA := vpc("10.41.0.0/16", "gap29-a", "prod")
	vpcB := vpc("10.42.0.0/16", "gap29-b", "test")
	subA1 := subnet(vpcA, "10.41.1.0/24", "us-east-1a", "a-private")
	subA2 := subnet(vpcA, "10.41.2.0/24", "us-east-1b", "a-public")
	subB1 := subnet(vpcB, "10.42.1.0/24", "us-east-1a", "b-private")
	subB2 := subnet(vpcB, "10.42.2.0/24", "us-east-1b", "b-public")
	sgA := group(vpcA, "gap29-web", "prod")
	sgB := group(vpcB, "gap29-batch", "test")

	filter := func(name string, values ...string) ec2types.Filter {
		return ec2types.Filter{Name: aws.String(name), Values: values}
	}
	type filterCase struct {
		name    string
		filters []ec2types.Filter
		want    []string
	}
	check := func(action string, cases []filterCase, describe func([]ec2types.Filter) ([]string, error)) {
		t.Helper()
		for _, tc := range cases {
			got, err := describe(tc.filters)
			if err != nil {
				t.Errorf("%s(%s): %v", action, tc.name, err)
				continue
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s(%s) = %q, want %q", action, tc.name, got, want)
			}
		}
		_, err := describe([]ec2types.Filter{filter("vpc-id", vpcA), filter("no-such-filter", "x")})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterValue" ||
			apiErr.ErrorMessage() != "The filter 'no-such-filter' is invalid" {
			t.Errorf("%s(unknown filter name) error = %v, want InvalidParameterValue: The filter 'no-such-filter' is invalid", action, err)
		}
	}

	check("DescribeVpcs", []filterCase{
		{"vpc-id", []ec2types.Filter{filter("vpc-id", vpcB)}, []string{vpcB}},
		{"tag:Name", []ec2types.Filter{filter("tag:Name", "gap29-a")}, []string{vpcA}},
		{"tag:Name with a wildcard", []ec2types.Filter{filter("tag:Name", "gap29-?")}, []string{vpcA, vpcB}},
		{"cidr with a wildcard", []ec2types.Filter{filter("cidr", "10.42.*")}, []string{vpcB}},
		{"vpc-id, two values", []ec2types.Filter{filter("vpc-id", vpcA, "vpc-0123456789abcdef0")}, []string{vpcA}},
		{"tag-key and tag:env", []ec2types.Filter{filter("tag-key", "Name"), filter("tag:env", "test")}, []string{vpcB}},
		{"no VPC", []ec2types.Filter{filter("vpc-id", vpcA), filter("tag:env", "test")}, nil},
	}, func(filters []ec2types.Filter) ([]string, error) {
		out, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: filters})
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, v := range out.Vpcs {
			ids = append(ids, aws.ToString(v.VpcId))
		}
		return ids, nil
	})

	check("DescribeSubnets", []filterCase{
		{"vpc-id", []ec2types.Filter{filter("vpc-id", vpcA)}, []string{subA1, subA2}},
		{"tag:Name", []ec2types.Filter{filter("tag:Name", "b-private")}, []string{subB1}},
		{"tag:Name with a wildcard", []ec2types.Filter{filter("tag:Name", "*-public")}, []string{subA2, subB2}},
		{"cidr-block with a wildcard", []ec2types.Filter{filter("cidr-block", "10.41.*")}, []string{subA1, subA2}},
		{"vpc-id, two values", []ec2types.Filter{filter("vpc-id", vpcA, vpcB)}, []string{subA1, subA2, subB1, subB2}},
		{"subnet-id, two values", []ec2types.Filter{filter("subnet-id", subA1, subB2)}, []string{subA1, subB2}},
		{"vpc-id and availability-zone", []ec2types.Filter{filter("vpc-id", vpcB), filter("availability-zone", "us-east-1a")}, []string{subB1}},
		{"no subnet", []ec2types.Filter{filter("vpc-id", vpcB), filter("tag:Name", "a-*")}, nil},
	}, func(filters []ec2types.Filter) ([]string, error) {
		out, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: filters})
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, s := range out.Subnets {
			ids = append(ids, aws.ToString(s.SubnetId))
		}
		return ids, nil
	})

	check("DescribeSecurityGroups", []filterCase{
		{"vpc-id", []ec2types.Filter{filter("vpc-id", vpcB)}, []string{sgB}},
		{"tag:env", []ec2types.Filter{filter("tag:env", "prod")}, []string{sgA}},
		{"group-name with a wildcard", []ec2types.Filter{filter("group-name", "gap29-*")}, []string{sgA, sgB}},
		{"description with a wildcard", []ec2types.Filter{filter("description", "*batch*")}, []string{sgB}},
		{"group-id, two values", []ec2types.Filter{filter("group-id", sgA, sgB)}, []string{sgA, sgB}},
		{"vpc-id and tag:env", []ec2types.Filter{filter("vpc-id", vpcA, vpcB), filter("tag:env", "test")}, []string{sgB}},
		{"no group", []ec2types.Filter{filter("vpc-id", vpcA), filter("group-name", "gap29-batch")}, nil},
	}, func(filters []ec2types.Filter) ([]string, error) {
		out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters})
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, g := range out.SecurityGroups {
			ids = append(ids, aws.ToString(g.GroupId))
		}
		return ids, nil
	})

	t.Log("filters with IDs")
	out, err := client.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		SubnetIds: []string{subA1, subA2, subB1}, Filters: []ec2types.Filter{filter("availability-zone", "us-east-1a")},
	})
	if err != nil {
		t.Fatalf("DescribeSubnets(SubnetIds, Filters): %v", err)
	}
	var got []string
	for _, s := range out.Subnets {
		got = append(got, aws.ToString(s.SubnetId))
	}
	slices.Sort(got)
	want := []string{subA1, subB1}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("DescribeSubnets(SubnetIds %s %s %s, us-east-1a) = %q, want %q", subA1, subA2, subB1, got, want)
	}
}
