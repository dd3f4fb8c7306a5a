package loadbalancer

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/pause"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// Ports the default security group opens to the world.
var defaultPorts = []int32{80, 443}

// Anywhere, per address family.
const (
	anyIPv4 = "0.0.0.0/0"
	anyIPv6 = "::/0"
)

// Error codes of the EC2 API this file handles.
const (
	codeGroupDuplicate      = "InvalidGroup.Duplicate"
	codePermissionDuplicate = "InvalidPermission.Duplicate"
	codeGroupNotFound       = "InvalidGroup.NotFound"
	codeDependency          = "DependencyViolation"
)

// newGroupDelays space the retries of a call on a security group this
// execution has just created that fails with InvalidGroup.NotFound: EC2 is
// eventually consistent, and a new group may not be found by ID for a
// moment after CreateSecurityGroup. About 13.5 s in all (a variable so tests
// can shorten it).
var newGroupDelays = []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 6 * time.Second}

// defaultGroup is the outcome of ensuring the default security group.
type defaultGroup struct {
	ID       string
	Resource step.Resource
}

// findGroups lists the security groups named name that match filters. The
// name (and vpc, when given) are checked again on the results: a backend
// that ignores filters must not make another group look like ours.
func findGroups(ctx context.Context, e EC2, name, vpc string, filters ...ec2types.Filter) ([]ec2types.SecurityGroup, error) {
	filters = append([]ec2types.Filter{{Name: aws.String("group-name"), Values: []string{name}}}, filters...)
	if vpc != "" {
		filters = append(filters, ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{vpc}})
	}

	var out []ec2types.SecurityGroup
	pages := ec2.NewDescribeSecurityGroupsPaginator(e, &ec2.DescribeSecurityGroupsInput{Filters: filters})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe security groups named %s: %w", name, err)
		}
		for _, g := range page.SecurityGroups {
			if aws.ToString(g.GroupName) == name && (vpc == "" || aws.ToString(g.VpcId) == vpc) {
				out = append(out, g)
			}
		}
	}

	return out, nil
}

func groupTags(g ec2types.SecurityGroup) map[string]string {
	return tagMap(g.Tags, func(t ec2types.Tag) (*string, *string) { return t.Key, t.Value })
}

// ensureDefaultGroup finds the security group autostop-<name> in the spec's
// VPC and makes sure it allows HTTP and HTTPS from anywhere (and from any
// IPv6 address for dualstack). With create, a missing group is created with
// the ownership tags in the create call; without, a missing group yields a
// zero defaultGroup. A group of that name that autostop does not own is a
// Conflict: autostop never changes what it did not create.
func ensureDefaultGroup(ctx context.Context, e EC2, s spec.LoadBalancerSpec, execution string, create bool) (defaultGroup, error) {
	name := DefaultSecurityGroupName(s.Name)

	groups, err := findGroups(ctx, e, name, s.VPCID)
	if err != nil {
		return defaultGroup{}, err
	}
	if len(groups) == 0 {
		if !create {
			return defaultGroup{}, nil
		}

		return createDefaultGroup(ctx, e, s, execution)
	}

	return reconcileGroup(ctx, e, s, execution, groups[0])
}

// reconcileGroup checks ownership of an existing default group and adds the
// ingress rules it lacks.
func reconcileGroup(ctx context.Context, e EC2, s spec.LoadBalancerSpec, execution string, g ec2types.SecurityGroup) (defaultGroup, error) {
	id := aws.ToString(g.GroupId)
	tags := groupTags(g)
	if !ownership.OwnedByLoadBalancer(tags, s.Name) {
		return defaultGroup{}, steperr.Conflicting("security group %s (%s) in %s exists and is not autostop's: name security groups in the spec, or remove it",
			DefaultSecurityGroupName(s.Name), id, s.VPCID)
	}

	action := step.Adopted
	if ownership.CreatedBy(tags, s.Name, execution) {
		action = step.Created
	}

	missing := missingIngress(g.IpPermissions, s.IPAddressType == spec.DualStack)
	if len(missing) > 0 {
		if err := authorize(ctx, e, id, missing); err != nil {
			return defaultGroup{}, err
		}
		if action == step.Adopted {
			action = step.Updated
		}
	}

	return defaultGroup{ID: id, Resource: step.Resource{Kind: KindSecurityGroup, ID: id, Action: action}}, nil
}

