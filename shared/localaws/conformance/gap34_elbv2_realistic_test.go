package conformance

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 34: ELBv2 checks what AWS checks before a resource is used. Always: a
// target group that a listener's default action or a rule forwards to
// (weighted forward configs included) cannot be deleted (ResourceInUse)
// until the listener, the rule or the load balancer is gone; an HTTPS
// listener needs exactly one certificate (ValidationError "A certificate
// must be specified for HTTPS listeners", TooManyCertificates), an issued
// one (CertificateNotFound for a PENDING_VALIDATION certificate); a Lambda
// function registered in a target group must let
// elasticloadbalancing.amazonaws.com invoke it for that target group
// (AccessDenied). Without realistic timing a new load balancer is active at
// once.
func TestGap34ELBv2Readiness(t *testing.T) {
	b := localawstest.Start(t)
	env := gap34Env(t, b)
	ctx := t.Context()

	t.Run("load balancer active at once", func(t *testing.T) {
		lb := env.createLoadBalancer(t, gap34LoadBalancer("gap34-now"))
		if got := gap34State(ctx, t, env.elb, aws.ToString(lb.LoadBalancerArn)); got != elbtypes.LoadBalancerStateEnumActive {
			t.Errorf("State.Code right after CreateLoadBalancer = %q, want active (realistic timing off)", got)
		}
	})

	t.Run("target group in use", func(t *testing.T) {
		lbARN := aws.ToString(env.createLoadBalancer(t, gap34LoadBalancer("gap34-inuse")).LoadBalancerArn)
		tg := func(name string) string {
			return aws.ToString(env.createTargetGroup(t, &elb.CreateTargetGroupInput{
				Name: aws.String(name), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
				VpcId: aws.String("vpc-0a"), TargetType: elbtypes.TargetTypeEnumIp,
			}).TargetGroupArn)
		}
		byDefault, byRule, byWeight, free := tg("gap34-default"), tg("gap34-rule"), tg("gap34-weight"), tg("gap34-free")

		http80 := env.createListener(t, &elb.CreateListenerInput{
			LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(byDefault)}},
		})
		http81 := env.createListener(t, &elb.CreateListenerInput{
			LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(81),
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}},
		})
		rule := env.createRule(t, &elb.CreateRuleInput{
			ListenerArn: http80.ListenerArn, Priority: aws.Int32(10),
			Conditions: []elbtypes.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"rule.example.com"}}}},
			Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(byRule)}},
		})
		env.createRule(t, &elb.CreateRuleInput{
			ListenerArn: http81.ListenerArn, Priority: aws.Int32(10),
			Conditions: []elbtypes.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"weight.example.com"}}}},
			Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
				TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(byWeight), Weight: aws.Int32(1)}},
			}}},
		})

		deleteTG := func(arn string) error {
			_, err := env.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
			return err
		}
		for name, arn := range map[string]string{"default action": byDefault, "rule": byRule, "weighted forward rule": byWeight} {
			err := deleteTG(arn)
			var inUse *elbtypes.ResourceInUseException
			if !errors.As(err, &inUse) || !strings.Contains(err.Error(), "is currently in use by a listener or a rule") {
				t.Errorf("DeleteTargetGroup of the %s's target group: got %v, want ResourceInUse (currently in use by a listener or a rule)", name, err)
			}
		}
		if err := deleteTG(free); err != nil {
			t.Errorf("DeleteTargetGroup of an unused target group: %v", err)
		}

		if _, err := env.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: rule.RuleArn}); err != nil {
			t.Fatalf("DeleteRule: %v", err)
		}
		if err := deleteTG(byRule); err != nil {
			t.Errorf("DeleteTargetGroup after DeleteRule: %v", err)
		}
		if _, err := env.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lbARN)}); err != nil {
			t.Fatalf("DeleteLoadBalancer: %v", err)
		}
		for name, arn := range map[string]string{"default action": byDefault, "weighted forward rule": byWeight} {
			if err := deleteTG(arn); err != nil {
				t.Errorf("DeleteTargetGroup of the %s's target group after DeleteLoadBalancer: %v", name, err)
			}
		}
	})

	t.Run("HTTPS listener certificate", func(t *testing.T) {
		lbARN := aws.String(aws.ToString(env.createLoadBalancer(t, gap34LoadBalancer("gap34-tls")).LoadBalancerArn))
		issued := env.importCertificate(t, "gap34.example.com")
		other := env.importCertificate(t, "gap34-other.example.com")
		pending, err := env.acm.RequestCertificate(ctx, &acm.RequestCertificateInput{
			DomainName: aws.String("gap34-pending.example.com"), ValidationMethod: acmtypes.ValidationMethodDns,
		})
		if err != nil {
			t.Fatalf("RequestCertificate: %v", err)
		}
		notFound := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}}
		https := func(port int32, certs ...string) *elb.CreateListenerInput {
			in := &elb.CreateListenerInput{LoadBalancerArn: lbARN, Protocol: elbtypes.ProtocolEnumHttps, Port: aws.Int32(port), DefaultActions: notFound}
			for _, c := range certs {
				in.Certificates = append(in.Certificates, elbtypes.Certificate{CertificateArn: aws.String(c)})
			}
			return in
		}

		tests := []struct {
			name string
			in   *elb.CreateListenerInput
			want string // error code, "" for success
		}{
			{"no certificate", https(8441), "ValidationError"},
			{"two certificates", https(8442, issued, other), "TooManyCertificates"},
			{"PENDING_VALIDATION certificate", https(8443, aws.ToString(pending.CertificateArn)), "CertificateNotFound"},
			{"one issued certificate", https(443, issued), ""},
		}
		for _, tt := range tests {
			_, err := env.elb.CreateListener(ctx, tt.in)
			if got := errorCode(err); got != tt.want {
				t.Errorf("CreateListener HTTPS with %s: got %v, want %q", tt.name, err, tt.want)
			}
			if tt.want == "ValidationError" && (err == nil || !strings.Contains(err.Error(), "A certificate must be specified for HTTPS listeners")) {
				t.Errorf("CreateListener HTTPS with %s: message %v, want \"A certificate must be specified for HTTPS listeners\"", tt.name, err)
			}
		}

		plain := env.createListener(t, &elb.CreateListenerInput{LoadBalancerArn: lbARN, Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: notFound})
		_, err = env.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: plain.ListenerArn, Protocol: elbtypes.ProtocolEnumHttps, Port: aws.Int32(9443)})
		if got := errorCode(err); got != "ValidationError" {
			t.Errorf("ModifyListener HTTP -> HTTPS without a certificate: got %v, want ValidationError", err)
		}
		if _, err := env.elb.ModifyListener(ctx, &elb.ModifyListenerInput{
			ListenerArn: plain.ListenerArn, Protocol: elbtypes.ProtocolEnumHttps, Port: aws.Int32(9443),
			Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(other)}},
		}); err != nil {
			t.Errorf("ModifyListener HTTP -> HTTPS with an issued certificate: %v", err)
		}
	})

	t.Run("Lambda target invoke permission", func(t *testing.T) {
		fnARN := gap34CreateFunction(ctx, t, env.lambda, "gap34-fn")
		tgARN := aws.ToString(env.createTargetGroup(t, &elb.CreateTargetGroupInput{Name: aws.String("gap34-fn"), TargetType: elbtypes.TargetTypeEnumLambda}).TargetGroupArn)
		otherTG := aws.ToString(env.createTargetGroup(t, &elb.CreateTargetGroupInput{Name: aws.String("gap34-other-fn"), TargetType: elbtypes.TargetTypeEnumLambda}).TargetGroupArn)
		register := func() error {
			_, err := env.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: []elbtypes.TargetDescription{{Id: aws.String(fnARN)}}})
			return err
		}
		wantDenied := func(when string) {
			t.Helper()
			err := register()
			if errorCode(err) != "AccessDenied" || !strings.Contains(err.Error(), "elasticloadbalancing principal does not have permission to invoke "+fnARN+" from target group "+tgARN) {
				t.Errorf("RegisterTargets %s: got %v, want AccessDenied (elasticloadbalancing principal does not have permission to invoke …)", when, err)
			}
		}

		wantDenied("without a resource policy")
		gap34AddPermission(ctx, t, env.lambda, "gap34-fn", "other-tg", otherTG)
		wantDenied("with a permission for another target group")
		gap34AddPermission(ctx, t, env.lambda, "gap34-fn", "this-tg", tgARN)
		if err := register(); err != nil {
			t.Errorf("RegisterTargets with a permission for this target group: %v", err)
		}
	})
}

