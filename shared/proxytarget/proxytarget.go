// Package proxytarget makes the proxy-manager function the target of a load
// balancer: the ensure-proxy-target step of ProvisionLoadBalancer.
//
// The proxy-manager function is ONE function per deployment (deployed with
// the app, never created or deleted here), shared by every load balancer.
// For each load balancer this package ensures:
//
//   - an alias "live" on a published version of the function (shared; found
//     or published once, never moved here: moving the alias is the
//     code-update procedure's job);
//   - a Lambda target group "<lb>-proxy" carrying the ownership tags and
//     autostop:domain = the load balancer's domain (ownership.DomainKey), with
//     lambda.multi_value_headers.enabled = true;
//   - ONE statement SharedStatementID in the alias's resource policy,
//     shared by every load balancer of the region, letting
//     elasticloadbalancing.amazonaws.com invoke it from any autostop proxy
//     target group of this account and region (SourceArn
//     arn:<partition>:elasticloadbalancing:<region>:<account>:targetgroup/*-proxy/*,
//     SourceAccount <account>; AWS requires a permission before
//     RegisterTargets). A statement per load balancer, as earlier versions
//     made ("autostop-<lb>", LegacyStatementID), filled the 20 KB a Lambda
//     resource policy may hold at about 50 load balancers: Ensure and
//     DeleteCreatedBy remove the load balancer's own legacy statement (see
//     ensurePermission and DeleteCreatedBy for when);
//   - the alias ARN registered as the target group's target.
//
// Ensure is find-or-create: a re-run makes no mutating call. DeleteCreatedBy
// undoes what one execution created, for the rollback, or, with an empty
// execution, what any execution created for the load balancer, for the
// DeleteLoadBalancer workflow; it removes the shared statement only when no
// autostop proxy target group is left in the region.
//
// The proxy target group is where the load balancer's domain is recorded:
// AttachRule finds an autostop load balancer by its listeners' default
// action (the proxy target group, which must carry autostop's tags) and
// reads the domain its rules' hosts must be under from ownership.DomainKey. Tags are
// the only place on the load balancer's side to keep it (an ALB has no
// description), and the target group is autostop's own: a re-run adds the
// tag when it is missing (load balancers provisioned before it existed) or
// names another domain (the spec's domain changed).
package proxytarget

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/targetgroup"
)

// Fixed names.
const (
	// DefaultFunctionName is the proxy-manager function's name when
	// PROXY_FUNCTION_NAME is not set.
	DefaultFunctionName = "autostop-proxy"
	// AliasName is the alias the target groups invoke.
	AliasName = "live"
	// ELBPrincipal is the service principal the permission is granted to.
	ELBPrincipal = "elasticloadbalancing.amazonaws.com"
	// InvokeAction is the action the permission grants.
	InvokeAction = "lambda:InvokeFunction"
	// MultiValueHeadersAttr makes the ALB pass repeated headers and query
	// parameters to the function (otherwise only the last value survives).
	MultiValueHeadersAttr = "lambda.multi_value_headers.enabled"

	targetGroupSuffix = "-proxy"
)

// Config is the step's configuration, read from the environment once per
// function (see ConfigFromEnv).
type Config struct {
	// FunctionName of the proxy-manager function (env PROXY_FUNCTION_NAME,
	// default "autostop-proxy"). It must exist in the load balancer's
	// region: an ALB can only target a function of its own region.
	FunctionName string
	// DeleteAttempts bounds the DeleteTargetGroup calls DeleteCreatedBy
	// makes while AWS answers ResourceInUse (a listener still forwards to
	// the target group). Default 4.
	DeleteAttempts int
	// DeleteBackoff is the wait before the second attempt; it doubles for
	// each further one. Default 1s (so 1+2+4 s at most with 4 attempts).
	DeleteBackoff time.Duration
	// UpdateWait bounds the wait for a proxy function that is being
	// created or updated (a deploy a moment ago) before its version is
	// published: Lambda refuses PublishVersion meanwhile. Default 40 s,
	// under the step's 60 s timeout.
	UpdateWait time.Duration
	// UpdatePoll is how often the function is read while waiting.
	// Default 1 s.
	UpdatePoll time.Duration
	// PermissionWait bounds how long RegisterTargets is tried again while
	// it answers AccessDenied right after this run added the invoke
	// permission (it takes a while to reach Elastic Load Balancing), or
	// after it put back a statement a concurrent rollback removed: at most
	// PermissionWait in all per run (see ensureTarget), under the step's
	// 60 s timeout. Default 30 s; PermissionPoll between tries, default 2 s.
	PermissionWait time.Duration
	PermissionPoll time.Duration
}

