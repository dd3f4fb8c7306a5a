package localalb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// TestFrontOnLocalBackend builds a load balancer in kumo with the SDK (an
// HTTP:80 listener forwarding by default to a Lambda target group whose
// target is a real function binary behind alias "live", a host rule with a
// fixed response, a wildcard host rule forwarding to a multi-value Lambda
// target group) and sends requests through the front.
func TestFrontOnLocalBackend(t *testing.T) {
	ctx := t.Context()
	seeded := localawstest.StartSeeded(t, "test")
	b, cfg, env := seeded.Backend, seeded.Direct, seeded.Env

	bin := localawstest.BuildFunction(t, "./testdata/albecho")
	if err := b.DeployFunction(ctx, localaws.FunctionConfig{Name: "alb-echo", TimeoutSec: 10, MemoryMB: 128}, bin); err != nil {
		t.Fatal(err)
	}
	lc := lambda.NewFromConfig(cfg)
	v, err := lc.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("alb-echo")})
	if err != nil {
		t.Fatalf("publish version: %v", err)
	}
	alias, err := lc.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("alb-echo"), Name: aws.String("live"), FunctionVersion: v.Version})
	if err != nil {
		t.Fatalf("create alias: %v", err)
	}
	fnARN := aws.ToString(alias.AliasArn) // …:function:alb-echo:live

	api := elbv2.NewFromConfig(cfg)
	lb, err := api.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("front-test"), Type: types.LoadBalancerTypeEnumApplication, Scheme: types.LoadBalancerSchemeEnumInternetFacing,
		Subnets: env.SubnetIDs, SecurityGroups: []string{env.WebSGID},
	})
	if err != nil {
		t.Fatalf("create load balancer: %v", err)
	}
	lbARN := aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)

	lambdaTG := func(name string, multiValue bool) string {
		t.Helper()
		tg, err := api.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(name), TargetType: types.TargetTypeEnumLambda})
		if err != nil {
			t.Fatalf("create target group %s: %v", name, err)
		}
		arn := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
		if multiValue {
			if _, err := api.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn),
				Attributes: []types.TargetGroupAttribute{{Key: aws.String(MultiValueHeadersAttr), Value: aws.String("true")}}}); err != nil {
				t.Fatalf("enable multi-value headers: %v", err)
			}
		}
		allowELB(t, lc, fnARN, arn)
		if _, err := api.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(arn),
			Targets: []types.TargetDescription{{Id: aws.String(fnARN)}}}); err != nil {
			t.Fatalf("register %s: %v", fnARN, err)
		}
		return arn
	}
	singleTG, multiTG := lambdaTG("front-test-proxy", false), lambdaTG("front-test-multi", true)

	l, err := api.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80),
		DefaultActions: []types.Action{{Type: types.ActionTypeEnumForward, TargetGroupArn: aws.String(singleTG)}}})
	if err != nil {
		t.Fatalf("create listener: %v", err)
	}
	listenerARN := l.Listeners[0].ListenerArn
	rules := []elbv2.CreateRuleInput{
		{Priority: aws.Int32(10), Conditions: []types.RuleCondition{{Field: aws.String("host-header"),
			HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"fixed.autostop.example.test"}}}},
			Actions: []types.Action{{Type: types.ActionTypeEnumFixedResponse, FixedResponseConfig: &types.FixedResponseActionConfig{
				StatusCode: aws.String("200"), ContentType: aws.String("text/plain"), MessageBody: aws.String("fixed answer")}}}},
		{Priority: aws.Int32(20), Conditions: []types.RuleCondition{{Field: aws.String("host-header"),
			HostHeaderConfig: &types.HostHeaderConditionConfig{Values: []string{"multi.*.example.test"}}}},
			Actions: []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: &types.ForwardActionConfig{
				TargetGroups: []types.TargetGroupTuple{{TargetGroupArn: aws.String(multiTG)}}}}}},
	}
	for _, r := range rules {
		r.ListenerArn = listenerARN
		if _, err := api.CreateRule(ctx, &r); err != nil {
			t.Fatalf("create rule %d: %v", aws.ToInt32(r.Priority), err)
		}
	}

	front, err := New(NewClients(cfg), Config{LoadBalancerARN: lbARN, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, front)
	port := strconv.Itoa(srv.Port())

	send := func(t *testing.T, method, host, path string, body []byte, header http.Header) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, srv.URL()+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		for k, vs := range header {
			req.Header[k] = vs
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s (Host %s): %v", method, path, host, err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, out
	}
	event := func(t *testing.T, resp *http.Response, body []byte) events.ALBTargetGroupRequest {
		t.Helper()
		if resp.StatusCode != 200 || resp.Header.Get("X-Function") != "alb-echo" {
			t.Fatalf("status %d, X-Function %q, body %s; want the function's echo", resp.StatusCode, resp.Header.Get("X-Function"), body)
		}
		var ev events.ALBTargetGroupRequest
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("decode the echoed event %s: %v", body, err)
		}
		return ev
	}

	t.Run("default action invokes the function with the ALB event", func(t *testing.T) {
		resp, body := send(t, "GET", "demo.autostop.example.test.localhost:"+port, "/hello/world?a=1&a=2&b=x%20y", nil,
			http.Header{"X-Test": {"one"}, "Accept": {"text/html"}})
		ev := event(t, resp, body)
		if ev.HTTPMethod != "GET" || ev.Path != "/hello/world" || ev.RequestContext.ELB.TargetGroupArn != singleTG || ev.IsBase64Encoded || ev.Body != "" {
			t.Errorf("event = %+v", ev)
		}
		if want := map[string]string{"a": "2", "b": "x%20y"}; !reflect.DeepEqual(ev.QueryStringParameters, want) {
			t.Errorf("query = %v, want %v", ev.QueryStringParameters, want)
		}
		for k, want := range map[string]string{"host": "demo.autostop.example.test", "x-test": "one", "accept": "text/html",
			"x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http", "x-forwarded-port": "80"} {
			if ev.Headers[k] != want {
				t.Errorf("header %s = %q, want %q", k, ev.Headers[k], want)
			}
		}
		if ev.Headers["x-amzn-trace-id"] == "" || ev.MultiValueHeaders != nil {
			t.Errorf("headers = %v, multi-value %v", ev.Headers, ev.MultiValueHeaders)
		}
	})

	t.Run("host rule answers its fixed response", func(t *testing.T) {
		for _, host := range []string{"fixed.autostop.example.test", "FIXED.autostop.example.test.localhost:" + port} {
			resp, body := send(t, "GET", host, "/", nil, nil)
			if resp.StatusCode != 200 || string(body) != "fixed answer" || resp.Header.Get("Content-Type") != "text/plain" {
				t.Errorf("Host %s: %d %q %q", host, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
	})

	t.Run("wildcard host rule to a multi-value target group", func(t *testing.T) {
		payload := []byte{0, 1, 2, 0xff}
		resp, body := send(t, "POST", "multi.autostop.example.test.localhost:"+port, "/up?k=1&k=2", payload,
			http.Header{"Content-Type": {"application/octet-stream"}, "X-Many": {"a", "b"}})
		ev := event(t, resp, body)
		if ev.RequestContext.ELB.TargetGroupArn != multiTG || ev.Headers != nil || ev.QueryStringParameters != nil {
			t.Errorf("event = %+v", ev)
		}
		if !reflect.DeepEqual(ev.MultiValueQueryStringParameters["k"], []string{"1", "2"}) || !reflect.DeepEqual(ev.MultiValueHeaders["x-many"], []string{"a", "b"}) {
			t.Errorf("multi-value query %v, headers %v", ev.MultiValueQueryStringParameters, ev.MultiValueHeaders)
		}
		if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString(payload) {
			t.Errorf("body %q (base64 %v)", ev.Body, ev.IsBase64Encoded)
		}
		if got := resp.Header.Values("X-Echo"); !reflect.DeepEqual(got, []string{"1", "2"}) {
			t.Errorf("multi-value response header X-Echo = %q", got)
		}
	})
}

// allowELB lets the target group invoke the function (or alias) fnARN, as
// RegisterTargets of a Lambda target requires (kumo gap 34, as AWS).
func allowELB(t *testing.T, lc *lambda.Client, fnARN, tgARN string) {
	t.Helper()
	name := fnARN[strings.Index(fnARN, ":function:")+len(":function:"):]
	fn, qualifier, _ := strings.Cut(name, ":")
	in := &lambda.AddPermissionInput{
		FunctionName: aws.String(fn), StatementId: aws.String("elb-" + tgARN[strings.LastIndex(tgARN, "/")+1:]),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("elasticloadbalancing.amazonaws.com"), SourceArn: aws.String(tgARN),
	}
	if qualifier != "" {
		in.Qualifier = aws.String(qualifier)
	}
	if _, err := lc.AddPermission(t.Context(), in); err != nil {
		t.Fatalf("allow %s to invoke %s: %v", tgARN, fnARN, err)
	}
}
