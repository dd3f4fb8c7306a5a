package proxytarget

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/awsproxy"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localdeploy"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/targetgroup"
)

// TestEnsureOnLocalBackend runs Ensure and DeleteCreatedBy with the real SDK
// against the patched kumo, with the real proxy function deployed.
// proxyEnv is the configuration the proxy function needs to start (it only
// has to exist and poll here: its code is what gets published).
var proxyEnv = map[string]string{
	rulestore.EnvTableName:              "autostop-rules",
	proxymanager.EnvWakeStateMachineARN: "arn:aws:states:us-east-1:" + localaws.AccountID + ":stateMachine:autostop-wake-rule",
}

func TestEnsureOnLocalBackend(t *testing.T) {
	ctx := t.Context()
	b := localawstest.Start(t)

	err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: DefaultFunctionName, TimeoutSec: 30, MemoryMB: 128, Env: proxyEnv},
		localawstest.BuildFunction(t, "../../functions/proxy"))
	if err != nil {
		t.Fatal(err)
	}

	direct, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy reads the rules table: an empty one (every host unknown).
	table, _ := app.Description().Table(app.RulesTable)
	if err := localdeploy.CreateTable(ctx, dynamodb.NewFromConfig(direct), table); err != nil {
		t.Fatal(err)
	}
	elb, lc := elbv2.NewFromConfig(direct), lambda.NewFromConfig(direct)

	// The step's calls go through the recording proxy under caller "step".
	url, err := b.Proxy().Listen("step")
	if err != nil {
		t.Fatal(err)
	}
	viaProxy, err := localaws.ConfigFor(ctx, url, b.Region())
	if err != nil {
		t.Fatal(err)
	}
	clients := NewClients(viaProxy, b.Region())
	cfg := Config{FunctionName: DefaultFunctionName, DeleteAttempts: 3, DeleteBackoff: 10 * time.Millisecond}
	reset := func() { settledCalls(b.Proxy()); b.Proxy().Reset() }
	stepCalls := func() (all, mutating []string) {
		for _, c := range settledCalls(b.Proxy()) {
			if c.Caller != "step" {
				continue
			}
			all = append(all, c.Operation)
			if c.Mutating {
				mutating = append(mutating, c.Operation)
			}
		}
		return all, mutating
	}
	in := func(lb, execution string) step.Input {
		return step.Input{
			Spec:      spec.LoadBalancerSpec{Name: lb, Region: b.Region(), Domain: "autostop.example.test", Tags: map[string]string{"team": "platform"}},
			Execution: execution,
		}
	}
	fnARN := "arn:aws:lambda:" + b.Region() + ":" + localaws.AccountID + ":function:" + DefaultFunctionName
	pattern := "arn:aws:elasticloadbalancing:" + b.Region() + ":" + localaws.AccountID + ":targetgroup/*-proxy/*"

	// 1. First run: everything created.
	res, err := Ensure(ctx, clients, cfg, in("web", "exec-1"))
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	_, mutating := stepCalls()
	wantMut := []string{"CreateTargetGroup", "ModifyTargetGroupAttributes", "PublishVersion", "CreateAlias", "AddPermission", "RegisterTargets"}
	if !slices.Equal(mutating, wantMut) {
		t.Errorf("first run mutating calls = %v, want %v", mutating, wantMut)
	}
	if res.FunctionARN != fnARN || res.AliasARN != fnARN+":live" || res.Version != "1" {
		t.Errorf("result = %+v, want function %s, alias %s:live, version 1", res, fnARN, fnARN)
	}
	if got := actions(res); !mapsEqual(got, allActions(step.Created, step.Created, step.Created, step.Created, step.Created)) {
		t.Errorf("first run actions = %v", got)
	}
	t.Logf("first run: %d mutating calls; resources %+v", len(mutating), res.Resources)

	// Version and alias.
	alias, err := lc.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(DefaultFunctionName), Name: aws.String("live")})
	if err != nil || aws.ToString(alias.FunctionVersion) != res.Version || aws.ToString(alias.AliasArn) != res.AliasARN {
		t.Errorf("GetAlias live = %+v, %v; want version %s", alias, err, res.Version)
	}
	version, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(DefaultFunctionName), Qualifier: aws.String(res.Version)})
	latest, err2 := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(DefaultFunctionName)})
	if err != nil || err2 != nil || aws.ToString(version.Configuration.CodeSha256) != aws.ToString(latest.Configuration.CodeSha256) {
		t.Errorf("version %s: %v / %v; want $LATEST's code", res.Version, err, err2)
	}

	// Target group: lambda, tagged in the create call, multi-value headers on.
	tgs, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"web-proxy"}})
	if err != nil || len(tgs.TargetGroups) != 1 {
		t.Fatalf("DescribeTargetGroups web-proxy: %v, %v", tgs, err)
	}
	tg := tgs.TargetGroups[0]
	if aws.ToString(tg.TargetGroupArn) != res.TargetGroupARN || tg.TargetType != elbtypes.TargetTypeEnumLambda {
		t.Errorf("target group %s type %s, want %s lambda", aws.ToString(tg.TargetGroupArn), tg.TargetType, res.TargetGroupARN)
	}
	tags, err := targetgroup.Tags(ctx, elb, res.TargetGroupARN)
	if err != nil || !ownership.CreatedBy(tags, "web", "exec-1") || tags["team"] != "platform" || tags[ownership.DomainKey] != "autostop.example.test" {
		t.Errorf("target group tags = %v, %v", tags, err)
	}
	attrs, err := elb.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
	if err != nil || !hasAttr(attrs.Attributes, MultiValueHeadersAttr, "true") {
		t.Errorf("target group attributes = %v, %v; want %s=true", attrs, err, MultiValueHeadersAttr)
	}

	// The shared permission on the alias, conditioned on autostop's proxy
	// target groups of this account and region.
	checkStatement(t, lc, SharedStatementID, pattern, localaws.AccountID, res.AliasARN)
	if n := statements(t, lc); n != 1 {
		t.Errorf("%d statements in the alias's policy, want 1", n)
	}
	if _, err := lc.GetPolicy(ctx, &lambda.GetPolicyInput{FunctionName: aws.String(DefaultFunctionName)}); !steperr.HasCode(err, codeLambdaNotFound) {
		t.Errorf("unqualified function policy: %v; want none (the permission is on the alias only)", err)
	}

	// Target registered.
	if got := targets(t, elb, res.TargetGroupARN); !slices.Equal(got, []string{res.AliasARN}) {
		t.Errorf("targets = %v, want [%s]", got, res.AliasARN)
	}

	// 2. Re-run (as a wait-loop or retry re-invocation would): 0 mutating calls.
	reset()
	again, err := Ensure(ctx, clients, cfg, in("web", "exec-1"))
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	all, mutating := stepCalls()
	if len(mutating) != 0 {
		t.Errorf("re-run made mutating calls %v", mutating)
	}
	if again.TargetGroupARN != res.TargetGroupARN || again.AliasARN != res.AliasARN || again.Version != res.Version {
		t.Errorf("re-run result %+v differs from %+v", again, res)
	}
	t.Logf("re-run: %d calls, 0 mutating: %v", len(all), all)

	// 3. The alias answers an ALB event with the 404 page naming the host.
	const host = "app.autostop.example.test"
	event, _ := json.Marshal(events.ALBTargetGroupRequest{
		HTTPMethod:        http.MethodGet,
		Path:              "/",
		MultiValueHeaders: map[string][]string{"host": {host}, "user-agent": {"test"}, "accept": {"text/html"}},
		RequestContext:    events.ALBTargetGroupRequestContext{ELB: events.ELBContext{TargetGroupArn: res.TargetGroupARN}},
	})
	out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(res.AliasARN), Payload: event})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("Invoke %s: %v (%s)", res.AliasARN, err, out.Payload)
	}
	var resp events.ALBTargetGroupResponse
	if err := json.Unmarshal(out.Payload, &resp); err != nil {
		t.Fatalf("decode ALB response %s: %v", out.Payload, err)
	}
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(resp.Body, host) || aws.ToString(out.ExecutedVersion) != res.Version {
		t.Errorf("Invoke alias: status %d, executed version %q, body %q; want 404 naming %s from version %s",
			resp.StatusCode, aws.ToString(out.ExecutedVersion), resp.Body, host, res.Version)
	}
	if ct := resp.MultiValueHeaders["content-type"]; len(ct) != 1 || !strings.HasPrefix(ct[0], "text/html") {
		t.Errorf("multi-value content-type = %v", ct)
	}

	// 4. Another load balancer shares the function, version, alias and
	// the one statement: kumo (patch 0027) accepts its target because the
	// statement's ArnLike pattern and SourceAccount match its target group.
	reset()
	api, err := Ensure(ctx, clients, cfg, in("api", "exec-2"))
	if err != nil {
		t.Fatalf("Ensure api: %v", err)
	}
	if api.AliasARN != res.AliasARN || api.Version != res.Version || api.TargetGroupARN == res.TargetGroupARN {
		t.Errorf("api result %+v: want the same alias and version, its own target group", api)
	}
	if got := actions(api); got[KindPermission] != step.Adopted || got[KindTarget] != step.Created {
		t.Errorf("api actions %v: want the permission found (adopted) and the target created", got)
	}
	_, mutating = stepCalls()
	if wantMut := []string{"CreateTargetGroup", "ModifyTargetGroupAttributes", "RegisterTargets"}; !slices.Equal(mutating, wantMut) {
		t.Errorf("api mutating calls = %v, want %v (no AddPermission)", mutating, wantMut)
	}
	for _, r := range []step.ProxyTargetResult{res, api} {
		if got := targets(t, elb, r.TargetGroupARN); !slices.Equal(got, []string{r.AliasARN}) {
			t.Errorf("targets of %s = %v, want [%s]", r.TargetGroupARN, got, r.AliasARN)
		}
	}
	checkStatement(t, lc, SharedStatementID, pattern, localaws.AccountID, res.AliasARN)
	if n := statements(t, lc); n != 1 {
		t.Errorf("%d statements in the alias's policy after two load balancers, want 1", n)
	}

	// 5. A later execution of "web" adopts, and drops the statement an
	// earlier version made for "web" alone; its rollback deletes nothing.
	_, err = lc.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(DefaultFunctionName), Qualifier: aws.String(AliasName), StatementId: aws.String("autostop-web"),
		Action: aws.String(InvokeAction), Principal: aws.String(ELBPrincipal), SourceArn: aws.String(res.TargetGroupARN),
	})
	if err != nil {
		t.Fatal(err)
	}
	reset()
	adopted, err := Ensure(ctx, clients, cfg, in("web", "exec-3"))
	if err != nil || adopted.TargetGroupARN != res.TargetGroupARN || actions(adopted)[KindTargetGroup] != step.Adopted {
		t.Errorf("Ensure web by exec-3: %+v, %v; want the target group adopted", adopted, err)
	}
	if got := actions(adopted)[KindLegacyPermission]; got != step.Deleted {
		t.Errorf("legacy statement action %q, want %q", got, step.Deleted)
	}
	deleted, left, err := DeleteCreatedBy(ctx, clients, cfg, "web", "exec-3")
	if err != nil || len(deleted) != 0 || len(left) != 0 {
		t.Errorf("DeleteCreatedBy exec-3: deleted %v left %v err %v; want nothing", deleted, left, err)
	}
	if _, mutating := stepCalls(); !slices.Equal(mutating, []string{"RemovePermission"}) {
		t.Errorf("adopting run and its rollback made mutating calls %v, want the legacy statement's RemovePermission only", mutating)
	}
	if stmt, err := findStatement(ctx, lc, DefaultFunctionName, "autostop-web"); err != nil || stmt != nil {
		t.Errorf("legacy statement autostop-web after the adopting run: %+v, %v", stmt, err)
	}

	// 6. The rollback of exec-1 removes its target and target group (the
	// first delete answered ResourceInUse, as AWS does while a listener
	// still forwards to it: retried), never the function, alias or
	// version, and keeps the shared statement: api's target group needs it.
	reset()
	b.Proxy().FailNth("elasticloadbalancing", "DeleteTargetGroup", 1, awsproxy.Fault{
		Code: "ResourceInUse", Message: "Target group is currently in use by a listener or a rule", HTTPStatus: http.StatusBadRequest,
	})
	deleted, left, err = DeleteCreatedBy(ctx, clients, cfg, "web", "exec-1")
	if err != nil || len(left) != 0 {
		t.Fatalf("DeleteCreatedBy exec-1: left %v err %v", left, err)
	}
	want := []step.Resource{
		{Kind: KindTarget, ID: res.AliasARN, Action: step.Deleted},
		{Kind: KindTargetGroup, ID: res.TargetGroupARN, Action: step.Deleted},
		{Kind: KindPermission, ID: res.AliasARN + "#" + SharedStatementID, Action: ActionKept},
	}
	if !slices.Equal(deleted, want) {
		t.Errorf("deleted = %v, want %v", deleted, want)
	}
	_, mutating = stepCalls()
	if wantMut := []string{"DeregisterTargets", "DeleteTargetGroup", "DeleteTargetGroup"}; !slices.Equal(mutating, wantMut) {
		t.Errorf("rollback mutating calls = %v, want %v", mutating, wantMut)
	}

	if _, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"web-proxy"}}); !steperr.HasCode(err, codeTGNotFound) {
		t.Errorf("web-proxy after rollback: %v, want TargetGroupNotFound", err)
	}
	if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(DefaultFunctionName), Qualifier: aws.String("live")}); err != nil {
		t.Errorf("alias live after rollback: %v", err)
	}
	if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(DefaultFunctionName), Qualifier: aws.String(res.Version)}); err != nil {
		t.Errorf("version %s after rollback: %v", res.Version, err)
	}
	// The other load balancer's target group and the statement are untouched.
	checkStatement(t, lc, SharedStatementID, pattern, localaws.AccountID, api.AliasARN)
	if got := targets(t, elb, api.TargetGroupARN); !slices.Equal(got, []string{api.AliasARN}) {
		t.Errorf("api targets after web's rollback = %v", got)
	}

	// A second rollback finds nothing left to do.
	deleted, left, err = DeleteCreatedBy(ctx, clients, cfg, "web", "exec-1")
	if err != nil || len(deleted) != 0 || len(left) != 0 {
		t.Errorf("second rollback: deleted %v left %v err %v", deleted, left, err)
	}

	// 7. The rollback of api's execution, the last autostop proxy target
	// group of the region, removes the shared statement too.
	reset()
	deleted, left, err = DeleteCreatedBy(ctx, clients, cfg, "api", "exec-2")
	if err != nil || len(left) != 0 {
		t.Fatalf("DeleteCreatedBy api exec-2: left %v err %v", left, err)
	}
	want = []step.Resource{
		{Kind: KindTarget, ID: api.AliasARN, Action: step.Deleted},
		{Kind: KindTargetGroup, ID: api.TargetGroupARN, Action: step.Deleted},
		{Kind: KindPermission, ID: api.AliasARN + "#" + SharedStatementID, Action: step.Deleted},
	}
	if !slices.Equal(deleted, want) {
		t.Errorf("deleted = %v, want %v", deleted, want)
	}
	_, mutating = stepCalls()
	if wantMut := []string{"DeregisterTargets", "DeleteTargetGroup", "RemovePermission"}; !slices.Equal(mutating, wantMut) {
		t.Errorf("last rollback mutating calls = %v, want %v", mutating, wantMut)
	}
	if stmt, err := findStatement(ctx, lc, DefaultFunctionName, SharedStatementID); err != nil || stmt != nil {
		t.Errorf("shared statement after the last rollback: %+v, %v", stmt, err)
	}
	if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(DefaultFunctionName), Qualifier: aws.String("live")}); err != nil {
		t.Errorf("alias live after the last rollback: %v", err)
	}
}

