package validate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/ownership"
)

// now is the fake clock.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// world is a fake AWS account holding every resource the tests need. It
// implements the EC2, ELBv2, ACM and Route53 interfaces, records each call
// with the region it was made for, and fails an operation on request.
type world struct {
	mu sync.Mutex

	vpcs    []string
	subnets []ec2types.Subnet
	groups  []ec2types.SecurityGroup
	zones   map[string]r53types.HostedZone // by ID without prefix
	records map[string][]r53types.ResourceRecordSet
	certs   map[string]acmtypes.CertificateDetail
	lbs     []elbv2types.LoadBalancer
	tags    map[string]map[string]string // by ARN

	fail    map[string]error // operation → error
	calls   []string         // "Operation@region"
	perPage int              // ListResourceRecordSets page size (0: 300, as Route 53)
	// listGuard, when set, sees every ListResourceRecordSets call first;
	// an error it returns fails the call.
	listGuard func(in *route53.ListResourceRecordSetsInput) error
}

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code + " (fake)"}
}

const (
	certGood     = "arn:aws:acm:us-east-1:123456789012:certificate/good"
	certPending  = "arn:aws:acm:us-east-1:123456789012:certificate/pending"
	certOther    = "arn:aws:acm:us-east-1:123456789012:certificate/other"
	certParent   = "arn:aws:acm:us-east-1:123456789012:certificate/parent"
	certExpiring = "arn:aws:acm:us-east-1:123456789012:certificate/expiring"
	certEU       = "arn:aws:acm:eu-west-1:123456789012:certificate/eu"
	lbARNPrefix  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/"
	ourLB        = "autostop-demo"
)

func subnet(id, vpc, zone string, public bool) ec2types.Subnet {
	return ec2types.Subnet{SubnetId: aws.String(id), VpcId: aws.String(vpc), AvailabilityZone: aws.String(zone),
		MapPublicIpOnLaunch: aws.Bool(public), State: ec2types.SubnetStateAvailable}
}

func loadBalancer(name, vpc string, typ elbv2types.LoadBalancerTypeEnum, scheme elbv2types.LoadBalancerSchemeEnum, subnets ...string) elbv2types.LoadBalancer {
	lb := elbv2types.LoadBalancer{
		LoadBalancerArn: aws.String(lbARNPrefix + name + "/0123456789abcdef"), LoadBalancerName: aws.String(name),
		VpcId: aws.String(vpc), Type: typ, Scheme: scheme, IpAddressType: elbv2types.IpAddressTypeIpv4,
		State: &elbv2types.LoadBalancerState{Code: elbv2types.LoadBalancerStateEnumActive},
	}
	for _, s := range subnets {
		lb.AvailabilityZones = append(lb.AvailabilityZones, elbv2types.AvailabilityZone{SubnetId: aws.String(s)})
	}

	return lb
}

func rrset(name string, typ r53types.RRType, values ...string) r53types.ResourceRecordSet {
	rr := r53types.ResourceRecordSet{Name: aws.String(name), Type: typ, TTL: aws.Int64(300)}
	for _, v := range values {
		rr.ResourceRecords = append(rr.ResourceRecords, r53types.ResourceRecord{Value: aws.String(v)})
	}

	return rr
}

func cert(names []string, status acmtypes.CertificateStatus, notAfter time.Time) acmtypes.CertificateDetail {
	return acmtypes.CertificateDetail{DomainName: aws.String(names[0]), SubjectAlternativeNames: names, Status: status, NotAfter: aws.Time(notAfter)}
}

