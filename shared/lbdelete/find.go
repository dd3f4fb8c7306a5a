package lbdelete

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/targetgroup"
)

// ELBv2 is what Find reads of Elastic Load Balancing.
type ELBv2 interface {
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
}

// EC2 is what Find reads of EC2.
type EC2 interface {
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
}

// ACM is what Find reads of Certificate Manager.
type ACM interface {
	ListCertificates(ctx context.Context, in *acm.ListCertificatesInput, optFns ...func(*acm.Options)) (*acm.ListCertificatesOutput, error)
	ListTagsForCertificate(ctx context.Context, in *acm.ListTagsForCertificateInput, optFns ...func(*acm.Options)) (*acm.ListTagsForCertificateOutput, error)
}

// Route53 is what Find reads of Route 53.
type Route53 interface {
	ListHostedZonesByName(ctx context.Context, in *route53.ListHostedZonesByNameInput, optFns ...func(*route53.Options)) (*route53.ListHostedZonesByNameOutput, error)
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
}

// Rules lists the rules table.
type Rules interface {
	List(ctx context.Context) ([]rulestore.Item, error)
}

// FindClients are the clients Find reads with.
type FindClients struct {
	ELBv2   ELBv2
	EC2     EC2
	ACM     ACM
	Route53 Route53
	Rules   Rules
}

var nameRE = regexp.MustCompile(spec.NamePattern)

// Find reads what autostop has for the load balancer in.Request.Name:
// every resource carrying its tag, the adopted ALB, the Route 53 zone of
// its records, and the rules that use it. It only reads.
func Find(ctx context.Context, c FindClients, in Input) (Found, error) {
	name := in.Request.Name
	if !nameRE.MatchString(name) {
		return Found{}, steperr.Invalid("load balancer name %q: 1–32 letters, digits and hyphens, no hyphen first or last", name)
	}
	f := Found{Name: name, Rules: []Rule{}, Present: []Present{}}
	add := func(kind, id string) { f.Present = append(f.Present, Present{Kind: kind, ID: id}) }

	groups, err := c.ownedTargetGroups(ctx, name)
	if err != nil {
		return Found{}, err
	}
	for _, g := range groups {
		if aws.ToString(g.Group.TargetGroupName) == targetgroup.ProxyName(name) {
			f.Domain = g.Tags[ownership.DomainKey]
			if len(g.Group.LoadBalancerArns) > 0 {
				f.LoadBalancerARN = g.Group.LoadBalancerArns[0]
			}
		}
	}

	if err := c.findLoadBalancer(ctx, &f); err != nil {
		return Found{}, err
	}
	if f.LoadBalancerARN != "" {
		if !f.Adopted {
			add("load-balancer", f.LoadBalancerARN)
		}
		listeners, err := c.ownedListeners(ctx, name, f.LoadBalancerARN)
		if err != nil {
			return Found{}, err
		}
		for _, l := range listeners {
			add("listener", l)
		}
	}
	for _, g := range groups {
		add("target-group", aws.ToString(g.Group.TargetGroupArn))
	}

	groupIDs, err := c.ownedSecurityGroups(ctx, name)
	if err != nil {
		return Found{}, err
	}
	for _, id := range groupIDs {
		add("security-group", id)
	}
	certs, err := c.ownedCertificates(ctx, name)
	if err != nil {
		return Found{}, err
	}
	for _, arn := range certs {
		add("certificate", arn)
	}
	if f.Domain != "" {
		zone, records, err := c.ownedRecords(ctx, name, f.Domain)
		if err != nil {
			return Found{}, err
		}
		f.HostedZoneID = zone
		for _, r := range records {
			add("record", r)
		}
	}

	items, err := c.Rules.List(ctx)
	if err != nil {
		return Found{}, err
	}
	for _, it := range items {
		if it.LoadBalancer == name {
			f.Rules = append(f.Rules, Rule{Host: it.Host, Name: it.Rule.Name})
		}
	}
	slices.SortFunc(f.Rules, func(a, b Rule) int { return strings.Compare(a.Host, b.Host) })
	for i := range f.Rules {
		f.Rules[i].DetachExecution = detachExecutionName(in.Execution, i+1)
	}
	if len(f.Rules) > 0 {
		hosts := make([]string, len(f.Rules))
		for i, r := range f.Rules {
			hosts[i] = r.Host
		}
		f.RulesMessage = fmt.Sprintf("load balancer %s serves %d AutoStopping rule(s): %s; detach them first ('autostop rules delete HOST') "+
			"or delete with --force, which detaches them through DetachRule", name, len(f.Rules), strings.Join(hosts, ", "))
	}

	f.Refuse = len(f.Rules) > 0 && !in.Request.Force
	f.DetachRules = len(f.Rules) > 0 && in.Request.Force
	f.Exists = len(f.Rules) > 0 || len(f.Present) > 0
	f.LeftMessage = leftMessage(name, f.Present)
	if in.Error != nil {
		f.LeftMessage = causeOf(in.Error) + " — " + f.LeftMessage
	}

	return f, nil
}