// ConfigFromEnv reads Config from the environment.
func ConfigFromEnv() Config {
	c := Config{FunctionName: os.Getenv("PROXY_FUNCTION_NAME")}
	if n, err := strconv.Atoi(os.Getenv(EnvPermissionWaitSeconds)); err == nil && n > 0 {
		c.PermissionWait = time.Duration(n) * time.Second
	}

	return c.withDefaults()
}

// EnvPermissionWaitSeconds sets Config.PermissionWait in seconds (shared/app:
// 30 on AWS, 3 locally, where kumo's propagation delay is 2 s).
const EnvPermissionWaitSeconds = "PERMISSION_WAIT_SECONDS"

func (c Config) withDefaults() Config {
	if c.FunctionName == "" {
		c.FunctionName = DefaultFunctionName
	}
	if c.DeleteAttempts <= 0 {
		c.DeleteAttempts = 4
	}
	if c.UpdateWait <= 0 {
		c.UpdateWait = 40 * time.Second
	}
	if c.UpdatePoll <= 0 {
		c.UpdatePoll = time.Second
	}
	if c.PermissionWait <= 0 {
		c.PermissionWait = 30 * time.Second
	}
	if c.PermissionPoll <= 0 {
		c.PermissionPoll = 2 * time.Second
	}
	if c.DeleteBackoff <= 0 {
		c.DeleteBackoff = time.Second
	}

	return c
}

// ELBv2 is the part of the Elastic Load Balancing v2 client this package uses.
type ELBv2 interface {
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
	CreateTargetGroup(ctx context.Context, in *elbv2.CreateTargetGroupInput, optFns ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error)
	DeleteTargetGroup(ctx context.Context, in *elbv2.DeleteTargetGroupInput, optFns ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error)
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
	AddTags(ctx context.Context, in *elbv2.AddTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error)
	DescribeTargetGroupAttributes(ctx context.Context, in *elbv2.DescribeTargetGroupAttributesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error)
	ModifyTargetGroupAttributes(ctx context.Context, in *elbv2.ModifyTargetGroupAttributesInput, optFns ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupAttributesOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error)
	DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
}

// Lambda is the part of the Lambda client this package uses.
type Lambda interface {
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	GetAlias(ctx context.Context, in *lambda.GetAliasInput, optFns ...func(*lambda.Options)) (*lambda.GetAliasOutput, error)
	CreateAlias(ctx context.Context, in *lambda.CreateAliasInput, optFns ...func(*lambda.Options)) (*lambda.CreateAliasOutput, error)
	ListVersionsByFunction(ctx context.Context, in *lambda.ListVersionsByFunctionInput, optFns ...func(*lambda.Options)) (*lambda.ListVersionsByFunctionOutput, error)
	PublishVersion(ctx context.Context, in *lambda.PublishVersionInput, optFns ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error)
	GetPolicy(ctx context.Context, in *lambda.GetPolicyInput, optFns ...func(*lambda.Options)) (*lambda.GetPolicyOutput, error)
	AddPermission(ctx context.Context, in *lambda.AddPermissionInput, optFns ...func(*lambda.Options)) (*lambda.AddPermissionOutput, error)
	RemovePermission(ctx context.Context, in *lambda.RemovePermissionInput, optFns ...func(*lambda.Options)) (*lambda.RemovePermissionOutput, error)
}

