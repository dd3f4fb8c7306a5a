// Package localenv seeds a local AWS backend with a realistic customer
// environment for the workflow to run against: a VPC with subnets in two
// availability zones, a second VPC to test mismatches, security groups, a
// public hosted zone and imported ACM certificates (one that covers the
// wildcard domain, one that does not, one expired).
//
// Everything is created through the AWS SDK, as a customer's own tooling
// would, so it works against any endpoint.
package localenv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/pause"
)

// Names used by the seeded environment.
const (
	ZoneName = "example.test"
	// Domain is the AutoStopping domain inside the zone: rules are
	// <name>.autostop.example.test.
	Domain = "autostop." + ZoneName
)

// Environment holds the IDs of what Seed created, for samples, tests and the
// `make up` banner.
type Environment struct {
	Region string `json:"region"`

	VPCID     string   `json:"vpcId"`              // the customer's VPC, 10.10.0.0/16
	SubnetIDs []string `json:"subnetIds"`          // one per availability zone, two zones
	SubnetAZs []string `json:"subnetAzs"`          // the zones of SubnetIDs
	WebSGID   string   `json:"webSecurityGroupId"` // allows 80/443 from anywhere

	OtherVPCID    string `json:"otherVpcId"`    // a second VPC, to test mismatches
	OtherSubnetID string `json:"otherSubnetId"` // a subnet of the other VPC
	OtherSGID     string `json:"otherSecurityGroupId"`

	HostedZoneID string `json:"hostedZoneId"` // public zone example.test
	ZoneName     string `json:"zoneName"`
	Domain       string `json:"domain"`

	CertificateARN        string `json:"certificateArn"`        // *.autostop.example.test + autostop.example.test, valid
	OtherCertificateARN   string `json:"otherCertificateArn"`   // *.other.example.test: does not cover Domain
	ExpiredCertificateARN string `json:"expiredCertificateArn"` // *.autostop.example.test, expired
}

// Seed creates the environment. cfg reaches the backend.
func Seed(ctx context.Context, cfg aws.Config) (*Environment, error) {
	env := &Environment{Region: cfg.Region, ZoneName: ZoneName, Domain: Domain}
	azs := []string{cfg.Region + "a", cfg.Region + "b"}

	e := ec2.NewFromConfig(cfg)

	var err error
	if env.VPCID, err = createVPC(ctx, e, "10.10.0.0/16", "autostop-demo"); err != nil {
		return nil, err
	}
	for i, az := range azs {
		id, err := createSubnet(ctx, e, env.VPCID, fmt.Sprintf("10.10.%d.0/24", i+1), az)
		if err != nil {
			return nil, err
		}
		env.SubnetIDs = append(env.SubnetIDs, id)
		env.SubnetAZs = append(env.SubnetAZs, az)
	}
	if env.WebSGID, err = createWebSG(ctx, e, env.VPCID, "autostop-demo-web"); err != nil {
		return nil, err
	}

	if env.OtherVPCID, err = createVPC(ctx, e, "10.20.0.0/16", "other"); err != nil {
		return nil, err
	}
	if env.OtherSubnetID, err = createSubnet(ctx, e, env.OtherVPCID, "10.20.1.0/24", azs[0]); err != nil {
		return nil, err
	}
	if env.OtherSGID, err = createWebSG(ctx, e, env.OtherVPCID, "other-web"); err != nil {
		return nil, err
	}

	zone, err := route53.NewFromConfig(cfg).CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name:             aws.String(ZoneName),
		CallerReference:  aws.String(fmt.Sprintf("autostop-localenv-%d", time.Now().UnixNano())),
		HostedZoneConfig: &r53types.HostedZoneConfig{Comment: aws.String("autostop local environment"), PrivateZone: false},
	})
	if err != nil {
		return nil, fmt.Errorf("create hosted zone %s: %w", ZoneName, err)
	}
	env.HostedZoneID = aws.ToString(zone.HostedZone.Id)

	a := acm.NewFromConfig(cfg)
	now := time.Now()
	certs := []struct {
		arn        *string
		names      []string
		from, till time.Time
	}{
		{&env.CertificateARN, []string{"*." + Domain, Domain}, now.Add(-time.Hour), now.AddDate(1, 0, 0)},
		{&env.OtherCertificateARN, []string{"*.other." + ZoneName}, now.Add(-time.Hour), now.AddDate(1, 0, 0)},
		// ACM refuses to import a certificate that has already expired, as a
		// customer's expired certificate was imported while valid: this one
		// expires two seconds after it is imported.
		{&env.ExpiredCertificateARN, []string{"*." + Domain, Domain}, now.AddDate(-1, 0, 0), now.Add(2 * time.Second)},
	}
	for _, c := range certs {
		if *c.arn, err = importCert(ctx, a, c.names, c.from, c.till); err != nil {
			return nil, err
		}
	}

	return env, nil
}