func createDefaultGroup(ctx context.Context, e EC2, s spec.LoadBalancerSpec, execution string) (defaultGroup, error) {
	name := DefaultSecurityGroupName(s.Name)
	tags := ownership.Tags(s.Name, execution, s.Tags)
	if _, ok := tags["Name"]; !ok {
		tags["Name"] = name
	}

	out, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String(name),
		Description: aws.String(fmt.Sprintf("autostop load balancer %s: HTTP and HTTPS from anywhere", s.Name)),
		VpcId:       aws.String(s.VPCID),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags:         ec2Tags(tags),
		}},
	})
	if steperr.ErrorCode(err) == codeGroupDuplicate {
		// Another execution created it since we looked: use it if it is ours.
		groups, ferr := findGroups(ctx, e, name, s.VPCID)
		if ferr != nil {
			return defaultGroup{}, ferr
		}
		if len(groups) == 0 {
			return defaultGroup{}, fmt.Errorf("create security group %s in %s: %w", name, s.VPCID, err)
		}

		return reconcileGroup(ctx, e, s, execution, groups[0])
	}
	if err != nil {
		return defaultGroup{}, fmt.Errorf("create security group %s in %s: %w", name, s.VPCID, err)
	}

	id := aws.ToString(out.GroupId)
	if err := authorizeNew(ctx, e, id, missingIngress(nil, s.IPAddressType == spec.DualStack)); err != nil {
		return defaultGroup{}, err
	}

	return defaultGroup{ID: id, Resource: step.Resource{Kind: KindSecurityGroup, ID: id, Action: step.Created}}, nil
}

func authorize(ctx context.Context, e EC2, id string, perms []ec2types.IpPermission) error {
	_, err := e.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perms})
	if err != nil && steperr.ErrorCode(err) != codePermissionDuplicate {
		return fmt.Errorf("allow HTTP and HTTPS into security group %s: %w", id, err)
	}

	return nil
}

// authorizeNew is authorize on a group this execution has just created:
// InvalidGroup.NotFound means EC2 does not know the group yet (eventual
// consistency), so it is retried within newGroupDelays.
func authorizeNew(ctx context.Context, e EC2, id string, perms []ec2types.IpPermission) error {
	for i := 0; ; i++ {
		err := authorize(ctx, e, id, perms)
		if err == nil || steperr.ErrorCode(err) != codeGroupNotFound {
			return err
		}
		if i == len(newGroupDelays) {
			return fmt.Errorf("%w (the group was created moments ago; still not found after %d attempts)", err, i+1)
		}
		if serr := pause.For(ctx, newGroupDelays[i]); serr != nil {
			return fmt.Errorf("%w (gave up waiting for the new group: %w)", err, serr)
		}
	}
}

// missingIngress returns the ingress rules the default group needs that
// perms do not already grant: TCP 80 and 443 from 0.0.0.0/0, and from ::/0
// when ipv6.
func missingIngress(perms []ec2types.IpPermission, ipv6 bool) []ec2types.IpPermission {
	var out []ec2types.IpPermission
	for _, port := range defaultPorts {
		p := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
		desc := aws.String(fmt.Sprintf("autostop: TCP %d from anywhere", port))
		if !granted(perms, port, anyIPv4, false) {
			p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(anyIPv4), Description: desc}}
		}
		if ipv6 && !granted(perms, port, anyIPv6, true) {
			p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(anyIPv6), Description: desc}}
		}
		if len(p.IpRanges)+len(p.Ipv6Ranges) > 0 {
			out = append(out, p)
		}
	}

	return out
}

// granted reports whether perms let TCP port in from cidr.
func granted(perms []ec2types.IpPermission, port int32, cidr string, ipv6 bool) bool {
	for _, p := range perms {
		proto := aws.ToString(p.IpProtocol)
		all := proto == "-1"
		tcp := (proto == "tcp" || proto == "6") && aws.ToInt32(p.FromPort) <= port && port <= aws.ToInt32(p.ToPort)
		if !all && !tcp {
			continue
		}
		if ipv6 {
			for _, r := range p.Ipv6Ranges {
				if aws.ToString(r.CidrIpv6) == cidr {
					return true
				}
			}

			continue
		}
		for _, r := range p.IpRanges {
			if aws.ToString(r.CidrIp) == cidr {
				return true
			}
		}
	}

	return false
}

func ec2Tags(tags map[string]string) []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(tags))
	for _, k := range ownership.Keys(tags) {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}

	return out
}
