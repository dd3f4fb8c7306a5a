package proxytarget

import (
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

	// Permission on the alias, conditioned on the target group.
	checkStatement(t, lc, "autostop-web", res.TargetGroupARN, res.AliasARN)
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

	// 4. Another load balancer shares the function, version and alias.
	api, err := Ensure(ctx, clients, cfg, in("api", "exec-2"))
	if err != nil {
		t.Fatalf("Ensure api: %v", err)
	}
	if api.AliasARN != res.AliasARN || api.Version != res.Version || api.TargetGroupARN == res.TargetGroupARN {
		t.Errorf("api result %+v: want the same alias and version, its own target group", api)
	}

	// 5. A later execution of "web" adopts; its rollback deletes nothing.
	reset()
	adopted, err := Ensure(ctx, clients, cfg, in("web", "exec-3"))
	if err != nil || adopted.TargetGroupARN != res.TargetGroupARN || actions(adopted)[KindTargetGroup] != step.Adopted {
		t.Errorf("Ensure web by exec-3: %+v, %v; want the target group adopted", adopted, err)
	}
	deleted, left, err := DeleteCreatedBy(ctx, clients, cfg, "web", "exec-3")
	if err != nil || len(deleted) != 0 || len(left) != 0 {
		t.Errorf("DeleteCreatedBy exec-3: deleted %v left %v err %v; want nothing", deleted, left, err)
	}
	if _, mutating := stepCalls(); len(mutating) != 0 {
		t.Errorf("adopting run and its rollback made mutating calls %v", mutating)
	}

	// 6. The rollback of exec-1 removes its target group and permission
	// (the first delete answered ResourceInUse, as AWS does while a listener
	// still forwards to it: retried), never the function, alias or version.
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
		{Kind: KindPermission, ID: res.AliasARN + "#autostop-web", Action: step.Deleted},
		{Kind: KindTargetGroup, ID: res.TargetGroupARN, Action: step.Deleted},
	}
	if !slices.Equal(deleted, want) {
		t.Errorf("deleted = %v, want %v", deleted, want)
	}
	_, mutating = stepCalls()
	if wantMut := []string{"DeregisterTargets", "RemovePermission", "DeleteTargetGroup", "DeleteTargetGroup"}; !slices.Equal(mutating, wantMut) {
		t.Errorf("rollback mutating calls = %v, want %v", mutating, wantMut)
	}

	if _, err := elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{"web-proxy"}}); !steperr.HasCode(err, codeTGNotFound) {
		t.Errorf("web-proxy after rollback: %v, want TargetGroupNotFound", err)
	}
	if stmt, err := findStatement(ctx, lc, DefaultFunctionName, "autostop-web"); err != nil || stmt != nil {
		t.Errorf("statement autostop-web after rollback: %+v, %v", stmt, err)
	}
	if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(DefaultFunctionName), Qualifier: aws.String("live")}); err != nil {
		t.Errorf("alias live after rollback: %v", err)
	}
	if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(DefaultFunctionName), Qualifier: aws.String(res.Version)}); err != nil {
		t.Errorf("version %s after rollback: %v", res.Version, err)
	}
	// The other load balancer's target group and statement are untouched.
	checkStatement(t, lc, "autostop-api", api.TargetGroupARN, api.AliasARN)
	if got := targets(t, elb, api.TargetGroupARN); !slices.Equal(got, []string{api.AliasARN}) {
		t.Errorf("api targets after web's rollback = %v", got)
	}

	// A second rollback finds nothing left to do.
	deleted, left, err = DeleteCreatedBy(ctx, clients, cfg, "web", "exec-1")
	if err != nil || len(deleted) != 0 || len(left) != 0 {
		t.Errorf("second rollback: deleted %v left %v err %v", deleted, left, err)
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

// checkStatement checks the alias policy's statement sid as AWS writes it:
// ELB service principal, lambda:InvokeFunction on the alias, ArnLike
// AWS:SourceArn = the target group.
func checkStatement(t *testing.T, lc *lambda.Client, sid, tgARN, aliasARN string) {
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
			s.Resource != aliasARN || s.Condition["ArnLike"]["AWS:SourceArn"] != tgARN {
			t.Errorf("statement %s = %+v; want ELB allowed to invoke %s from %s", sid, s, aliasARN, tgARN)
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

	// A permission that never reaches ELB: AccessDenied once PermissionWait is over.
	_, err = Ensure(ctx, NewClients(cfg, b.Region()), Config{PermissionWait: time.Nanosecond}, step.Input{
		Spec: spec.LoadBalancerSpec{Name: "web2", Region: b.Region(), Domain: "autostop.example.test"}, Execution: "exec-2",
	})
	var denial *steperr.AccessDenied
	if mapped := steperr.Map(err); !errors.As(mapped, &denial) {
		t.Errorf("with no time to propagate: %v (%T), want AccessDenied", err, mapped)
	}
}