// newWorld: VPC vpc-a (subnets in two zones, plus a second subnet in zone
// a) and vpc-b; public zone Z1 example.com and private zone Z2; certificates;
// load balancers: foreign (not autostop's), autostop-demo-old (autostop's),
// adopt-me (to adopt), an NLB.
func newWorld() *world {
	year := now.AddDate(1, 0, 0)
	w := &world{
		vpcs: []string{"vpc-a", "vpc-b"},
		subnets: []ec2types.Subnet{
			subnet("subnet-a2", "vpc-a", "us-east-1b", false),
			subnet("subnet-a1", "vpc-a", "us-east-1a", false),
			subnet("subnet-a3", "vpc-a", "us-east-1a", true),
			subnet("subnet-b1", "vpc-b", "us-east-1a", false),
			subnet("subnet-b2", "vpc-b", "us-east-1b", false),
		},
		groups: []ec2types.SecurityGroup{
			{GroupId: aws.String("sg-a"), VpcId: aws.String("vpc-a")},
			{GroupId: aws.String("sg-a2"), VpcId: aws.String("vpc-a")},
			{GroupId: aws.String("sg-b"), VpcId: aws.String("vpc-b")},
		},
		zones: map[string]r53types.HostedZone{
			"Z1": {Id: aws.String("/hostedzone/Z1"), Name: aws.String("example.com."), Config: &r53types.HostedZoneConfig{PrivateZone: false}},
			"Z2": {Id: aws.String("/hostedzone/Z2"), Name: aws.String("corp.example."), Config: &r53types.HostedZoneConfig{PrivateZone: true}},
		},
		records: map[string][]r53types.ResourceRecordSet{
			"Z1": {
				rrset("example.com.", r53types.RRTypeNs, "ns-1.awsdns-1.com."),
				rrset("example.com.", r53types.RRTypeSoa, "ns-1.awsdns-1.com. hostmaster 1 7200 900 1209600 86400"),
				rrset(`\052.taken.example.com.`, r53types.RRTypeA, "192.0.2.1"),
				rrset(`\052.cname.example.com.`, r53types.RRTypeCname, "elsewhere.example.net"),
				rrset(`\052.mine.example.com.`, r53types.RRTypeA, "192.0.2.2"),
				rrset(`\052.mine.example.com.`, r53types.RRTypeTxt, ownership.TXTValue(ourLB, "exec-0")),
				rrset(`\052.theirs.example.com.`, r53types.RRTypeAaaa, "2001:db8::1"),
				rrset(`\052.theirs.example.com.`, r53types.RRTypeTxt, ownership.TXTValue("other-lb", "exec-9")),
				rrset(`\052.txtonly.example.com.`, r53types.RRTypeTxt, `"v=spf1 -all"`),
				rrset("delegated.example.com.", r53types.RRTypeNs, "ns1.elsewhere.net."),
				rrset("www.autostop.example.com.", r53types.RRTypeA, "192.0.2.3"),
			},
		},
		certs: map[string]acmtypes.CertificateDetail{
			certGood:     cert([]string{"*.autostop.example.com", "autostop.example.com"}, acmtypes.CertificateStatusIssued, year),
			certPending:  cert([]string{"*.autostop.example.com"}, acmtypes.CertificateStatusPendingValidation, year),
			certOther:    cert([]string{"*.other.example.com"}, acmtypes.CertificateStatusIssued, year),
			certParent:   cert([]string{"*.example.com", "example.com"}, acmtypes.CertificateStatusIssued, year),
			certExpiring: cert([]string{"*.autostop.example.com"}, acmtypes.CertificateStatusIssued, now.AddDate(0, 0, 29)),
			certEU:       cert([]string{"*.autostop.example.com"}, acmtypes.CertificateStatusIssued, year),
		},
		lbs: []elbv2types.LoadBalancer{
			loadBalancer("foreign", "vpc-a", elbv2types.LoadBalancerTypeEnumApplication, elbv2types.LoadBalancerSchemeEnumInternetFacing, "subnet-a1", "subnet-a2"),
			loadBalancer("autostop-demo-old", "vpc-a", elbv2types.LoadBalancerTypeEnumApplication, elbv2types.LoadBalancerSchemeEnumInternetFacing, "subnet-a1", "subnet-a2"),
			loadBalancer("other-vpc-old", "vpc-random", elbv2types.LoadBalancerTypeEnumApplication, elbv2types.LoadBalancerSchemeEnumInternetFacing, "subnet-b1", "subnet-b2"),
			loadBalancer("adopt-me", "vpc-random", elbv2types.LoadBalancerTypeEnumApplication, elbv2types.LoadBalancerSchemeEnumInternal, "subnet-a2", "subnet-a1"),
			loadBalancer("nlb", "vpc-a", elbv2types.LoadBalancerTypeEnumNetwork, elbv2types.LoadBalancerSchemeEnumInternetFacing, "subnet-a1", "subnet-a2"),
		},
		tags: map[string]map[string]string{
			lbARNPrefix + "foreign/0123456789abcdef":           {"Name": "foreign"},
			lbARNPrefix + "autostop-demo-old/0123456789abcdef": ownership.Tags("autostop-demo-old", "exec-0", nil),
			lbARNPrefix + "other-vpc-old/0123456789abcdef":     ownership.Tags("other-vpc-old", "exec-0", nil),
		},
		fail: map[string]error{},
	}
	// adopt-me is dualstack with a security group.
	w.lbs[3].IpAddressType = elbv2types.IpAddressTypeDualstack
	w.lbs[3].SecurityGroups = []string{"sg-a"}

	return w
}

func (w *world) call(op, region string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, op+"@"+region)

	return w.fail[op]
}

func (w *world) DescribeVpcs(_ context.Context, in *ec2.DescribeVpcsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	if err := w.call("DescribeVpcs", ec2Region(opts)); err != nil {
		return nil, err
	}
	out := &ec2.DescribeVpcsOutput{}
	for _, id := range in.VpcIds {
		if !slices.Contains(w.vpcs, id) {
			return nil, apiErr("InvalidVpcID.NotFound")
		}
		out.Vpcs = append(out.Vpcs, ec2types.Vpc{VpcId: aws.String(id)})
	}

	return out, nil
}

func (w *world) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	if err := w.call("DescribeSubnets", ec2Region(opts)); err != nil {
		return nil, err
	}
	out := &ec2.DescribeSubnetsOutput{}
	if len(in.SubnetIds) > 0 {
		for _, id := range in.SubnetIds {
			i := slices.IndexFunc(w.subnets, func(s ec2types.Subnet) bool { return aws.ToString(s.SubnetId) == id })
			if i < 0 {
				return nil, apiErr("InvalidSubnetID.NotFound")
			}
			out.Subnets = append(out.Subnets, w.subnets[i])
		}
		return out, nil
	}
	for _, s := range w.subnets {
		keep := true
		for _, f := range in.Filters {
			if aws.ToString(f.Name) == "vpc-id" && !slices.Contains(f.Values, aws.ToString(s.VpcId)) {
				keep = false
			}
		}
		if keep {
			out.Subnets = append(out.Subnets, s)
		}
	}

	return out, nil
}

