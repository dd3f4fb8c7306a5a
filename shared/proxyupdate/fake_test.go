package proxyupdate

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/ownership"
)

const (
	lbARN    = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1"
	httpsARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/443"
	httpARN  = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/1/80"
	tgARN    = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-proxy/1"
	aliasARN = "arn:aws:lambda:us-east-1:123456789012:function:autostop-proxy:live"
)

// fakeELB is one load balancer "web" with an HTTPS listener forwarding to
// its proxy target group and an HTTP one redirecting.
type fakeELB struct {
	listeners []elbtypes.Listener
	tgTags    map[string]string
	targets   []string
}

func newFakeELB() *fakeELB {
	forward := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}
	redirect := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumRedirect}}
	return &fakeELB{
		listeners: []elbtypes.Listener{
			{ListenerArn: aws.String(httpARN), Port: aws.Int32(80), Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: redirect},
			{ListenerArn: aws.String(httpsARN), Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumHttps, DefaultActions: forward},
		},
		tgTags:  map[string]string{ownership.LoadBalancerKey: "web", ownership.ManagedByKey: ownership.ManagedByValue, ownership.DomainKey: "a.example.com"},
		targets: []string{aliasARN},
	}
}

func (f *fakeELB) DescribeLoadBalancers(_ context.Context, in *elbv2.DescribeLoadBalancersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error) {
	if in.Names[0] != "web" {
		return nil, &smithy.GenericAPIError{Code: "LoadBalancerNotFound"}
	}
	return &elbv2.DescribeLoadBalancersOutput{LoadBalancers: []elbtypes.LoadBalancer{{LoadBalancerArn: aws.String(lbARN)}}}, nil
}

func (f *fakeELB) DescribeListeners(context.Context, *elbv2.DescribeListenersInput, ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error) {
	return &elbv2.DescribeListenersOutput{Listeners: f.listeners}, nil
}

func (f *fakeELB) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	var tags []elbtypes.Tag
	for k, v := range f.tgTags {
		tags = append(tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return &elbv2.DescribeTagsOutput{TagDescriptions: []elbtypes.TagDescription{{ResourceArn: aws.String(in.ResourceArns[0]), Tags: tags}}}, nil
}

func (f *fakeELB) DescribeTargetHealth(context.Context, *elbv2.DescribeTargetHealthInput, ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	out := &elbv2.DescribeTargetHealthOutput{}
	for _, id := range f.targets {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{Target: &elbtypes.TargetDescription{Id: aws.String(id)}})
	}
	return out, nil
}

// fakeLambda is the proxy function: $LATEST's code, its versions, the
// alias "live", and what each version answers.
type fakeLambda struct {
	latestSha    string
	updateStatus lambdatypes.LastUpdateStatus
	versions     []string // published, "1" first
	publishState lambdatypes.State
	alias        string // the version "live" points at
	revision     int
	answers      map[string]fakeAnswer // by version
	updates      []string              // versions UpdateAlias moved to
}

type fakeAnswer struct {
	functionError string
	status        int
	raw           string
}

func newFakeLambda() *fakeLambda {
	return &fakeLambda{latestSha: "sha-new", updateStatus: lambdatypes.LastUpdateStatusSuccessful, versions: []string{"1"},
		publishState: lambdatypes.StateActive, alias: "1", revision: 1,
		answers: map[string]fakeAnswer{"1": {status: 404}, "2": {status: 404}}}
}

func (f *fakeLambda) rev() string { return "rev-" + string(rune('0'+f.revision)) }

func (f *fakeLambda) GetAlias(context.Context, *lambda.GetAliasInput, ...func(*lambda.Options)) (*lambda.GetAliasOutput, error) {
	return &lambda.GetAliasOutput{FunctionVersion: aws.String(f.alias), RevisionId: aws.String(f.rev()), AliasArn: aws.String(aliasARN)}, nil
}

func (f *fakeLambda) UpdateAlias(_ context.Context, in *lambda.UpdateAliasInput, _ ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error) {
	if in.RevisionId != nil && aws.ToString(in.RevisionId) != f.rev() {
		return nil, &smithy.GenericAPIError{Code: "PreconditionFailedException"}
	}
	f.alias = aws.ToString(in.FunctionVersion)
	f.revision++
	f.updates = append(f.updates, f.alias)
	return &lambda.UpdateAliasOutput{FunctionVersion: in.FunctionVersion}, nil
}

func (f *fakeLambda) GetFunction(context.Context, *lambda.GetFunctionInput, ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	return &lambda.GetFunctionOutput{Configuration: &lambdatypes.FunctionConfiguration{CodeSha256: aws.String(f.latestSha), LastUpdateStatus: f.updateStatus}}, nil
}

func (f *fakeLambda) PublishVersion(_ context.Context, in *lambda.PublishVersionInput, _ ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error) {
	if len(f.versions) < 2 {
		f.versions = append(f.versions, "2")
	}
	return &lambda.PublishVersionOutput{Version: aws.String("2"), FunctionArn: aws.String("arn:aws:lambda:us-east-1:123456789012:function:autostop-proxy:2"),
		CodeSha256: in.CodeSha256, State: f.publishState}, nil
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	version := aws.ToString(in.FunctionName)
	switch version {
	case aliasARN:
		version = f.alias
	default:
		version = version[len(version)-1:]
	}
	a := f.answers[version]
	out := &lambda.InvokeOutput{ExecutedVersion: aws.String(version)}
	switch {
	case a.functionError != "":
		out.FunctionError = aws.String(a.functionError)
		out.Payload = []byte(`{"errorMessage":"boom","errorType":"panic"}`)
	case a.raw != "":
		out.Payload = []byte(a.raw)
	default:
		out.Payload, _ = json.Marshal(map[string]any{"statusCode": a.status, "headers": map[string]string{}, "body": "{}"})
	}
	return out, nil
}