// Clients are the AWS clients of one region.
type Clients struct {
	ELBv2  ELBv2
	Lambda Lambda
}

// NewClients builds the clients for region (the load balancer's; cfg's own
// region when empty).
func NewClients(cfg aws.Config, region string) Clients {
	if region == "" {
		region = cfg.Region
	}

	return Clients{
		ELBv2:  elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.Region = region }),
		Lambda: lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.Region = region }),
	}
}

// TargetGroupName is the proxy target group's name for load balancer lb:
// "<lb>-proxy". Target group names are at most 32 characters while load
// balancer names may have 32 too, so a name longer than 26 characters is
// cut to its first 26 (trailing hyphens dropped) before the suffix. Two
// load balancers whose names share those 26 characters map to the same
// target group name: the second one's run then finds a target group tagged
// for another load balancer and fails with Conflict (never shares it). The
// name is targetgroup.ProxyName's, so that targetgroup.DeleteOwnedBy
// leaves the proxy target group to this package.
func TargetGroupName(lb string) string { return targetgroup.ProxyName(lb) }

// SharedStatementID is the id of the one statement of the alias's resource
// policy that lets Elastic Load Balancing invoke the alias from every
// autostop proxy target group of the region. It has an underscore, which
// load balancer names cannot hold, so no LegacyStatementID(lb) is ever
// equal to it (a load balancer may be called "proxy-target-groups").
const SharedStatementID = "autostop_proxy_target_groups"

// LegacyStatementID is the id of load balancer lb's own statement, which
// earlier versions added for each load balancer (SourceArn = its target
// group). Ensure and DeleteCreatedBy remove it; nothing adds it any more.
func LegacyStatementID(lb string) string { return "autostop-" + lb }

// SourceARNPattern returns the AWS:SourceArn pattern of the shared
// statement for the region and account of target group tgARN
// ("arn:<partition>:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>"):
// every target group whose name has TargetGroupName's suffix, in that
// account and region. Lambda's AddPermission writes SourceArn into an
// ArnLike condition, where * matches any characters. Rule target groups
// (shared/ruletarget) end in 8 hex digits and never match; a target group
// of someone else's named "<x>-proxy" in the account does, which lets it
// invoke the proxy only if its owner registers autostop's alias in it.
func SourceARNPattern(tgARN string) (pattern, account string, err error) {
	a, err := arn.Parse(tgARN)
	if err != nil || a.Partition == "" || a.Service != "elasticloadbalancing" || a.Region == "" || a.AccountID == "" ||
		!strings.HasPrefix(a.Resource, "targetgroup/") {
		return "", "", fmt.Errorf("%q is not a target group ARN", tgARN)
	}
	a.Resource = "targetgroup/*" + targetGroupSuffix + "/*"

	return a.String(), a.AccountID, nil
}

// isProxyTargetGroup reports whether a target group called name with these
// tags is an autostop proxy target group: autostop's tags, and the name
// TargetGroupName gives its load balancer.
func isProxyTargetGroup(name string, tags map[string]string) bool {
	lb := tags[ownership.LoadBalancerKey]

	return tags[ownership.ManagedByKey] == ownership.ManagedByValue && lb != "" && TargetGroupName(lb) == name
}

// AWS error codes this package routes on.
const (
	codeLambdaNotFound  = "ResourceNotFoundException"
	codeLambdaConflict  = "ResourceConflictException"
	codeTGNotFound      = "TargetGroupNotFound"
	codeDuplicateTGName = "DuplicateTargetGroupName"
	codeResourceInUse   = "ResourceInUse"
	codeAccessDenied    = "AccessDenied"
	// codePolicyFull: the resource policy would exceed 20 KB.
	codePolicyFull = "PolicyLengthExceededException"
)

// ActionKept is the action DeleteCreatedBy reports for the shared
// statement when it leaves it in place because other autostop proxy target
// groups still need it (it is not in left: nothing failed).
const ActionKept = "kept"