// TestEnsureOnLocalBackendErrors covers the step's named errors on kumo:
// no proxy function, and a foreign target group holding the name.
func TestEnsureOnLocalBackendErrors(t *testing.T) {
	ctx := t.Context()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clients := NewClients(cfg, "")
	in := step.Input{Spec: spec.LoadBalancerSpec{Name: "web", Region: b.Region()}, Execution: "exec-1"}

	_, err = Ensure(ctx, clients, Config{}, in)
	var nf *steperr.NotFound
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), DefaultFunctionName) {
		t.Errorf("no function: err = %v, want NotFound naming %s", err, DefaultFunctionName)
	}

	if err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: DefaultFunctionName, TimeoutSec: 30, MemoryMB: 128, Env: proxyEnv},
		localawstest.BuildFunction(t, "../../functions/proxy")); err != nil {
		t.Fatal(err)
	}
	_, err = elbv2.NewFromConfig(cfg).CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
		Name: aws.String("web-proxy"), TargetType: elbtypes.TargetTypeEnumLambda,
		Tags: []elbtypes.Tag{{Key: aws.String("owner"), Value: aws.String("someone-else")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Ensure(ctx, clients, Config{}, in)
	var conflict *steperr.Conflict
	if !errors.As(err, &conflict) {
		t.Errorf("foreign target group: err = %v, want Conflict", err)
	}
	if _, err := lambda.NewFromConfig(cfg).GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String(DefaultFunctionName), Name: aws.String("live")}); !steperr.HasCode(err, codeLambdaNotFound) {
		t.Errorf("alias live after a Conflict: %v; want nothing published", err)
	}
}

