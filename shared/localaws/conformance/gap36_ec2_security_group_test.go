package conformance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 36: EC2 security groups as AWS keeps them. Always: DeleteSecurityGroup
// of a group an ALB uses fails with DependencyViolation ("resource sg-… has
// a dependent object") and succeeds once the ALB is deleted; without
// realistic timing a new group can be used by ID at once and the group is
// free the moment its ALB is deleted.
func TestGap36EC2SecurityGroupInUse(t *testing.T) {
	b := localawstest.Start(t)
	env := gap36Start(t, b)
	ctx := t.Context()

	used := env.createGroup(t, "gap36-used")
	free := env.createGroup(t, "gap36-free")

	// Realistic timing off: a new group is there at once, by ID.
	for name, call := range env.byID(used) {
		if err := call(ctx); err != nil {
			t.Errorf("%s right after CreateSecurityGroup: %v, want success (realistic timing off)", name, err)
		}
	}

	lb := env.createLoadBalancer(t, "gap36-alb", used)

	err := env.deleteGroup(ctx, used)
	if errorCode(err) != "DependencyViolation" || !strings.Contains(err.Error(), "resource "+used+" has a dependent object") {
		t.Errorf("DeleteSecurityGroup of the ALB's group: got %v, want DependencyViolation (resource %s has a dependent object)", err, used)
	}
	if err := env.deleteGroup(ctx, free); err != nil {
		t.Errorf("DeleteSecurityGroup of a group no ALB uses: %v", err)
	}
	if _, err := env.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{used}}); err != nil {
		t.Errorf("the ALB's group after the refused delete: %v, want it still there", err)
	}

	env.deleteLoadBalancer(t, lb)
	if err := env.deleteGroup(ctx, used); err != nil {
		t.Errorf("DeleteSecurityGroup right after DeleteLoadBalancer: %v, want success (realistic timing off)", err)
	}
	if _, err := env.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{used}}); errorCode(err) != "InvalidGroup.NotFound" {
		t.Errorf("DescribeSecurityGroups of the deleted group: %v, want InvalidGroup.NotFound", err)
	}
}

// Gap 36 with realistic timing (KUMO_REALISTIC_TIMING=1, default delays): a
// new security group is InvalidGroup.NotFound by ID (DescribeSecurityGroups,
// AuthorizeSecurityGroupIngress / Egress, CreateTags) for about 1 s after
// CreateSecurityGroup, as AWS's eventual consistency has it; and
// DeleteSecurityGroup stays DependencyViolation for about 3 s after the ALB
// using the group is deleted (its network interfaces linger on AWS).
func TestGap36EC2SecurityGroupRealisticTiming(t *testing.T) {
	b := localawstest.StartWith(t, localaws.Options{RealisticTiming: true})
	env := gap36Start(t, b)
	ctx := t.Context()

	created := time.Now()
	id := env.createGroup(t, "gap36-fresh")

	t.Run("new group not found for a moment", func(t *testing.T) {
		for name, call := range env.byID(id) {
			if err := call(ctx); errorCode(err) != "InvalidGroup.NotFound" {
				t.Errorf("%s right after CreateSecurityGroup: got %v, want InvalidGroup.NotFound", name, err)
			}
		}
		retryUntilClears(t, "DescribeSecurityGroups by GroupId after CreateSecurityGroup", "InvalidGroup.NotFound", func() error {
			_, err := env.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
			return err
		})
		if took := time.Since(created); took < 500*time.Millisecond || took > 5*time.Second {
			t.Errorf("the group was found %v after CreateSecurityGroup, want about 1 s", took)
		}
		for name, call := range env.byID(id) {
			if err := call(ctx); err != nil {
				t.Errorf("%s once the group is found: %v", name, err)
			}
		}
	})

	t.Run("in use for a while after the ALB is deleted", func(t *testing.T) {
		lb := env.createLoadBalancer(t, "gap36-slow", id)
		if err := env.deleteGroup(ctx, id); errorCode(err) != "DependencyViolation" {
			t.Errorf("DeleteSecurityGroup while the ALB uses the group: got %v, want DependencyViolation", err)
		}

		deleted := time.Now()
		env.deleteLoadBalancer(t, lb)
		retryUntilClears(t, "DeleteSecurityGroup after DeleteLoadBalancer", "DependencyViolation", func() error {
			return env.deleteGroup(ctx, id)
		})
		if took := time.Since(deleted); took < 2*time.Second || took > 8*time.Second {
			t.Errorf("DeleteSecurityGroup succeeded %v after DeleteLoadBalancer, want about 3 s", took)
		}
	})
}

