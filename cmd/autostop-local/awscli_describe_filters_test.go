package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// TestAWSCLIDescribeFilters checks, with the AWS CLI (a client this project
// did not write), that the local backend applies EC2 Filters (gap 29):
// describe-subnets and describe-security-groups with a vpc-id filter
// return that VPC's subnets and groups only.
func TestAWSCLIDescribeFilters(t *testing.T) {
	cli := awsCLI(t)
	ctx := t.Context()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := ec2.NewFromConfig(cfg)

	// Two VPCs, each with two subnets and a security group.
	subnets := map[string][]string{}
	groups := map[string][]string{}
	var vpcs []string
	for i, cidr := range []string{"10.51", "10.52"} {
		vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr + ".0.0/16")})
		if err != nil {
			t.Fatalf("CreateVpc: %v", err)
		}
		vpcID := aws.ToString(vpc.Vpc.VpcId)
		vpcs = append(vpcs, vpcID)
		for j, zone := range []string{"us-east-1a", "us-east-1b"} {
			sn, err := client.CreateSubnet(ctx, &ec2.CreateSubnetInput{
				VpcId: aws.String(vpcID), CidrBlock: aws.String(fmt.Sprintf("%s.%d.0/24", cidr, j+1)), AvailabilityZone: aws.String(zone),
			})
			if err != nil {
				t.Fatalf("CreateSubnet: %v", err)
			}
			subnets[vpcID] = append(subnets[vpcID], aws.ToString(sn.Subnet.SubnetId))
		}
		sg, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			VpcId: aws.String(vpcID), GroupName: aws.String(fmt.Sprintf("cli-filters-%d", i)), Description: aws.String("cli filters"),
			TagSpecifications: []ec2types.TagSpecification{{
				ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{{Key: aws.String("autostop:test"), Value: aws.String("cli")}},
			}},
		})
		if err != nil {
			t.Fatalf("CreateSecurityGroup: %v", err)
		}
		groups[vpcID] = append(groups[vpcID], aws.ToString(sg.GroupId))
	}

	run := func(args ...string) []byte {
		t.Helper()
		// Debian's AWS CLI v2 ignores AWS_ENDPOINT_URL: pass --endpoint-url.
		c := exec.Command(cli, append([]string{"--endpoint-url", b.Endpoint(), "--output", "json"}, args...)...)
		c.Env = append(append(os.Environ(), b.Env()...), "AWS_PAGER=")
		var stderr strings.Builder
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return out
	}
	ids := func(out []byte, list, field string) []string {
		t.Helper()
		var resp map[string][]map[string]any
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("parse %s: %v\n%s", list, err, out)
		}
		var got []string
		for _, item := range resp[list] {
			id, _ := item[field].(string)
			got = append(got, id)
		}
		slices.Sort(got)
		return got
	}
	sorted := func(s []string) []string {
		s = slices.Clone(s)
		slices.Sort(s)
		return s
	}

	for _, vpcID := range vpcs {
		got := ids(run("ec2", "describe-subnets", "--filters", "Name=vpc-id,Values="+vpcID), "Subnets", "SubnetId")
		if want := sorted(subnets[vpcID]); !slices.Equal(got, want) {
			t.Errorf("aws ec2 describe-subnets --filters Name=vpc-id,Values=%s = %q, want %q", vpcID, got, want)
		}
		got = ids(run("ec2", "describe-security-groups", "--filters", "Name=vpc-id,Values="+vpcID), "SecurityGroups", "GroupId")
		if want := sorted(groups[vpcID]); !slices.Equal(got, want) {
			t.Errorf("aws ec2 describe-security-groups --filters Name=vpc-id,Values=%s = %q, want %q", vpcID, got, want)
		}
	}

	// Two filters: both must match.
	got := ids(run("ec2", "describe-security-groups", "--filters", "Name=vpc-id,Values="+vpcs[1], "Name=tag:autostop:test,Values=cl?"),
		"SecurityGroups", "GroupId")
	if want := sorted(groups[vpcs[1]]); !slices.Equal(got, want) {
		t.Errorf("aws ec2 describe-security-groups (vpc-id %s, tag) = %q, want %q", vpcs[1], got, want)
	}
}