// settledCalls returns the proxy's recorded calls once their number stops
// changing: the proxy records a call after it has forwarded the response,
// so the client can see the answer of its last call a moment before the
// call is in the record.
func settledCalls(p *awsproxy.Proxy) []awsproxy.Call {
	calls := p.Calls()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		next := p.Calls()
		if len(next) == len(calls) {
			break
		}
		calls = next
	}

	return calls
}

func hasAttr(attrs []elbtypes.TargetGroupAttribute, key, value string) bool {
	return slices.ContainsFunc(attrs, func(a elbtypes.TargetGroupAttribute) bool {
		return aws.ToString(a.Key) == key && aws.ToString(a.Value) == value
	})
}

func targets(t *testing.T, elb *elbv2.Client, tgARN string) []string {
	t.Helper()
	out, err := elb.DescribeTargetHealth(t.Context(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if err != nil {
		t.Fatalf("DescribeTargetHealth %s: %v", tgARN, err)
	}
	var ids []string
	for _, d := range out.TargetHealthDescriptions {
		ids = append(ids, aws.ToString(d.Target.Id))
	}
	return ids
}

// statements counts the statements of the alias's policy.
func statements(t *testing.T, lc *lambda.Client) int {
	t.Helper()
	p, err := readPolicy(t.Context(), lc, DefaultFunctionName)
	if err != nil {
		t.Fatal(err)
	}
	return len(p)
}

// checkStatement checks the alias policy's statement sid as AWS writes it:
// ELB service principal, lambda:InvokeFunction on the alias, ArnLike
// AWS:SourceArn = sourceARN (a pattern), StringEquals AWS:SourceAccount =
// account.
func checkStatement(t *testing.T, lc *lambda.Client, sid, sourceARN, account, aliasARN string) {
	t.Helper()
	out, err := lc.GetPolicy(t.Context(), &lambda.GetPolicyInput{FunctionName: aws.String(DefaultFunctionName), Qualifier: aws.String("live")})
	if err != nil {
		t.Fatalf("GetPolicy live: %v", err)
	}
	var doc struct {
		Statement []struct {
			Sid       string
			Effect    string
			Principal map[string]string
			Action    string
			Resource  string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy)), &doc); err != nil {
		t.Fatalf("policy %s: %v", aws.ToString(out.Policy), err)
	}
	for _, s := range doc.Statement {
		if s.Sid != sid {
			continue
		}
		if s.Effect != "Allow" || s.Principal["Service"] != ELBPrincipal || s.Action != InvokeAction ||
			s.Resource != aliasARN || s.Condition["ArnLike"]["AWS:SourceArn"] != sourceARN ||
			s.Condition["StringEquals"]["AWS:SourceAccount"] != account {
			t.Errorf("statement %s = %+v; want ELB allowed to invoke %s from %s in account %s", sid, s, aliasARN, sourceARN, account)
		}
		return
	}
	t.Errorf("statement %s missing from %s", sid, aws.ToString(out.Policy))
}

// TestEnsureWaitsForAnUpdate: with realistic timing (kumo patch 0026) a
// function being updated refuses PublishVersion with
// ResourceConflictException, as on AWS right after a deploy of the stack;
// Ensure waits for the update to finish and publishes.
func TestEnsureWaitsForAnUpdate(t *testing.T) {
	ctx := t.Context()
	b := localawstest.StartWith(t, localaws.Options{RealisticTiming: true, KumoEnv: map[string]string{"KUMO_LAMBDA_UPDATE_DELAY": "2s", "KUMO_ELBV2_PERMISSION_PROPAGATION_DELAY": "0"}})
	if err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: DefaultFunctionName, TimeoutSec: 30, MemoryMB: 128, Env: proxyEnv},
		localawstest.BuildFunction(t, "../../functions/proxy")); err != nil {
		t.Fatal(err)
	}
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(cfg)
	up, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(DefaultFunctionName), Description: aws.String("deployed again"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if up.LastUpdateStatus != lambdatypes.LastUpdateStatusInProgress {
		t.Fatalf("LastUpdateStatus %s right after an update, want InProgress (is realistic timing on?)", up.LastUpdateStatus)
	}

	start := time.Now()
	in := step.Input{Spec: spec.LoadBalancerSpec{Name: "web", Region: b.Region(), Domain: "autostop.example.test"}, Execution: "exec-1"}
	res, err := Ensure(ctx, NewClients(cfg, b.Region()), Config{UpdatePoll: 100 * time.Millisecond}, in)
	if err != nil {
		t.Fatalf("Ensure during an update: %v", err)
	}
	if res.Version != "1" {
		t.Errorf("published version %q, want 1", res.Version)
	}
	t.Logf("Ensure waited out the update: %v", time.Since(start).Round(100*time.Millisecond))
}