// ownedTargetGroups returns the target groups carrying the load balancer's
// tag: its proxy target group and its rules' target groups.
func (c FindClients) ownedTargetGroups(ctx context.Context, name string) ([]targetgroup.Tagged, error) {
	all, err := targetgroup.ListTagged(ctx, c.ELBv2, nil)
	if err != nil {
		return nil, err
	}

	return slices.DeleteFunc(all, func(g targetgroup.Tagged) bool { return !ownership.OwnedByLoadBalancer(g.Tags, name) }), nil
}

// findLoadBalancer finds the ALB: the one the proxy target group is
// attached to, else the one of that name when autostop owns it (a
// re-run after the proxy target group was deleted).
func (c FindClients) findLoadBalancer(ctx context.Context, f *Found) error {
	in := &elbv2.DescribeLoadBalancersInput{Names: []string{f.Name}}
	if f.LoadBalancerARN != "" {
		in = &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{f.LoadBalancerARN}}
	}
	out, err := c.ELBv2.DescribeLoadBalancers(ctx, in)
	if steperr.HasCode(err, "LoadBalancerNotFound") {
		f.LoadBalancerARN = ""
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe load balancer %s: %w", f.Name, err)
	}
	if len(out.LoadBalancers) == 0 {
		f.LoadBalancerARN = ""
		return nil
	}
	arn := aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
	tags, err := targetgroup.Tags(ctx, c.ELBv2, arn)
	if err != nil {
		return err
	}
	owned := ownership.OwnedByLoadBalancer(tags, f.Name)
	if f.LoadBalancerARN == "" && !owned {
		return nil // an ALB of that name autostop has nothing to do with
	}
	f.LoadBalancerARN, f.Adopted = arn, !owned

	return nil
}

// ownedListeners returns the ALB's listeners carrying the load balancer's
// tag.
func (c FindClients) ownedListeners(ctx context.Context, name, lbARN string) ([]string, error) {
	out, err := c.ELBv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	if steperr.HasCode(err, "LoadBalancerNotFound") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe listeners of %s: %w", lbARN, err)
	}
	arns := make([]string, len(out.Listeners))
	for i, l := range out.Listeners {
		arns[i] = aws.ToString(l.ListenerArn)
	}
	tags, err := targetgroup.TagsOf(ctx, c.ELBv2, arns)
	if err != nil {
		return nil, err
	}
	var owned []string
	for _, arn := range arns {
		if ownership.OwnedByLoadBalancer(tags[arn], name) {
			owned = append(owned, arn)
		}
	}

	return owned, nil
}

// ownedSecurityGroups returns the security groups carrying the load
// balancer's tag.
func (c FindClients) ownedSecurityGroups(ctx context.Context, name string) ([]string, error) {
	var ids []string
	in := &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + ownership.LoadBalancerKey), Values: []string{name}},
		{Name: aws.String("tag:" + ownership.ManagedByKey), Values: []string{ownership.ManagedByValue}},
	}}
	for {
		out, err := c.EC2.DescribeSecurityGroups(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("describe security groups of load balancer %s: %w", name, err)
		}
		for _, g := range out.SecurityGroups {
			tags := map[string]string{}
			for _, t := range g.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			if ownership.OwnedByLoadBalancer(tags, name) {
				ids = append(ids, aws.ToString(g.GroupId))
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return ids, nil
		}
		in.NextToken = out.NextToken
	}
}