func nameTag(kind ec2types.ResourceType, name string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: kind, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}}
}

func createVPC(ctx context.Context, e *ec2.Client, cidr, name string) (string, error) {
	out, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr), TagSpecifications: nameTag(ec2types.ResourceTypeVpc, name)})
	if err != nil {
		return "", fmt.Errorf("create VPC %s: %w", cidr, err)
	}

	return aws.ToString(out.Vpc.VpcId), nil
}

func createSubnet(ctx context.Context, e *ec2.Client, vpc, cidr, az string) (string, error) {
	out, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: aws.String(vpc), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az),
		TagSpecifications: nameTag(ec2types.ResourceTypeSubnet, "autostop-demo-"+az),
	})
	if err != nil {
		return "", fmt.Errorf("create subnet %s in %s: %w", cidr, vpc, err)
	}

	return aws.ToString(out.Subnet.SubnetId), nil
}

func createWebSG(ctx context.Context, e *ec2.Client, vpc, name string) (string, error) {
	out, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String("HTTP and HTTPS from anywhere"), VpcId: aws.String(vpc),
		TagSpecifications: nameTag(ec2types.ResourceTypeSecurityGroup, name),
	})
	if err != nil {
		return "", fmt.Errorf("create security group %s in %s: %w", name, vpc, err)
	}

	var perms []ec2types.IpPermission
	for _, port := range []int32{80, 443} {
		perms = append(perms, ec2types.IpPermission{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
		})
	}
	// A new group is not visible by ID at once (EC2 is eventually
	// consistent; so is the local backend with realistic timing): retry
	// InvalidGroup.NotFound for a few seconds, as any tool must.
	for attempt := 1; ; attempt++ {
		_, err := e.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.GroupId, IpPermissions: perms})
		if err == nil {
			return aws.ToString(out.GroupId), nil
		}
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidGroup.NotFound" || attempt == 20 {
			return "", fmt.Errorf("allow 80/443 into %s: %w", aws.ToString(out.GroupId), err)
		}
		if err := pause.For(ctx, 500*time.Millisecond); err != nil {
			return "", fmt.Errorf("allow 80/443 into %s: %w", aws.ToString(out.GroupId), err)
		}
	}
}

func importCert(ctx context.Context, a *acm.Client, names []string, from, till time.Time) (string, error) {
	pair, err := SelfSigned(names, from, till)
	if err != nil {
		return "", err
	}

	out, err := a.ImportCertificate(ctx, &acm.ImportCertificateInput{
		Certificate: pair.Certificate,
		PrivateKey:  pair.PrivateKey,
		Tags:        []acmtypes.Tag{{Key: aws.String("Name"), Value: aws.String(names[0])}},
	})
	if err != nil {
		return "", fmt.Errorf("import certificate for %v: %w", names, err)
	}

	return aws.ToString(out.CertificateArn), nil
}
