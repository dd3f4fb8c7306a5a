// Package validate is the first step of the ProvisionLoadBalancer workflow:
// every check that can be made before anything is created. It makes the
// spec's static checks (spec.Check), then read-only AWS calls: the VPC,
// subnets and security groups exist and belong together, the hosted zone is
// public and authoritative for the domain, the certificate is ISSUED in the
// ALB's region, covers *.<domain> and is not about to expire, the ALB name is
// free or ours (or the ALB to adopt fits), no foreign *.<domain> record
// exists. It never makes a mutating call.
//
// Its output is the normalized request the later steps rely on: defaults
// filled in (region, scheme, IP address type, subnets), the hosted zone ID
// without prefix, the domain full and lower-case.
//
// The logic depends on narrow interfaces over the SDK clients, so tests use
// fakes and the function uses the real clients.
package validate

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// EC2 is the part of the EC2 API this package uses.
type EC2 interface {
	DescribeVpcs(ctx context.Context, in *ec2.DescribeVpcsInput, opts ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error)
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, opts ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
}

// ELBv2 is the part of the Elastic Load Balancing v2 API this package uses.
type ELBv2 interface {
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, opts ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
}

// ACM is the part of the ACM API this package uses.
type ACM interface {
	DescribeCertificate(ctx context.Context, in *acm.DescribeCertificateInput, opts ...func(*acm.Options)) (*acm.DescribeCertificateOutput, error)
}

// Route53 is the part of the Route 53 API this package uses.
type Route53 interface {
	GetHostedZone(ctx context.Context, in *route53.GetHostedZoneInput, opts ...func(*route53.Options)) (*route53.GetHostedZoneOutput, error)
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, opts ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
}

// Clients are the AWS clients the step uses. The regional ones are called
// with the spec's region (known only once the request is read), so one set
// of clients serves every region.
type Clients struct {
	EC2     EC2
	ELBv2   ELBv2
	ACM     ACM
	Route53 Route53
	// Now is the clock certificates' expiry is compared with (nil: time.Now).
	Now func() time.Time
}

// NewClients builds the clients from cfg.
func NewClients(cfg aws.Config) Clients {
	return Clients{
		EC2:     ec2.NewFromConfig(cfg),
		ELBv2:   elbv2.NewFromConfig(cfg),
		ACM:     acm.NewFromConfig(cfg),
		Route53: route53.NewFromConfig(cfg),
	}
}

// MinCertificateValidity is how long an attached certificate must still be
// valid.
const MinCertificateValidity = 30 * 24 * time.Hour

// Validate checks the request in in.Spec and returns in with the spec
// normalized. defaultRegion is the workflow's region, used when the spec
// names none; a spec naming another region is refused (see the check).
//
// A request that cannot be provisioned fails with a steperr.InvalidRequest
// listing every problem found ("<field>: <reason>"); one that collides with
// something autostop does not own (an ALB of that name, a *.<domain>
// record) and has no other problem fails with a steperr.Conflict. AWS errors
// other than "not found" are returned wrapped, for steperr.Map to classify
// (throttling is retried by the state machine).
func Validate(ctx context.Context, c Clients, in step.Input, defaultRegion string) (step.Input, error) {
	if err := in.Spec.Check(); err != nil {
		return step.Input{}, err
	}
	if err := checkExecutionName(in.Execution); err != nil {
		return step.Input{}, err
	}
	s := in.Spec.WithDefaults(defaultRegion)
	if s.Region == "" {
		return step.Input{}, steperr.Invalid("region: not given, and the workflow has no default region")
	}
	// The load balancer's default rule sends traffic to the proxy
	// function, and a load balancer can only target a Lambda function of
	// its own region: the stack's (the workflow's) region.
	if defaultRegion != "" && s.Region != defaultRegion {
		return step.Input{}, steperr.Invalid("region: %s is not this deployment's region %s: the load balancer's default rule "+
			"targets the proxy function, which exists only in %s, and a load balancer can only target a Lambda function of its own "+
			"region; deploy the stack in %s to serve load balancers there", s.Region, defaultRegion, defaultRegion, s.Region)
	}
	// The defaults can break what the input did not say: an ARN in another
	// region than the default one.
	if err := s.Check(); err != nil {
		return step.Input{}, err
	}

	if c.Now == nil {
		c.Now = time.Now
	}
	v := &validation{c: c, given: in.Spec, s: s, domainKnown: s.DNS.Provider != spec.ProviderRoute53}
	checks := []func(context.Context) error{
		v.checkLoadBalancer, // first: an adopted ALB fixes the subnets, security groups, scheme
		v.checkNetwork,
		v.checkZone,
		v.checkCertificate,
	}
	for _, check := range checks {
		if err := check(ctx); err != nil {
			return step.Input{}, err
		}
	}
	// The domain is full now: its length limits apply to the full name.
	v.invalid = append(v.invalid, v.s.Problems()...)
	if err := v.err(); err != nil {
		return step.Input{}, err
	}

	out := in
	out.Spec = v.s
	return out, nil
}