// Gap 34 with realistic timing (KUMO_REALISTIC_TIMING=1, default delays): a
// new load balancer is provisioning for 3 s before it is active (the SDK's
// LoadBalancerAvailable waiter waits through it); a freshly issued
// certificate is CertificateNotFound for 2 s; a freshly added invoke
// permission leaves RegisterTargets AccessDenied for 2 s.
func TestGap34ELBv2RealisticTiming(t *testing.T) {
	b := localawstest.StartWith(t, localaws.Options{RealisticTiming: true})
	env := gap34Env(t, b)
	ctx := t.Context()

	t.Run("load balancer provisioning", func(t *testing.T) {
		start := time.Now()
		lb := env.createLoadBalancer(t, gap34LoadBalancer("gap34-slow"))
		arn := aws.ToString(lb.LoadBalancerArn)
		if lb.State == nil || lb.State.Code != elbtypes.LoadBalancerStateEnumProvisioning {
			t.Errorf("CreateLoadBalancer State = %+v, want provisioning", lb.State)
		}
		if got := gap34State(ctx, t, env.elb, arn); got != elbtypes.LoadBalancerStateEnumProvisioning {
			t.Errorf("DescribeLoadBalancers right after creation: %q, want provisioning", got)
		}
		waiter := elb.NewLoadBalancerAvailableWaiter(env.elb, func(o *elb.LoadBalancerAvailableWaiterOptions) {
			o.MinDelay, o.MaxDelay = 200*time.Millisecond, time.Second
		})
		if err := waiter.Wait(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}}, 15*time.Second); err != nil {
			t.Fatalf("LoadBalancerAvailable waiter: %v", err)
		}
		if took := time.Since(start); took < 2500*time.Millisecond || took > 8*time.Second {
			t.Errorf("active after %v, want about 3 s", took)
		}
	})

	t.Run("certificate propagation", func(t *testing.T) {
		lbARN := env.createLoadBalancer(t, gap34LoadBalancer("gap34-cert")).LoadBalancerArn
		imported := time.Now()
		issued := env.importCertificate(t, "gap34-fresh.example.com")
		in := &elb.CreateListenerInput{
			LoadBalancerArn: lbARN, Protocol: elbtypes.ProtocolEnumHttps, Port: aws.Int32(443),
			Certificates:   []elbtypes.Certificate{{CertificateArn: aws.String(issued)}},
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}},
		}
		retryUntilClears(t, "CreateListener with a fresh certificate", "CertificateNotFound", func() error {
			_, err := env.elb.CreateListener(ctx, in)
			return err
		})
		if took := time.Since(imported); took < 1500*time.Millisecond || took > 6*time.Second {
			t.Errorf("CreateListener succeeded %v after ImportCertificate, want about 2 s", took)
		}
	})

	t.Run("invoke permission propagation", func(t *testing.T) {
		fnARN := gap34CreateFunction(ctx, t, env.lambda, "gap34-slow-fn")
		tgARN := env.createTargetGroup(t, &elb.CreateTargetGroupInput{Name: aws.String("gap34-slow-fn"), TargetType: elbtypes.TargetTypeEnumLambda}).TargetGroupArn
		added := time.Now()
		gap34AddPermission(ctx, t, env.lambda, "gap34-slow-fn", "elb", aws.ToString(tgARN))
		retryUntilClears(t, "RegisterTargets after AddPermission", "AccessDenied", func() error {
			_, err := env.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: tgARN, Targets: []elbtypes.TargetDescription{{Id: aws.String(fnARN)}}})
			return err
		})
		if took := time.Since(added); took < 1500*time.Millisecond || took > 6*time.Second {
			t.Errorf("RegisterTargets succeeded %v after AddPermission, want about 2 s", took)
		}
	})
}