// TestEnsureWaitsForThePermissionToPropagate: with realistic timing (kumo
// patch 0027) Elastic Load Balancing refuses to register the alias for a
// moment after the invoke permission was added (AccessDenied, as on AWS);
// Ensure keeps trying, within PermissionWait, and registers it.
func TestEnsureWaitsForThePermissionToPropagate(t *testing.T) {
	ctx := t.Context()
	b := localawstest.StartWith(t, localaws.Options{RealisticTiming: true, KumoEnv: map[string]string{"KUMO_ELBV2_PERMISSION_PROPAGATION_DELAY": "2s"}})
	if err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: DefaultFunctionName, TimeoutSec: 30, MemoryMB: 128, Env: proxyEnv},
		localawstest.BuildFunction(t, "../../functions/proxy")); err != nil {
		t.Fatal(err)
	}
	url, err := b.Proxy().Listen("step")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := localaws.ConfigFor(ctx, url, b.Region())
	if err != nil {
		t.Fatal(err)
	}
	in := step.Input{Spec: spec.LoadBalancerSpec{Name: "web", Region: b.Region(), Domain: "autostop.example.test"}, Execution: "exec-1"}

	start := time.Now()
	res, err := Ensure(ctx, NewClients(cfg, b.Region()), Config{PermissionPoll: 200 * time.Millisecond}, in)
	if err != nil {
		t.Fatalf("Ensure right after adding the permission: %v", err)
	}
	if got := actions(res); got[KindTarget] != step.Created || got[KindPermission] != step.Created {
		t.Errorf("actions %v: want the permission and the target created", got)
	}
	denied := 0
	for _, c := range settledCalls(b.Proxy()) {
		if c.Operation == "RegisterTargets" && c.Status >= 400 {
			denied++
		}
	}
	if denied == 0 {
		t.Errorf("RegisterTargets never refused: is realistic timing on?")
	}
	t.Logf("registered after %d refusals, %v", denied, time.Since(start).Round(100*time.Millisecond))

	// A permission that never reaches ELB: AccessDenied once PermissionWait
	// is over (and the statement was ensured once more, found in place).
	// The shared statement is removed first, so that web2's run adds it.
	direct, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lambda.NewFromConfig(direct).RemovePermission(ctx, &lambda.RemovePermissionInput{
		FunctionName: aws.String(DefaultFunctionName), Qualifier: aws.String(AliasName), StatementId: aws.String(SharedStatementID),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Ensure(ctx, NewClients(cfg, b.Region()), Config{PermissionWait: time.Nanosecond}, step.Input{
		Spec: spec.LoadBalancerSpec{Name: "web2", Region: b.Region(), Domain: "autostop.example.test"}, Execution: "exec-2",
	})
	var denial *steperr.AccessDenied
	if mapped := steperr.Map(err); !errors.As(mapped, &denial) {
		t.Errorf("with no time to propagate: %v (%T), want AccessDenied", err, mapped)
	}
}

// removesFirst is an ELBv2 client whose first RegisterTargets call is
// preceded by a concurrent rollback's removal of the shared statement.
type removesFirst struct {
	*elbv2.Client
	lc   *lambda.Client
	done bool
}

func (c *removesFirst) RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	if !c.done {
		c.done = true
		if _, err := c.lc.RemovePermission(ctx, &lambda.RemovePermissionInput{
			FunctionName: aws.String(DefaultFunctionName), Qualifier: aws.String(AliasName), StatementId: aws.String(SharedStatementID),
		}); err != nil {
			return nil, err
		}
	}
	return c.Client.RegisterTargets(ctx, in, optFns...)
}