// ownedCertificates returns the certificates carrying the load balancer's
// tag (those autostop requested for it).
func (c FindClients) ownedCertificates(ctx context.Context, name string) ([]string, error) {
	var arns []string
	in := &acm.ListCertificatesInput{CertificateStatuses: []acmtypes.CertificateStatus{
		acmtypes.CertificateStatusPendingValidation, acmtypes.CertificateStatusIssued, acmtypes.CertificateStatusInactive,
		acmtypes.CertificateStatusExpired, acmtypes.CertificateStatusValidationTimedOut, acmtypes.CertificateStatusRevoked,
		acmtypes.CertificateStatusFailed,
	}}
	for {
		out, err := c.ACM.ListCertificates(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list certificates: %w", err)
		}
		for _, s := range out.CertificateSummaryList {
			arn := aws.ToString(s.CertificateArn)
			t, err := c.ACM.ListTagsForCertificate(ctx, &acm.ListTagsForCertificateInput{CertificateArn: aws.String(arn)})
			if steperr.HasCode(err, "ResourceNotFoundException") {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("list tags of certificate %s: %w", arn, err)
			}
			tags := map[string]string{}
			for _, tag := range t.Tags {
				tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
			if ownership.OwnedByLoadBalancer(tags, name) {
				arns = append(arns, arn)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return arns, nil
		}
		in.NextToken = out.NextToken
	}
}

// ownedRecords finds the Route 53 zone whose "*.<domain>" TXT record says
// autostop wrote it for the load balancer, and the records there; none
// with another DNS provider.
func (c FindClients) ownedRecords(ctx context.Context, name, domain string) (zone string, records []string, err error) {
	domain = dns.NormalizeName(domain)
	wildcard := "*." + domain
	out, err := c.Route53.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String(domain), MaxItems: aws.Int32(100)})
	if err != nil {
		return "", nil, fmt.Errorf("list hosted zones for %s: %w", domain, err)
	}
	// Zones are listed from the domain on, in name order; the ones that
	// hold the domain are the domain and its parents, found with
	// separate lookups when they sort before it.
	candidates := zonesHolding(out.HostedZones, domain)
	for parent := domain; strings.Contains(parent, "."); {
		parent = parent[strings.Index(parent, ".")+1:]
		o, err := c.Route53.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String(parent), MaxItems: aws.Int32(10)})
		if err != nil {
			return "", nil, fmt.Errorf("list hosted zones for %s: %w", parent, err)
		}
		candidates = append(candidates, zonesHolding(o.HostedZones, domain)...)
	}
	seen := map[string]bool{}
	for _, id := range candidates {
		if seen[id] {
			continue
		}
		seen[id] = true
		sets, err := dns.RecordSetsAt(ctx, c.Route53, id, wildcard)
		if err != nil {
			return "", nil, err
		}
		if !ownedTXT(sets, name) {
			continue
		}
		for _, s := range sets {
			records = append(records, wildcard+" "+string(s.Type))
		}
		return id, records, nil
	}

	return "", nil, nil
}

// zonesHolding returns the IDs (without "/hostedzone/") of the zones that
// hold domain: the domain itself or a parent.
func zonesHolding(zones []r53types.HostedZone, domain string) []string {
	var ids []string
	for _, z := range zones {
		zn := dns.NormalizeName(aws.ToString(z.Name))
		if zn == domain || strings.HasSuffix(domain, "."+zn) {
			ids = append(ids, strings.TrimPrefix(aws.ToString(z.Id), "/hostedzone/"))
		}
	}

	return ids
}

// ownedTXT reports whether the record sets hold autostop's ownership TXT
// record for the load balancer.
func ownedTXT(sets []r53types.ResourceRecordSet, name string) bool {
	for _, s := range sets {
		if s.Type != r53types.RRTypeTxt {
			continue
		}
		for _, v := range dns.Values(s) {
			if lb, _, ok := ownership.ParseTXT(v); ok && lb == name {
				return true
			}
		}
	}

	return false
}

// detachExecutionName names the n-th rule's DetachRule execution:
// "<execution>-detach-<n>", the execution's name shortened to fit 80
// characters.
func detachExecutionName(execution string, n int) string {
	suffix := fmt.Sprintf("-detach-%d", n)
	if keep := 80 - len(suffix); len(execution) > keep {
		execution = execution[:keep]
	}

	return execution + suffix
}

// causeOf is the message of a caught error: a Lambda error's errorMessage
// (prefixed with the error's name), else its cause, else its name.
func causeOf(e *step.Error) string {
	return steperr.Reason(e.Error, e.Cause, e.Error)
}
