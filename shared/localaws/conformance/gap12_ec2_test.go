package conformance

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 12: DescribeAvailabilityZones returns the region's zones (names,
// zone IDs, state, region, zone type, opt-in status) and honours ZoneNames
// and Filters; subnets are placed in those zones.
func TestGap12EC2DescribeAvailabilityZones(t *testing.T) {
	ctx := context.Background()
	client := gap12Client(ctx, t)

	out, err := client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		t.Fatalf("DescribeAvailabilityZones: %v", err)
	}
	if len(out.AvailabilityZones) < 3 {
		t.Fatalf("DescribeAvailabilityZones returned %d zones, want the region's zones (at least 3)", len(out.AvailabilityZones))
	}
	nameRE := regexp.MustCompile(`^us-east-1[a-z]$`)
	idRE := regexp.MustCompile(`^use1-az[0-9]+$`)
	var names []string
	zoneIDs := map[string]string{}
	for _, z := range out.AvailabilityZones {
		name := aws.ToString(z.ZoneName)
		names = append(names, name)
		zoneIDs[name] = aws.ToString(z.ZoneId)
		if !nameRE.MatchString(name) || !idRE.MatchString(aws.ToString(z.ZoneId)) {
			t.Errorf("zone %s has ZoneId %q, want us-east-1<letter> with use1-az<N>", name, aws.ToString(z.ZoneId))
		}
		if z.State != ec2types.AvailabilityZoneStateAvailable || aws.ToString(z.RegionName) != "us-east-1" ||
			aws.ToString(z.ZoneType) != "availability-zone" || z.OptInStatus != ec2types.AvailabilityZoneOptInStatusOptInNotRequired {
			t.Errorf("zone %s: State=%q RegionName=%q ZoneType=%q OptInStatus=%q, want available us-east-1 availability-zone opt-in-not-required",
				name, z.State, aws.ToString(z.RegionName), aws.ToString(z.ZoneType), z.OptInStatus)
		}
	}
	if !slices.Contains(names, "us-east-1a") || !slices.Contains(names, "us-east-1b") {
		t.Errorf("zones = %q, want us-east-1a and us-east-1b among them", names)
	}

	selections := []struct {
		name string
		in   *ec2.DescribeAvailabilityZonesInput
		want []string
	}{
		{
			name: "ZoneNames",
			in:   &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1b"}},
			want: []string{"us-east-1b"},
		},
		{
			name: "zone-name filter",
			in: &ec2.DescribeAvailabilityZonesInput{Filters: []ec2types.Filter{
				{Name: aws.String("zone-name"), Values: []string{"us-east-1a", "us-east-1c"}},
			}},
			want: []string{"us-east-1a", "us-east-1c"},
		},
		{
			name: "state filter",
			in: &ec2.DescribeAvailabilityZonesInput{Filters: []ec2types.Filter{
				{Name: aws.String("state"), Values: []string{"available"}},
			}},
			want: names,
		},
	}
	for _, tc := range selections {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.DescribeAvailabilityZones(ctx, tc.in)
			if err != nil {
				t.Fatalf("DescribeAvailabilityZones: %v", err)
			}
			var got []string
			for _, z := range out.AvailabilityZones {
				got = append(got, aws.ToString(z.ZoneName))
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("zones = %q, want %q", got, want)
			}
		})
	}

	t.Run("unknown zone name rejected", func(t *testing.T) {
		_, err := client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"us-east-1z"}})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterValue" {
			t.Errorf("DescribeAvailabilityZones(us-east-1z) error = %v, want InvalidParameterValue", err)
		}
	})

	t.Run("subnet placed in a listed zone", func(t *testing.T) {
		vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.12.0.0/16")})
		if err != nil {
			t.Fatalf("CreateVpc: %v", err)
		}
		for _, az := range []string{"", names[1]} {
			in := &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.12.1.0/24")}
			if az != "" {
				in.AvailabilityZone = aws.String(az)
				in.CidrBlock = aws.String("10.12.2.0/24")
			}
			sub, err := client.CreateSubnet(ctx, in)
			if err != nil {
				t.Fatalf("CreateSubnet(AvailabilityZone %q): %v", az, err)
			}
			got := aws.ToString(sub.Subnet.AvailabilityZone)
			if !slices.Contains(names, got) || (az != "" && got != az) {
				t.Errorf("CreateSubnet(AvailabilityZone %q) placed the subnet in %q, want one of %q", az, got, names)
			}
			if id := aws.ToString(sub.Subnet.AvailabilityZoneId); id != zoneIDs[got] {
				t.Errorf("subnet in %s has AvailabilityZoneId %q, want %q as DescribeAvailabilityZones reports", got, id, zoneIDs[got])
			}
		}
	})
}

// Gap 12: DescribeSecurityGroups with a GroupId that does not exist fails
// with InvalidGroup.NotFound (HTTP 400) instead of returning an empty list.
func TestGap12EC2SecurityGroupNotFound(t *testing.T) {
	ctx := context.Background()
	client := gap12Client(ctx, t)

	vpc, err := client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.13.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	sg, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String("gap12"),
		Description: aws.String("gap12"),
		VpcId:       vpc.Vpc.VpcId,
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	existing := aws.ToString(sg.GroupId)
	const missing = "sg-0123456789abcdef0"

	out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{existing}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("DescribeSecurityGroups(%s) = %v, %v; want the group", existing, out, err)
	}

	for _, ids := range [][]string{{missing}, {existing, missing}} {
		out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
		if err == nil {
			t.Errorf("DescribeSecurityGroups(%q) returned %d groups, want InvalidGroup.NotFound", ids, len(out.SecurityGroups))
			continue
		}
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidGroup.NotFound" {
			t.Errorf("DescribeSecurityGroups(%q) error = %v, want InvalidGroup.NotFound", ids, err)
			continue
		}
		if want := "The security group '" + missing + "' does not exist"; apiErr.ErrorMessage() != want {
			t.Errorf("error message = %q, want %q", apiErr.ErrorMessage(), want)
		}
		var respErr *awshttp.ResponseError
		if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusBadRequest {
			t.Errorf("DescribeSecurityGroups(%q) HTTP status = %v, want 400", ids, err)
		}
	}
}

func gap12Client(ctx context.Context, t *testing.T) *ec2.Client {
	t.Helper()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatalf("AWS config: %v", err)
	}
	return ec2.NewFromConfig(cfg)
}