func (w *world) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if err := w.call("DescribeSecurityGroups", ec2Region(opts)); err != nil {
		return nil, err
	}
	out := &ec2.DescribeSecurityGroupsOutput{}
	for _, id := range in.GroupIds {
		i := slices.IndexFunc(w.groups, func(g ec2types.SecurityGroup) bool { return aws.ToString(g.GroupId) == id })
		if i < 0 {
			return nil, apiErr("InvalidGroup.NotFound")
		}
		out.SecurityGroups = append(out.SecurityGroups, w.groups[i])
	}

	return out, nil
}

func (w *world) DescribeLoadBalancers(_ context.Context, in *elbv2.DescribeLoadBalancersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error) {
	o := elbv2.Options{}
	for _, f := range opts {
		f(&o)
	}
	if err := w.call("DescribeLoadBalancers", o.Region); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeLoadBalancersOutput{}
	for _, lb := range w.lbs {
		if slices.Contains(in.Names, aws.ToString(lb.LoadBalancerName)) || slices.Contains(in.LoadBalancerArns, aws.ToString(lb.LoadBalancerArn)) {
			out.LoadBalancers = append(out.LoadBalancers, lb)
		}
	}
	if len(out.LoadBalancers) == 0 {
		return nil, apiErr("LoadBalancerNotFound")
	}

	return out, nil
}

func (w *world) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	o := elbv2.Options{}
	for _, f := range opts {
		f(&o)
	}
	if err := w.call("DescribeTags", o.Region); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		d := elbv2types.TagDescription{ResourceArn: aws.String(arn)}
		for k, v := range w.tags[arn] {
			d.Tags = append(d.Tags, elbv2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}

	return out, nil
}

func (w *world) DescribeCertificate(_ context.Context, in *acm.DescribeCertificateInput, opts ...func(*acm.Options)) (*acm.DescribeCertificateOutput, error) {
	o := acm.Options{}
	for _, f := range opts {
		f(&o)
	}
	if err := w.call("DescribeCertificate", o.Region); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.CertificateArn)
	c, ok := w.certs[arn]
	// ACM is regional: a certificate exists only in its ARN's region.
	if !ok || !strings.Contains(arn, ":"+o.Region+":") {
		return nil, apiErr("ResourceNotFoundException")
	}
	c.CertificateArn = aws.String(arn)

	return &acm.DescribeCertificateOutput{Certificate: &c}, nil
}

func (w *world) GetHostedZone(_ context.Context, in *route53.GetHostedZoneInput, _ ...func(*route53.Options)) (*route53.GetHostedZoneOutput, error) {
	if err := w.call("GetHostedZone", "global"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.Id)
	if strings.HasPrefix(id, "/") {
		return nil, fmt.Errorf("fake: GetHostedZone got a prefixed ID %q", id)
	}
	z, ok := w.zones[id]
	if !ok {
		return nil, apiErr("NoSuchHostedZone")
	}

	return &route53.GetHostedZoneOutput{HostedZone: &z}, nil
}

// ListResourceRecordSets lists as Route 53 does: in its order (by name with
// the labels reversed, then type) from StartRecordName / StartRecordType,
// perPage at a time, with NextRecordName / NextRecordType.
func (w *world) ListResourceRecordSets(_ context.Context, in *route53.ListResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	if err := w.call("ListResourceRecordSets", "global"); err != nil {
		return nil, err
	}
	if w.listGuard != nil {
		if err := w.listGuard(in); err != nil {
			return nil, err
		}
	}
	all := slices.Clone(w.records[aws.ToString(in.HostedZoneId)])
	order := func(a, b r53types.ResourceRecordSet) int {
		if c := dns.CompareNames(aws.ToString(a.Name), aws.ToString(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(string(a.Type), string(b.Type))
	}
	slices.SortFunc(all, order)
	from := 0
	if in.StartRecordName != nil {
		start := r53types.ResourceRecordSet{Name: in.StartRecordName, Type: in.StartRecordType}
		from = slices.IndexFunc(all, func(rr r53types.ResourceRecordSet) bool { return order(rr, start) >= 0 })
		if from < 0 {
			from = len(all)
		}
	}
	size := w.perPage
	if size <= 0 {
		size = 300
	}
	to := min(from+size, len(all))
	out := &route53.ListResourceRecordSetsOutput{ResourceRecordSets: all[from:to]}
	if to < len(all) {
		out.IsTruncated = true
		out.NextRecordName, out.NextRecordType = all[to].Name, all[to].Type
	}

	return out, nil
}

func ec2Region(opts []func(*ec2.Options)) string {
	o := ec2.Options{}
	for _, f := range opts {
		f(&o)
	}

	return o.Region
}