// validation is one run: the spec as given, the spec being normalized, and
// the problems found so far.
type validation struct {
	c     Clients
	given spec.LoadBalancerSpec
	s     spec.LoadBalancerSpec

	invalid   []string
	conflicts []string
	// vpcMissing is set once the VPC is known to be missing (membership
	// checks against it are skipped: they would only repeat the problem).
	vpcMissing bool
	// domainKnown is set once s.Domain is the full domain: always with
	// provider other, with Route 53 once the zone was read and fits.
	domainKnown bool
}

func (v *validation) invalidf(field, format string, a ...any) {
	v.invalid = append(v.invalid, field+": "+fmt.Sprintf(format, a...))
}

func (v *validation) conflictf(field, format string, a ...any) {
	v.conflicts = append(v.conflicts, field+": "+fmt.Sprintf(format, a...))
}

// err is the run's verdict: InvalidRequest when anything is invalid (the
// message lists the conflicts too), else Conflict, else nil.
func (v *validation) err() error {
	all := strings.Join(append(append([]string(nil), v.invalid...), v.conflicts...), "; ")
	switch {
	case len(v.invalid) > 0:
		return steperr.Invalid("invalid request for load balancer %s: %s", v.s.Name, all)
	case len(v.conflicts) > 0:
		return steperr.Conflicting("load balancer %s conflicts with existing resources: %s", v.s.Name, all)
	}

	return nil
}

func (v *validation) ec2Region(o *ec2.Options)     { o.Region = v.s.Region }
func (v *validation) elbv2Region(o *elbv2.Options) { o.Region = v.s.Region }
func (v *validation) acmRegion(o *acm.Options)     { o.Region = v.s.Region }

// normalizeName lower-cases a DNS name, drops its trailing dot and undoes
// Route 53's octal escape of "*" ("\052").
func normalizeName(name string) string {
	return spec.NormalizeDomain(strings.ReplaceAll(name, `\052`, "*"))
}

// tagValue is what Elastic Load Balancing, ACM and EC2 accept in a tag
// value: letters, digits, spaces and _ . : / = + - @, at most 256.
var tagValue = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)

// checkExecutionName refuses an execution name that cannot be a tag value:
// everything the workflow creates carries it (ownership.ExecutionKey), and
// Step Functions allows names the tagging APIs refuse ("deploy(1)",
// "it's-mine"), which would fail at the first create, after Validate.
func checkExecutionName(name string) error {
	if tagValue.MatchString(name) {
		return nil
	}

	return steperr.Invalid("execution name %q: autostop tags what it creates with the execution's name, and tag values allow "+
		"only letters, digits, spaces and _ . : / = + - @; start the execution with such a name", name)
}