type gap34Clients struct {
	*elbv2Env
	lambda *lambda.Client
}

func gap34Env(t *testing.T, b *localaws.Backend) *gap34Clients {
	t.Helper()
	cfg, err := b.AWSConfig(t.Context())
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return &gap34Clients{
		elbv2Env: &elbv2Env{elb: elb.NewFromConfig(cfg), acm: acm.NewFromConfig(cfg), region: b.Region()},
		lambda:   lambda.NewFromConfig(cfg),
	}
}

func gap34LoadBalancer(name string) *elb.CreateLoadBalancerInput {
	return &elb.CreateLoadBalancerInput{
		Name: aws.String(name), Type: elbtypes.LoadBalancerTypeEnumApplication,
		Subnets: []string{"subnet-0a", "subnet-0b"}, SecurityGroups: []string{"sg-0a"},
	}
}

func gap34State(ctx context.Context, t *testing.T, c *elb.Client, arn string) elbtypes.LoadBalancerStateEnum {
	t.Helper()
	out, err := c.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil || len(out.LoadBalancers) != 1 || out.LoadBalancers[0].State == nil {
		t.Fatalf("DescribeLoadBalancers %s: %+v, %v", arn, out, err)
	}
	return out.LoadBalancers[0].State.Code
}

func gap34CreateFunction(ctx context.Context, t *testing.T, c *lambda.Client, name string) string {
	t.Helper()
	out, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Role: aws.String(localaws.LambdaRoleARN), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("gap34")},
	})
	if err != nil {
		t.Fatalf("CreateFunction %s: %v", name, err)
	}
	return aws.ToString(out.FunctionArn)
}

func gap34AddPermission(ctx context.Context, t *testing.T, c *lambda.Client, fn, sid, sourceARN string) {
	t.Helper()
	if _, err := c.AddPermission(ctx, &lambda.AddPermissionInput{
		FunctionName: aws.String(fn), StatementId: aws.String(sid), Action: aws.String("lambda:InvokeFunction"),
		Principal: aws.String("elasticloadbalancing.amazonaws.com"), SourceArn: aws.String(sourceARN),
	}); err != nil {
		t.Fatalf("AddPermission %s: %v", sid, err)
	}
}