type gap36Env struct {
	ec2 *ec2.Client
	elb *elb.Client
	vpc string
}

func gap36Start(t *testing.T, b *localaws.Backend) *gap36Env {
	t.Helper()
	cfg, err := b.AWSConfig(t.Context())
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	env := &gap36Env{ec2: ec2.NewFromConfig(cfg), elb: elb.NewFromConfig(cfg)}
	vpc, err := env.ec2.CreateVpc(t.Context(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.36.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	env.vpc = aws.ToString(vpc.Vpc.VpcId)

	return env
}

func (e *gap36Env) createGroup(t *testing.T, name string) string {
	t.Helper()
	out, err := e.ec2.CreateSecurityGroup(t.Context(), &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String("gap 36"), VpcId: aws.String(e.vpc),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}},
		}},
	})
	if err != nil {
		t.Fatalf("CreateSecurityGroup %s: %v", name, err)
	}
	if aws.ToString(out.GroupId) == "" {
		t.Fatalf("CreateSecurityGroup %s: no GroupId", name)
	}

	return aws.ToString(out.GroupId)
}

// byID are the calls that name the security group id by ID.
func (e *gap36Env) byID(id string) map[string]func(ctx context.Context) error {
	rule := func(port int32, cidr string) []ec2types.IpPermission {
		return []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}},
		}}
	}

	return map[string]func(ctx context.Context) error{
		"DescribeSecurityGroups GroupIds": func(ctx context.Context) error {
			out, err := e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
			if err == nil && (len(out.SecurityGroups) != 1 || aws.ToString(out.SecurityGroups[0].GroupId) != id) {
				return errors.New("DescribeSecurityGroups answered without the group")
			}
			return err
		},
		"AuthorizeSecurityGroupIngress": func(ctx context.Context) error {
			_, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: rule(80, "0.0.0.0/0")})
			if errorCode(err) == "InvalidPermission.Duplicate" {
				return nil
			}
			return err
		},
		"AuthorizeSecurityGroupEgress": func(ctx context.Context) error {
			_, err := e.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(id), IpPermissions: rule(443, "10.0.0.0/8")})
			if errorCode(err) == "InvalidPermission.Duplicate" {
				return nil
			}
			return err
		},
		"CreateTags": func(ctx context.Context) error {
			_, err := e.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("gap36")}}})
			return err
		},
	}
}

func (e *gap36Env) deleteGroup(ctx context.Context, id string) error {
	_, err := e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	return err
}

func (e *gap36Env) createLoadBalancer(t *testing.T, name, group string) string {
	t.Helper()
	out, err := e.elb.CreateLoadBalancer(t.Context(), &elb.CreateLoadBalancerInput{
		Name: aws.String(name), Type: elbtypes.LoadBalancerTypeEnumApplication,
		Subnets: []string{"subnet-0a", "subnet-0b"}, SecurityGroups: []string{group},
	})
	if err != nil || len(out.LoadBalancers) != 1 {
		t.Fatalf("CreateLoadBalancer %s: %+v, %v", name, out, err)
	}

	return aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
}

func (e *gap36Env) deleteLoadBalancer(t *testing.T, arn string) {
	t.Helper()
	if _, err := e.elb.DeleteLoadBalancer(t.Context(), &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)}); err != nil {
		t.Fatalf("DeleteLoadBalancer: %v", err)
	}
}