// createsFirst is a Lambda client whose RemovePermission of the shared
// statement is preceded by a concurrent execution creating its proxy
// target group (for load balancer lb).
type createsFirst struct {
	*lambda.Client
	elb *elbv2.Client
	lb  string
}

func (c *createsFirst) RemovePermission(ctx context.Context, in *lambda.RemovePermissionInput, optFns ...func(*lambda.Options)) (*lambda.RemovePermissionOutput, error) {
	if aws.ToString(in.StatementId) == SharedStatementID && c.lb != "" {
		var tags []elbtypes.Tag
		for k, v := range ownership.Tags(c.lb, "exec-late", nil) {
			tags = append(tags, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		if _, err := c.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(TargetGroupName(c.lb)), TargetType: elbtypes.TargetTypeEnumLambda, Tags: tags,
		}); err != nil {
			return nil, err
		}
		c.lb = ""
	}
	return c.Client.RemovePermission(ctx, in, optFns...)
}

// TestSharedStatementRacesOnLocalBackend: with realistic timing (kumo patch
// 0027: a Lambda target is AccessDenied for 2 s after the statement that
// allows it was added), the two races between a load balancer's Ensure and
// the rollback of the region's last other proxy target group.
func TestSharedStatementRacesOnLocalBackend(t *testing.T) {
	ctx := t.Context()
	b := localawstest.StartWith(t, localaws.Options{RealisticTiming: true, KumoEnv: map[string]string{"KUMO_ELBV2_PERMISSION_PROPAGATION_DELAY": "2s"}})
	if err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: DefaultFunctionName, TimeoutSec: 30, MemoryMB: 128, Env: proxyEnv},
		localawstest.BuildFunction(t, "../../functions/proxy")); err != nil {
		t.Fatal(err)
	}
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	elb, lc := elbv2.NewFromConfig(cfg), lambda.NewFromConfig(cfg)
	clients := NewClients(cfg, b.Region())
	pcfg := Config{PermissionPoll: 200 * time.Millisecond, DeleteAttempts: 2, DeleteBackoff: 10 * time.Millisecond}
	in := func(lb, execution string) step.Input {
		return step.Input{Spec: spec.LoadBalancerSpec{Name: lb, Region: b.Region(), Domain: "autostop.example.test"}, Execution: execution}
	}
	web, err := Ensure(ctx, clients, pcfg, in("web", "exec-1"))
	if err != nil {
		t.Fatalf("Ensure web: %v", err)
	}

	// 1. The statement is removed after api's run read it, before its
	// RegisterTargets: AccessDenied; Ensure adds it again and waits for it.
	racy := Clients{ELBv2: &removesFirst{Client: elb, lc: lc}, Lambda: lc}
	api, err := Ensure(ctx, racy, pcfg, in("api", "exec-2"))
	if err != nil {
		t.Fatalf("Ensure api with the statement removed meanwhile: %v", err)
	}
	if got := actions(api); got[KindPermission] != step.Created || got[KindTarget] != step.Created {
		t.Errorf("api actions %v: want the permission created (put back) and the target created", got)
	}
	if got := targets(t, elb, api.TargetGroupARN); !slices.Equal(got, []string{api.AliasARN}) {
		t.Errorf("api targets = %v", got)
	}

	// 2. The rollback of api (web is gone meanwhile, so api's is the last
	// proxy target group) removes the statement; a concurrent execution
	// created its target group just before: the statement is put back, and
	// that execution's RegisterTargets is accepted once it has propagated.
	if deleted, left, err := DeleteCreatedBy(ctx, clients, pcfg, "web", "exec-1"); err != nil || len(left) != 0 || len(deleted) != 3 {
		t.Fatalf("DeleteCreatedBy web: deleted %v left %v err %v", deleted, left, err)
	}
	racy = Clients{ELBv2: elb, Lambda: &createsFirst{Client: lc, elb: elb, lb: "late"}}
	deleted, left, err := DeleteCreatedBy(ctx, racy, pcfg, "api", "exec-2")
	if err != nil || len(left) != 0 {
		t.Fatalf("DeleteCreatedBy api: left %v err %v", left, err)
	}
	if last := deleted[len(deleted)-1]; last.Kind != KindPermission || last.Action != ActionKept {
		t.Errorf("deleted %v: want the shared statement kept (put back)", deleted)
	}
	checkStatement(t, lc, SharedStatementID, "arn:aws:elasticloadbalancing:"+b.Region()+":"+localaws.AccountID+":targetgroup/*-proxy/*", localaws.AccountID, web.AliasARN)
	late, err := Ensure(ctx, clients, pcfg, in("late", "exec-late"))
	if err != nil {
		t.Fatalf("Ensure late: %v", err)
	}
	if got := targets(t, elb, late.TargetGroupARN); !slices.Equal(got, []string{late.AliasARN}) {
		t.Errorf("late targets = %v", got)
	}
}
