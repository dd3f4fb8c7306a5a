// Package proxyupdate is the UpdateProxyCode workflow's logic: the
// procedure for a new proxy-manager build, done so that a bad build never
// serves a request. The new code is in the proxy function's $LATEST
// already (the CLI uploads it: a deployment package is larger than a
// workflow's input may be); the workflow then
//
//  1. Locate: the load balancer → its HTTPS listener (or the HTTP one of
//     an HTTP-only load balancer) → the default action → autostop's proxy
//     target group → its Lambda target, the function's alias;
//  2. Publish: a version of $LATEST, only if $LATEST holds the uploaded
//     code (CodeSha256), waited for until Active by the state machine;
//  3. TestInvoke: the new version with a sample ALB event; its answer must
//     be an ALB response (no function error, a status below 500);
//  4. MoveAlias: the alias to the new version (conditional on the alias's
//     revision Locate read: a concurrent move fails this one);
//  5. Verify: the target group's registered target (the alias) answers
//     the sample event from the new version;
//
// and, when 5 fails, MoveAliasBack puts the alias back on the version it
// had. The old version is never deleted. The alias is the one every
// autostop load balancer of the region targets: the new code serves all
// of them once it moved.
package proxyupdate

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/step"
)

// Request is the UpdateProxyCode execution's input.
type Request struct {
	// Name of the load balancer whose proxy to update.
	Name string `json:"name"`
	// CodeSha256 is the base64 SHA-256 of the deployment package the CLI
	// uploaded to $LATEST (Lambda's CodeSha256): the version is published
	// only from that code.
	CodeSha256 string `json:"codeSha256"`
	// Description of the version (default "autostop update-proxy
	// <execution>").
	Description string `json:"description,omitempty"`
}

// Input is what every step receives: the Init state builds it.
type Input struct {
	Request   Request    `json:"request"`
	Execution string     `json:"execution"`
	Located   *Located   `json:"located,omitempty"`
	Published *Published `json:"published,omitempty"`
	Timing    Timing     `json:"timing"`
}

// Timing bounds the wait for the new version to be Active.
type Timing struct {
	WaitSeconds int `json:"waitSeconds"`
	MaxAttempts int `json:"maxAttempts"`
}

// Located is what Locate found.
type Located struct {
	LoadBalancerARN string `json:"loadBalancerArn"`
	ListenerARN     string `json:"listenerArn"`
	TargetGroupARN  string `json:"targetGroupArn"`
	// Domain of the load balancer (its proxy target group's tag): the
	// sample event asks for a host under it.
	Domain string `json:"domain"`
	// FunctionName and Alias make the target (FunctionName:Alias).
	FunctionName string `json:"functionName"`
	Alias        string `json:"alias"`
	AliasARN     string `json:"aliasArn"`
	// PreviousVersion is the version the alias points at now;
	// AliasRevisionID its revision, for the conditional move.
	PreviousVersion string `json:"previousVersion"`
	AliasRevisionID string `json:"aliasRevisionId"`
}

// Published is the version Publish made (or found: publishing the same
// code again returns the same version).
type Published struct {
	Version    string `json:"version"`
	VersionARN string `json:"versionArn"`
	CodeSha256 string `json:"codeSha256"`
	// State of the version: Pending, then Active.
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	// Resources name the version, for the audit timeline: "created", or
	// "adopted" when the code was published before (the same version).
	Resources []step.Resource `json:"resources,omitempty"`
}

// Checked is an invocation's outcome (TestInvoke and Verify).
type Checked struct {
	// Target is what was invoked (a version ARN, or the alias ARN the
	// target group targets).
	Target string `json:"target"`
	// ExecutedVersion is the version Lambda ran.
	ExecutedVersion string `json:"executedVersion"`
	StatusCode      int    `json:"statusCode"`
}

// Moved is an alias move.
type Moved struct {
	AliasARN string `json:"aliasArn"`
	From     string `json:"from"`
	To       string `json:"to"`
	// Resources name the alias as "updated" when it moved, for the audit
	// timeline.
	Resources []step.Resource `json:"resources"`
}

// ELBv2 is what Locate and Verify read of Elastic Load Balancing.
type ELBv2 interface {
	DescribeLoadBalancers(ctx context.Context, in *elasticloadbalancingv2.DescribeLoadBalancersInput, optFns ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeLoadBalancersOutput, error)
	DescribeListeners(ctx context.Context, in *elasticloadbalancingv2.DescribeListenersInput, optFns ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeListenersOutput, error)
	DescribeTags(ctx context.Context, in *elasticloadbalancingv2.DescribeTagsInput, optFns ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeTagsOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elasticloadbalancingv2.DescribeTargetHealthInput, optFns ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeTargetHealthOutput, error)
}

// Lambda is what the steps use of Lambda.
type Lambda interface {
	GetAlias(ctx context.Context, in *lambda.GetAliasInput, optFns ...func(*lambda.Options)) (*lambda.GetAliasOutput, error)
	UpdateAlias(ctx context.Context, in *lambda.UpdateAliasInput, optFns ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error)
	GetFunction(ctx context.Context, in *lambda.GetFunctionInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error)
	PublishVersion(ctx context.Context, in *lambda.PublishVersionInput, optFns ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error)
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// LogFields are what each step's log lines carry about the request.
func LogFields(in Input) []any {
	return []any{"execution", in.Execution, "loadBalancer", in.Request.Name}
}
