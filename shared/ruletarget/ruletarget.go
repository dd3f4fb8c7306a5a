// Package ruletarget manages what an AutoStopping rule owns on the load
// balancer's side: its instance target group, the targets registered in it,
// and the tag autostop:rule=<host> on its EC2 instances.
//
//   - Ensure is AttachRule's EnsureRuleTarget step: find-or-create the
//     target group (HTTP, the rule's port, the load balancer's VPC, the
//     rule's health check, which is the readiness signal of a wake) with the
//     ownership tags, autostop:rule=<host> and the rule's tags in the create
//     call; register the instances; tag them. A re-run makes no mutating
//     call.
//   - DeleteTargetGroup and Untag undo it, for DetachRule (Detach) and for
//     AttachRule's rollback: only a target group carrying autostop's tags for
//     this host (and, for the rollback, this execution's tag), and only tags
//     whose value is this host.
//
// The instance tag is the one change autostop makes to a customer's
// instances. It marks the instance as the rule's, so the IAM policies of
// the wake and sleep can allow StartInstances/StopInstances on tagged
// instances only, and it answers "is this instance in two rules?": an
// instance is in at most one rule (one tag, one value), because two rules
// would start and stop it independently (one rule's idle stop would stop
// an instance the other still serves). ValidateRule refuses an instance
// tagged for another host with Conflict.
//
// Target group names are derived from the rule: "<name>-<8 hex digits of
// the host's SHA-256>", the name cut to fit 32 characters (TargetGroupName),
// so two rules of the same name on two load balancers get two target
// groups, and a re-run finds its own by name.
package ruletarget

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rule"
)

// Target group names.
const (
	maxTargetGroupName = 32
	hashDigits         = 8
	// internalPrefix cannot start a target group name (AWS reserves it).
	internalPrefix = "internal-"
)

// NamePattern matches the names TargetGroupName returns (and, unavoidably,
// some other names ending in 8 hex digits): ValidateRule reads the tags of
// the target groups it matches to count a load balancer's rules.
const NamePattern = `^[a-z0-9][a-z0-9-]*-[0-9a-f]{8}$`

// NameRE is NamePattern compiled.
var NameRE = regexp.MustCompile(NamePattern)

// TargetGroupName is the rule's target group name: the rule's name
// (lower-cased, cut so the whole fits 32 characters, trailing hyphens
// dropped; "r-" in front of a name starting with "internal-", which AWS
// refuses) and "-" with the first 8 hex digits of the SHA-256 of the
// normalized host.
func TargetGroupName(ruleName, host string) string {
	sum := sha256.Sum256([]byte(rule.NormalizeHost(host)))
	suffix := "-" + hex.EncodeToString(sum[:])[:hashDigits]
	base := strings.ToLower(ruleName)
	if strings.HasPrefix(base, internalPrefix) {
		base = "r-" + base
	}
	if max := maxTargetGroupName - len(suffix); len(base) > max {
		base = base[:max]
	}

	return strings.TrimRight(base, "-") + suffix
}

// ELBv2 is the part of the Elastic Load Balancing v2 client this package
// uses.
type ELBv2 interface {
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	CreateTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput, optFns ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error)
	DeleteTargetGroup(ctx context.Context, in *elbv2.DeleteTargetGroupInput, optFns ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error)
	DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
}

// EC2 is the part of the EC2 client this package uses.
type EC2 interface {
	InstanceDescriber
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	DeleteTags(ctx context.Context, in *ec2.DeleteTagsInput, optFns ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
}

// InstanceDescriber describes instances (see DescribeInstances).
type InstanceDescriber interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// Clients are the AWS clients of the load balancer's region.
type Clients struct {
	ELBv2 ELBv2
	EC2   EC2
}

// NewClients builds the clients for region (cfg's own when empty).
func NewClients(cfg aws.Config, region string) Clients {
	if region == "" {
		region = cfg.Region
	}

	return Clients{
		ELBv2: elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.Region = region }),
		EC2:   ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region }),
	}
}

// Config tunes the deletes.
type Config struct {
	// DeleteAttempts bounds the DeleteTargetGroup calls while AWS answers
	// ResourceInUse (a listener rule still forwards to the target group, for
	// example one a wake in flight just added). Default 4.
	DeleteAttempts int
	// DeleteBackoff is the wait before the second attempt, doubled for each
	// further one. Default 1s.
	DeleteBackoff time.Duration
}

func (c Config) withDefaults() Config {
	if c.DeleteAttempts <= 0 {
		c.DeleteAttempts = 4
	}
	if c.DeleteBackoff <= 0 {
		c.DeleteBackoff = time.Second
	}

	return c
}

// Owner says which target group is the rule's: autostop's (managed-by),
// for the load balancer and the host, and — when Execution is set (the
// rollback) — created by that execution.
type Owner struct {
	Host         string
	LoadBalancer string
	Execution    string
}

// Owns reports whether a target group with these tags is the owner's.
func (o Owner) Owns(tags map[string]string) bool {
	return ownership.OwnedByLoadBalancer(tags, o.LoadBalancer) && tags[ownership.RuleKey] == rule.NormalizeHost(o.Host) &&
		(o.Execution == "" || tags[ownership.ExecutionKey] == o.Execution)
}

// AWS error codes this package routes on.
const (
	codeTGNotFound         = "TargetGroupNotFound"
	codeDuplicateTGName    = "DuplicateTargetGroupName"
	codeResourceInUse      = "ResourceInUse"
	codeInstanceNotFound   = "InvalidInstanceID.NotFound"
	codeInstanceMalformed  = "InvalidInstanceID.Malformed"
	codeInvalidTargetState = "InvalidTarget"
)
