package proxytarget

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/ownership"
)

const (
	fakeRegion  = "us-east-1"
	fakeAccount = "000000000000"
	fakeFnName  = "autostop-proxy"
	fakeFnARN   = "arn:aws:lambda:us-east-1:000000000000:function:autostop-proxy"
	fakeSha     = "c2hhLW9mLWxhdGVzdA=="
	// fakePattern is the shared statement's SourceArn in the fake's
	// account and region.
	fakePattern = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/*-proxy/*"
)

// fake is an in-memory ELBv2 + Lambda with AWS's semantics for the calls
// this package makes. It records every call by operation name.
type fake struct {
	fnExists bool
	codeSha  string
	// versions published: number -> CodeSha256.
	versions map[string]string
	aliases  map[string]string // alias -> version
	// policy statements per qualifier ("live").
	policies map[string][]fakeStatement

	tgs    map[string]*fakeTG // by ARN
	nextTG int

	calls []string
	// errs fails the next calls of an operation, in order.
	errs map[string][]error
	// before runs once, before the next call of an operation (what a
	// concurrent execution does meanwhile).
	before map[string]func(f *fake)
}

type fakeTG struct {
	name, arn string
	typ       elbtypes.TargetTypeEnum
	tags      map[string]string
	attrs     map[string]string
	targets   []string
}

type fakeStatement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal map[string]string            `json:"Principal"`
	Action    string                       `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

func newFake() *fake {
	return &fake{
		fnExists: true, codeSha: fakeSha,
		versions: map[string]string{}, aliases: map[string]string{}, policies: map[string][]fakeStatement{},
		tgs: map[string]*fakeTG{}, errs: map[string][]error{}, before: map[string]func(f *fake){},
	}
}

func (f *fake) clients() Clients { return Clients{ELBv2: f, Lambda: f} }

// call records op and returns the error queued for it, if any.
func (f *fake) call(op string) error {
	if hook := f.before[op]; hook != nil {
		delete(f.before, op)
		hook(f)
	}
	f.calls = append(f.calls, op)
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return q[0]
	}

	return nil
}

// mutating lists the recorded calls that change state, in order.
func (f *fake) mutating() []string {
	var out []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, "Get") && !strings.HasPrefix(c, "Describe") && !strings.HasPrefix(c, "List") {
			out = append(out, c)
		}
	}

	return out
}

// addTG stores a target group and returns it.
func (f *fake) addTG(name string, typ elbtypes.TargetTypeEnum, tags map[string]string) *fakeTG {
	f.nextTG++
	tg := &fakeTG{
		name: name, typ: typ, tags: tags, attrs: map[string]string{MultiValueHeadersAttr: "false"},
		arn: fmt.Sprintf("arn:aws:elasticloadbalancing:%s:000000000000:targetgroup/%s/%04d", fakeRegion, name, f.nextTG),
	}
	f.tgs[tg.arn] = tg

	return tg
}

func (f *fake) tgByName(name string) *fakeTG {
	for _, tg := range f.tgs {
		if tg.name == name {
			return tg
		}
	}

	return nil
}

// grant adds a permission statement to the alias policy, as AddPermission
// writes it: ArnLike AWS:SourceArn, StringEquals AWS:SourceAccount when
// sourceAccount is set. grant(LegacyStatementID(lb), tgARN, "") is what
// earlier versions added per load balancer.
func (f *fake) grant(sid, sourceARN, sourceAccount string) {
	cond := map[string]map[string]string{"ArnLike": {"AWS:SourceArn": sourceARN}}
	if sourceAccount != "" {
		cond["StringEquals"] = map[string]string{"AWS:SourceAccount": sourceAccount}
	}
	f.policies[AliasName] = append(f.policies[AliasName], fakeStatement{
		Sid: sid, Effect: "Allow", Principal: map[string]string{"Service": ELBPrincipal}, Action: InvokeAction,
		Resource: fakeFnARN + ":" + AliasName, Condition: cond,
	})
}

// grantShared adds the shared statement as Ensure writes it.
func (f *fake) grantShared() { f.grant(SharedStatementID, fakePattern, fakeAccount) }

// revoke removes statement sid, if any.
func (f *fake) revoke(sid string) {
	f.policies[AliasName] = slices.DeleteFunc(f.policies[AliasName], func(s fakeStatement) bool { return s.Sid == sid })
}

// allows evaluates s for an invocation by Elastic Load Balancing from
// target group tgARN, as Lambda does: every condition must hold (ArnLike
// and StringLike with * and ?, ArnEquals and StringEquals; other keys fail).
func (s fakeStatement) allows(tgARN string) bool {
	if s.Effect != "Allow" || s.Principal["Service"] != ELBPrincipal || s.Action != InvokeAction {
		return false
	}
	for op, kv := range s.Condition {
		for k, want := range kv {
			var got string
			switch strings.ToLower(k) {
			case "aws:sourcearn":
				got = tgARN
			case "aws:sourceaccount":
				got = strings.Split(tgARN, ":")[4]
			default:
				return false
			}
			switch op {
			case "ArnLike", "StringLike":
				if !globMatch(want, got) {
					return false
				}
			case "ArnEquals", "StringEquals":
				if want != got {
					return false
				}
			default:
				return false
			}
		}
	}

	return true
}

// globMatch matches s against an IAM pattern: * any run of characters
// (slashes included), ? any one.
func globMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if globMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && globMatch(pattern[1:], s[1:])
	default:
		return s != "" && s[0] == pattern[0] && globMatch(pattern[1:], s[1:])
	}
}

func (f *fake) statement(sid string) *fakeStatement {
	for i, s := range f.policies[AliasName] {
		if s.Sid == sid {
			return &f.policies[AliasName][i]
		}
	}

	return nil
}

func notFound(msg string) error {
	return &lambdatypes.ResourceNotFoundException{Message: aws.String(msg)}
}

func (f *fake) fnCheck(name string) error {
	if name != fakeFnName || !f.fnExists {
		return notFound("Function not found: " + name)
	}

	return nil
}

// --- Lambda ---

func (f *fake) GetFunction(_ context.Context, in *lambda.GetFunctionInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionOutput, error) {
	if err := f.call("GetFunction"); err != nil {
		return nil, err
	}
	if err := f.fnCheck(aws.ToString(in.FunctionName)); err != nil {
		return nil, err
	}

	return &lambda.GetFunctionOutput{Configuration: &lambdatypes.FunctionConfiguration{
		FunctionArn: aws.String(fakeFnARN), FunctionName: aws.String(fakeFnName), Version: aws.String("$LATEST"), CodeSha256: aws.String(f.codeSha),
	}}, nil
}

func (f *fake) GetAlias(_ context.Context, in *lambda.GetAliasInput, _ ...func(*lambda.Options)) (*lambda.GetAliasOutput, error) {
	if err := f.call("GetAlias"); err != nil {
		return nil, err
	}
	if err := f.fnCheck(aws.ToString(in.FunctionName)); err != nil {
		return nil, err
	}
	v, ok := f.aliases[aws.ToString(in.Name)]
	if !ok {
		return nil, notFound("Alias not found")
	}

	return &lambda.GetAliasOutput{Name: in.Name, FunctionVersion: aws.String(v), AliasArn: aws.String(fakeFnARN + ":" + aws.ToString(in.Name))}, nil
}

func (f *fake) CreateAlias(_ context.Context, in *lambda.CreateAliasInput, _ ...func(*lambda.Options)) (*lambda.CreateAliasOutput, error) {
	if err := f.call("CreateAlias"); err != nil {
		return nil, err
	}
	if err := f.fnCheck(aws.ToString(in.FunctionName)); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Name)
	if _, ok := f.aliases[name]; ok {
		return nil, &lambdatypes.ResourceConflictException{Message: aws.String("Alias already exists")}
	}
	if _, ok := f.versions[aws.ToString(in.FunctionVersion)]; !ok {
		return nil, notFound("version not found")
	}
	f.aliases[name] = aws.ToString(in.FunctionVersion)

	return &lambda.CreateAliasOutput{Name: in.Name, FunctionVersion: in.FunctionVersion, AliasArn: aws.String(fakeFnARN + ":" + name)}, nil
}

func (f *fake) ListVersionsByFunction(_ context.Context, in *lambda.ListVersionsByFunctionInput, _ ...func(*lambda.Options)) (*lambda.ListVersionsByFunctionOutput, error) {
	if err := f.call("ListVersionsByFunction"); err != nil {
		return nil, err
	}
	if err := f.fnCheck(aws.ToString(in.FunctionName)); err != nil {
		return nil, err
	}
	out := &lambda.ListVersionsByFunctionOutput{Versions: []lambdatypes.FunctionConfiguration{{Version: aws.String("$LATEST"), CodeSha256: aws.String(f.codeSha)}}}
	for _, v := range f.versionNumbers() {
		out.Versions = append(out.Versions, lambdatypes.FunctionConfiguration{Version: aws.String(strconv.Itoa(v)), CodeSha256: aws.String(f.versions[strconv.Itoa(v)])})
	}

	return out, nil
}

func (f *fake) versionNumbers() []int {
	var ns []int
	for v := range f.versions {
		n, _ := strconv.Atoi(v)
		ns = append(ns, n)
	}
	slices.Sort(ns)

	return ns
}

// PublishVersion returns the latest version when $LATEST's code is the one
// it was published from, as AWS does.
func (f *fake) PublishVersion(_ context.Context, in *lambda.PublishVersionInput, _ ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error) {
	if err := f.call("PublishVersion"); err != nil {
		return nil, err
	}
	if err := f.fnCheck(aws.ToString(in.FunctionName)); err != nil {
		return nil, err
	}
	if in.CodeSha256 != nil && aws.ToString(in.CodeSha256) != f.codeSha {
		return nil, &lambdatypes.InvalidParameterValueException{Message: aws.String("CodeSHA256 differs from $LATEST's")}
	}
	ns := f.versionNumbers()
	if len(ns) > 0 && f.versions[strconv.Itoa(ns[len(ns)-1])] == f.codeSha {
		v := strconv.Itoa(ns[len(ns)-1])
		return &lambda.PublishVersionOutput{Version: aws.String(v), FunctionArn: aws.String(fakeFnARN + ":" + v)}, nil
	}
	next := 1
	if len(ns) > 0 {
		next = ns[len(ns)-1] + 1
	}
	v := strconv.Itoa(next)
	f.versions[v] = f.codeSha

	return &lambda.PublishVersionOutput{Version: aws.String(v), FunctionArn: aws.String(fakeFnARN + ":" + v)}, nil
}

func (f *fake) GetPolicy(_ context.Context, in *lambda.GetPolicyInput, _ ...func(*lambda.Options)) (*lambda.GetPolicyOutput, error) {
	if err := f.call("GetPolicy"); err != nil {
		return nil, err
	}
	if err := f.fnCheck(aws.ToString(in.FunctionName)); err != nil {
		return nil, err
	}
	q := aws.ToString(in.Qualifier)
	if _, ok := f.aliases[q]; !ok {
		return nil, notFound("alias not found")
	}
	stmts := f.policies[q]
	if len(stmts) == 0 {
		return nil, notFound("The resource you requested does not exist.")
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": stmts})

	return &lambda.GetPolicyOutput{Policy: aws.String(string(doc))}, nil
}

func (f *fake) AddPermission(_ context.Context, in *lambda.AddPermissionInput, _ ...func(*lambda.Options)) (*lambda.AddPermissionOutput, error) {
	if err := f.call("AddPermission"); err != nil {
		return nil, err
	}
	if err := f.fnCheck(aws.ToString(in.FunctionName)); err != nil {
		return nil, err
	}
	if aws.ToString(in.Qualifier) != AliasName {
		return nil, fmt.Errorf("fake: AddPermission with Qualifier %q, want %q", aws.ToString(in.Qualifier), AliasName)
	}
	if f.statement(aws.ToString(in.StatementId)) != nil {
		return nil, &lambdatypes.ResourceConflictException{Message: aws.String("The statement id provided already exists")}
	}
	if aws.ToString(in.Principal) != ELBPrincipal || aws.ToString(in.Action) != InvokeAction {
		return nil, fmt.Errorf("fake: AddPermission principal %q action %q", aws.ToString(in.Principal), aws.ToString(in.Action))
	}
	f.grant(aws.ToString(in.StatementId), aws.ToString(in.SourceArn), aws.ToString(in.SourceAccount))

	return &lambda.AddPermissionOutput{}, nil
}

func (f *fake) RemovePermission(_ context.Context, in *lambda.RemovePermissionInput, _ ...func(*lambda.Options)) (*lambda.RemovePermissionOutput, error) {
	if err := f.call("RemovePermission"); err != nil {
		return nil, err
	}
	if err := f.fnCheck(aws.ToString(in.FunctionName)); err != nil {
		return nil, err
	}
	q := aws.ToString(in.Qualifier)
	for i, s := range f.policies[q] {
		if s.Sid == aws.ToString(in.StatementId) {
			f.policies[q] = slices.Delete(f.policies[q], i, i+1)
			return &lambda.RemovePermissionOutput{}, nil
		}
	}

	return nil, notFound("Statement not found")
}

// --- ELBv2 ---

func accessDenied(msg string) error {
	return &smithy.GenericAPIError{Code: "AccessDenied", Message: msg}
}

func tgNotFound() error {
	return &elbtypes.TargetGroupNotFoundException{Message: aws.String("One or more target groups not found")}
}

func (f *fake) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	if err := f.call("DescribeTargetGroups"); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTargetGroupsOutput{}
	if len(in.Names) == 0 && len(in.TargetGroupArns) == 0 {
		arns := make([]string, 0, len(f.tgs))
		for arn := range f.tgs {
			arns = append(arns, arn)
		}
		slices.Sort(arns)
		for _, arn := range arns {
			out.TargetGroups = append(out.TargetGroups, f.tgs[arn].describe())
		}
		return out, nil
	}
	for _, name := range in.Names {
		tg := f.tgByName(name)
		if tg == nil {
			return nil, tgNotFound()
		}
		out.TargetGroups = append(out.TargetGroups, tg.describe())
	}

	return out, nil
}

func (tg *fakeTG) describe() elbtypes.TargetGroup {
	return elbtypes.TargetGroup{TargetGroupArn: aws.String(tg.arn), TargetGroupName: aws.String(tg.name), TargetType: tg.typ}
}

func (f *fake) CreateTargetGroup(_ context.Context, in *elbv2.CreateTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error) {
	if err := f.call("CreateTargetGroup"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Name)
	if len(name) > 32 {
		return nil, fmt.Errorf("fake: target group name %q longer than 32", name)
	}
	if tg := f.tgByName(name); tg != nil {
		if tg.typ != in.TargetType {
			return nil, &elbtypes.DuplicateTargetGroupNameException{Message: aws.String("different settings")}
		}
		return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbtypes.TargetGroup{tg.describe()}}, nil
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	tg := f.addTG(name, in.TargetType, tags)

	return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbtypes.TargetGroup{tg.describe()}}, nil
}

func (f *fake) DeleteTargetGroup(_ context.Context, in *elbv2.DeleteTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error) {
	if err := f.call("DeleteTargetGroup"); err != nil {
		return nil, err
	}
	delete(f.tgs, aws.ToString(in.TargetGroupArn))

	return &elbv2.DeleteTargetGroupOutput{}, nil
}

func (f *fake) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	if err := f.call("DescribeTags"); err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		tg, ok := f.tgs[arn]
		if !ok {
			return nil, tgNotFound()
		}
		d := elbtypes.TagDescription{ResourceArn: aws.String(arn)}
		for _, k := range ownership.Keys(tg.tags) {
			d.Tags = append(d.Tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(tg.tags[k])})
		}
		out.TagDescriptions = append(out.TagDescriptions, d)
	}

	return out, nil
}

func (f *fake) AddTags(_ context.Context, in *elbv2.AddTagsInput, _ ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error) {
	if err := f.call("AddTags"); err != nil {
		return nil, err
	}
	for _, arn := range in.ResourceArns {
		tg, ok := f.tgs[arn]
		if !ok {
			return nil, tgNotFound()
		}
		for _, t := range in.Tags {
			tg.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}

	return &elbv2.AddTagsOutput{}, nil
}

func (f *fake) DescribeTargetGroupAttributes(_ context.Context, in *elbv2.DescribeTargetGroupAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
	if err := f.call("DescribeTargetGroupAttributes"); err != nil {
		return nil, err
	}
	tg, ok := f.tgs[aws.ToString(in.TargetGroupArn)]
	if !ok {
		return nil, tgNotFound()
	}
	out := &elbv2.DescribeTargetGroupAttributesOutput{}
	for k, v := range tg.attrs {
		out.Attributes = append(out.Attributes, elbtypes.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(v)})
	}

	return out, nil
}

func (f *fake) ModifyTargetGroupAttributes(_ context.Context, in *elbv2.ModifyTargetGroupAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupAttributesOutput, error) {
	if err := f.call("ModifyTargetGroupAttributes"); err != nil {
		return nil, err
	}
	tg, ok := f.tgs[aws.ToString(in.TargetGroupArn)]
	if !ok {
		return nil, tgNotFound()
	}
	for _, a := range in.Attributes {
		tg.attrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}

	return &elbv2.ModifyTargetGroupAttributesOutput{}, nil
}

// DescribeTargetHealth lists registered Lambda targets as AWS does with
// health checks off: state "unavailable", reason Target.HealthCheckDisabled.
func (f *fake) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	if err := f.call("DescribeTargetHealth"); err != nil {
		return nil, err
	}
	tg, ok := f.tgs[aws.ToString(in.TargetGroupArn)]
	if !ok {
		return nil, tgNotFound()
	}
	out := &elbv2.DescribeTargetHealthOutput{}
	for _, id := range tg.targets {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{
			Target:       &elbtypes.TargetDescription{Id: aws.String(id)},
			TargetHealth: &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumUnavailable, Reason: elbtypes.TargetHealthReasonEnumHealthCheckDisabled},
		})
	}

	return out, nil
}

// RegisterTargets checks what AWS checks for a Lambda target: the
// function's policy must let ELB invoke it from this target group
// (AccessDenied otherwise; no propagation delay here), and the target group
// holds one function.
func (f *fake) RegisterTargets(_ context.Context, in *elbv2.RegisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	if err := f.call("RegisterTargets"); err != nil {
		return nil, err
	}
	tg, ok := f.tgs[aws.ToString(in.TargetGroupArn)]
	if !ok {
		return nil, tgNotFound()
	}
	for _, t := range in.Targets {
		id := aws.ToString(t.Id)
		if !slices.ContainsFunc(f.policies[AliasName], func(s fakeStatement) bool { return s.allows(tg.arn) }) {
			return nil, accessDenied("elasticloadbalancing principal does not have permission to invoke " + id + " from target group " + tg.arn)
		}
		if len(tg.targets) > 0 && !slices.Contains(tg.targets, id) {
			return nil, &elbtypes.TooManyTargetsException{Message: aws.String("a Lambda target group holds one function")}
		}
		if !slices.Contains(tg.targets, id) {
			tg.targets = append(tg.targets, id)
		}
	}

	return &elbv2.RegisterTargetsOutput{}, nil
}

func (f *fake) DeregisterTargets(_ context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	if err := f.call("DeregisterTargets"); err != nil {
		return nil, err
	}
	tg, ok := f.tgs[aws.ToString(in.TargetGroupArn)]
	if !ok {
		return nil, tgNotFound()
	}
	for _, t := range in.Targets {
		tg.targets = slices.DeleteFunc(tg.targets, func(id string) bool { return id == aws.ToString(t.Id) })
	}

	return &elbv2.DeregisterTargetsOutput{}, nil
}
