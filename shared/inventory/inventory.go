// Package inventory reads what autostop runs in an account and region: its
// load balancers (found through their proxy target groups, which carry
// autostop's tags even when the ALB itself was adopted and carries none),
// their listeners and proxy targets, and the AutoStopping rules of the
// rules table. It only reads; the operator CLI's list and describe
// commands print it.
package inventory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/targetgroup"
)

// ELBv2 is the part of the Elastic Load Balancing client the inventory
// reads with.
type ELBv2 interface {
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	DescribeLoadBalancers(ctx context.Context, in *elbv2.DescribeLoadBalancersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	DescribeListeners(ctx context.Context, in *elbv2.DescribeListenersInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error)
	DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// Rules lists the rules table.
type Rules interface {
	List(ctx context.Context) ([]rulestore.Item, error)
}

// Reader reads the inventory.
type Reader struct {
	ELBv2 ELBv2
	Rules Rules
}

// LoadBalancer is one autostop load balancer, as `lb list --output json`
// prints it.
type LoadBalancer struct {
	Name string `json:"name"`
	// ARN is empty when the proxy target group is not attached to any load
	// balancer (a provisioning that has not got that far).
	ARN     string `json:"arn,omitempty"`
	DNSName string `json:"dnsName,omitempty"`
	// State is the ALB's state: provisioning, active, active_impaired,
	// failed; "missing" when the proxy target group is attached to none.
	State  string `json:"state"`
	Scheme string `json:"scheme,omitempty"`
	VPCID  string `json:"vpcId,omitempty"`
	// Domain is the wildcard domain its rules answer under.
	Domain string `json:"domain"`
	// Adopted: the ALB existed before autostop (it does not carry
	// autostop's tags); deleting the load balancer leaves it in place.
	Adopted bool `json:"adopted"`
	// CreatedBy is the execution that created the ALB (empty when adopted).
	CreatedBy string `json:"createdBy,omitempty"`
	// ProxyTargetGroupARN is the target group of its default rule.
	ProxyTargetGroupARN string `json:"proxyTargetGroupArn"`
	// Rules counts its AutoStopping rules.
	Rules int `json:"rules"`
}

// LoadBalancers returns every autostop load balancer, by name.
func (r Reader) LoadBalancers(ctx context.Context) ([]LoadBalancer, error) {
	inv, err := r.read(ctx)
	if err != nil {
		return nil, err
	}

	return inv.loadBalancers, nil
}

// inventory is what LoadBalancers reads, with what Describe needs more of
// it.
type inventory struct {
	loadBalancers  []LoadBalancer      // by name
	securityGroups map[string][]string // ALB ARN -> its security groups
	rules          []rulestore.Item
}

// read reads the load balancers, their ALBs and the rules.
func (r Reader) read(ctx context.Context) (inventory, error) {
	proxies, err := r.proxyTargetGroups(ctx)
	if err != nil {
		return inventory{}, err
	}
	items, err := r.Rules.List(ctx)
	if err != nil {
		return inventory{}, err
	}
	ruleCount := map[string]int{}
	for _, it := range items {
		ruleCount[it.LoadBalancer]++
	}

	var lbARNs []string
	for _, p := range proxies {
		if p.lbARN != "" {
			lbARNs = append(lbARNs, p.lbARN)
		}
	}
	albs, err := r.describeLoadBalancers(ctx, lbARNs)
	if err != nil {
		return inventory{}, err
	}
	lbTags, err := targetgroup.TagsOf(ctx, r.ELBv2, lbARNs)
	if err != nil {
		return inventory{}, err
	}

	sgs := map[string][]string{}
	for arn, alb := range albs {
		sgs[arn] = alb.SecurityGroups
	}
	out := make([]LoadBalancer, 0, len(proxies))
	for _, p := range proxies {
		lb := LoadBalancer{Name: p.name, Domain: p.domain, ProxyTargetGroupARN: p.arn, State: "missing", Rules: ruleCount[p.name]}
		if alb, ok := albs[p.lbARN]; ok {
			lb.ARN, lb.DNSName, lb.Scheme, lb.VPCID = p.lbARN, aws.ToString(alb.DNSName), string(alb.Scheme), aws.ToString(alb.VpcId)
			if alb.State != nil {
				lb.State = string(alb.State.Code)
			}
			tags := lbTags[p.lbARN]
			lb.Adopted = !ownership.OwnedByLoadBalancer(tags, p.name)
			if !lb.Adopted {
				lb.CreatedBy = tags[ownership.ExecutionKey]
			}
		}
		out = append(out, lb)
	}
	slices.SortFunc(out, func(a, b LoadBalancer) int { return cmp.Compare(a.Name, b.Name) })

	return inventory{loadBalancers: out, securityGroups: sgs, rules: items}, nil
}

// proxy is a load balancer's proxy target group.
type proxy struct {
	name, domain, arn, lbARN string
}

// proxySuffix ends the name of every proxy target group ("<lb>-proxy").
const proxySuffix = "-proxy"

// proxyTargetGroups returns the Lambda target groups named "*-proxy" that
// carry autostop's tags: one per load balancer.
func (r Reader) proxyTargetGroups(ctx context.Context) ([]proxy, error) {
	candidates, err := targetgroup.ListTagged(ctx, r.ELBv2, func(tg elbtypes.TargetGroup) bool {
		return tg.TargetType == elbtypes.TargetTypeEnumLambda && strings.HasSuffix(aws.ToString(tg.TargetGroupName), proxySuffix)
	})
	if err != nil {
		return nil, err
	}

	var out []proxy
	for _, c := range candidates {
		tg, arn, t := c.Group, c.ARN(), c.Tags
		name := t[ownership.LoadBalancerKey]
		if name == "" || !ownership.OwnedByLoadBalancer(t, name) {
			continue
		}
		p := proxy{name: name, domain: t[ownership.DomainKey], arn: arn}
		if len(tg.LoadBalancerArns) > 0 {
			p.lbARN = tg.LoadBalancerArns[0]
		}
		out = append(out, p)
	}

	return out, nil
}

// maxDescribeLBs is how many load balancers one DescribeLoadBalancers call
// may name.
const maxDescribeLBs = 20

// describeLoadBalancers describes load balancers by ARN; one deleted since
// it was listed has no entry.
func (r Reader) describeLoadBalancers(ctx context.Context, arns []string) (map[string]elbtypes.LoadBalancer, error) {
	out := map[string]elbtypes.LoadBalancer{}
	for chunk := range slices.Chunk(arns, maxDescribeLBs) {
		res, err := r.ELBv2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: chunk})
		if err != nil && len(chunk) > 1 {
			// One of them is gone: read them one by one.
			for _, arn := range chunk {
				one, err := r.describeLoadBalancers(ctx, []string{arn})
				if err != nil {
					return nil, err
				}
				for k, v := range one {
					out[k] = v
				}
			}
			continue
		}
		if err != nil && strings.HasSuffix(steperr.ErrorCode(err), "NotFound") {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("describe load balancers: %w", err)
		}
		for _, lb := range res.LoadBalancers {
			out[aws.ToString(lb.LoadBalancerArn)] = lb
		}
	}

	return out, nil
}
