package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 6: ELBv2 behaves like AWS where the project depends on it: idempotent
// creates by name, listener TLS settings and action configs stored and
// returned, certificate ARNs checked against ACM, duplicate ports and rule
// priorities rejected, Describe of missing resources failing, and
// idempotent deletes. Every error must reach the SDK as its typed exception.
func TestGap06ELBv2AWSSemantics(t *testing.T) {
	env := startELBv2(t)
	ctx := t.Context()

	certARN := env.importCertificate(t, "gap06.example.com")
	otherCertARN := env.importCertificate(t, "gap06-other.example.com")
	missingCertARN := "arn:aws:acm:" + env.region + ":" + localaws.AccountID + ":certificate/00000000-0000-4000-8000-000000000000"

	lbInput := func() *elb.CreateLoadBalancerInput {
		return &elb.CreateLoadBalancerInput{
			Name:           aws.String("gap06-alb"),
			Type:           elbtypes.LoadBalancerTypeEnumApplication,
			Scheme:         elbtypes.LoadBalancerSchemeEnumInternetFacing,
			IpAddressType:  elbtypes.IpAddressTypeIpv4,
			Subnets:        []string{"subnet-0a", "subnet-0b"},
			SecurityGroups: []string{"sg-0a"},
		}
	}
	tgInput := func() *elb.CreateTargetGroupInput {
		return &elb.CreateTargetGroupInput{
			Name:            aws.String("gap06-tg"),
			Protocol:        elbtypes.ProtocolEnumHttp,
			Port:            aws.Int32(8080),
			VpcId:           aws.String("vpc-0a"),
			TargetType:      elbtypes.TargetTypeEnumIp,
			HealthCheckPath: aws.String("/healthz"),
		}
	}

	lb := env.createLoadBalancer(t, lbInput())
	lbARN := aws.ToString(lb.LoadBalancerArn)
	tg := env.createTargetGroup(t, tgInput())
	tgARN := aws.ToString(tg.TargetGroupArn)

	redirectToHTTPS := []elbtypes.Action{{
		Type: elbtypes.ActionTypeEnumRedirect,
		RedirectConfig: &elbtypes.RedirectActionConfig{
			Protocol:   aws.String("HTTPS"),
			Port:       aws.String("443"),
			StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301,
		},
	}}
	notFound := []elbtypes.Action{{
		Type: elbtypes.ActionTypeEnumFixedResponse,
		FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode:  aws.String("404"),
			ContentType: aws.String("text/plain"),
			MessageBody: aws.String("no such host"),
		},
	}}

	httpListener := env.createListener(t, &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(lbARN),
		Protocol:        elbtypes.ProtocolEnumHttp,
		Port:            aws.Int32(80),
		DefaultActions:  redirectToHTTPS,
	})
	httpsListener := env.createListener(t, &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(lbARN),
		Protocol:        elbtypes.ProtocolEnumHttps,
		Port:            aws.Int32(443),
		SslPolicy:       aws.String("ELBSecurityPolicy-TLS13-1-2-2021-06"),
		Certificates:    []elbtypes.Certificate{{CertificateArn: aws.String(certARN)}},
		DefaultActions:  notFound,
	})
	httpsListenerARN := aws.ToString(httpsListener.ListenerArn)

	rule := env.createRule(t, &elb.CreateRuleInput{
		ListenerArn: aws.String(httpsListenerARN),
		Priority:    aws.Int32(10),
		Conditions:  []elbtypes.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"app.example.com"}}}},
		Actions: []elbtypes.Action{{
			Type: elbtypes.ActionTypeEnumForward,
			ForwardConfig: &elbtypes.ForwardActionConfig{
				TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String(tgARN), Weight: aws.Int32(1)}},
			},
		}},
	})
	fixedRule := env.createRule(t, &elb.CreateRuleInput{
		ListenerArn: aws.String(httpsListenerARN),
		Priority:    aws.Int32(20),
		Conditions:  []elbtypes.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"stopped.example.com"}}}},
		Actions:     notFound,
	})

	t.Run("idempotent create by name", func(t *testing.T) {
		tests := []struct {
			name    string
			call    func() (string, error)
			wantARN string          // the existing resource, when the settings match
			wantErr elbv2ErrorCheck // the typed error, when they differ
		}{
			{
				name:    "load balancer, same settings",
				call:    func() (string, error) { return createLBArn(ctx, env.elb, lbInput()) },
				wantARN: lbARN,
			},
			{
				name: "load balancer, other scheme",
				call: func() (string, error) {
					in := lbInput()
					in.Scheme = elbtypes.LoadBalancerSchemeEnumInternal
					return createLBArn(ctx, env.elb, in)
				},
				wantErr: elbv2Err[*elbtypes.DuplicateLoadBalancerNameException](),
			},
			{
				name: "load balancer, other subnets",
				call: func() (string, error) {
					in := lbInput()
					in.Subnets = []string{"subnet-0a", "subnet-0c"}
					return createLBArn(ctx, env.elb, in)
				},
				wantErr: elbv2Err[*elbtypes.DuplicateLoadBalancerNameException](),
			},
			{
				name:    "target group, same settings",
				call:    func() (string, error) { return createTGArn(ctx, env.elb, tgInput()) },
				wantARN: tgARN,
			},
			{
				name: "target group, other port",
				call: func() (string, error) {
					in := tgInput()
					in.Port = aws.Int32(9090)
					return createTGArn(ctx, env.elb, in)
				},
				wantErr: elbv2Err[*elbtypes.DuplicateTargetGroupNameException](),
			},
			{
				name: "target group, other health check path",
				call: func() (string, error) {
					in := tgInput()
					in.HealthCheckPath = aws.String("/other")
					return createTGArn(ctx, env.elb, in)
				},
				wantErr: elbv2Err[*elbtypes.DuplicateTargetGroupNameException](),
			},
		}

		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				arn, err := tt.call()
				if tt.wantErr != nil {
					tt.wantErr.require(t, err)
					return
				}
				if err != nil {
					t.Fatalf("got error %v, want the existing resource %s", err, tt.wantARN)
				}
				if arn != tt.wantARN {
					t.Errorf("got ARN %s, want the existing %s", arn, tt.wantARN)
				}
			})
		}
	})

	t.Run("listener settings are stored", func(t *testing.T) {
		https := env.describeListener(t, httpsListenerARN)
		if got := elbCertificateARNs(https.Certificates); !slices.Equal(got, []string{certARN}) {
			t.Errorf("HTTPS listener Certificates: got %v, want [%s]", got, certARN)
		}
		if got := aws.ToString(https.SslPolicy); got != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
			t.Errorf("HTTPS listener SslPolicy: got %q, want ELBSecurityPolicy-TLS13-1-2-2021-06", got)
		}
		requireELBFixedResponse(t, "HTTPS listener default action", https.DefaultActions, "404", "text/plain", "no such host")

		http := env.describeListener(t, aws.ToString(httpListener.ListenerArn))
		requireELBRedirect(t, "HTTP listener default action", http.DefaultActions, elbtypes.RedirectActionConfig{
			Protocol: aws.String("HTTPS"), Port: aws.String("443"), Host: aws.String("#{host}"),
			Path: aws.String("/#{path}"), Query: aws.String("#{query}"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301,
		})

		rules, err := env.elb.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{aws.ToString(rule.RuleArn), aws.ToString(fixedRule.RuleArn)}})
		if err != nil {
			t.Fatalf("DescribeRules: %v", err)
		}
		if len(rules.Rules) != 2 {
			t.Fatalf("DescribeRules: got %d rules, want 2", len(rules.Rules))
		}
		for _, r := range rules.Rules {
			switch aws.ToString(r.RuleArn) {
			case aws.ToString(rule.RuleArn):
				if len(r.Actions) != 1 || r.Actions[0].ForwardConfig == nil || len(r.Actions[0].ForwardConfig.TargetGroups) != 1 ||
					aws.ToString(r.Actions[0].ForwardConfig.TargetGroups[0].TargetGroupArn) != tgARN {
					t.Errorf("forward rule actions: got %+v, want a ForwardConfig to %s", r.Actions, tgARN)
				}
			default:
				requireELBFixedResponse(t, "fixed-response rule action", r.Actions, "404", "text/plain", "no such host")
			}
		}
	})

	t.Run("NLB TLS listener stores ALPN policy", func(t *testing.T) {
		nlb := env.createLoadBalancer(t, &elb.CreateLoadBalancerInput{
			Name:    aws.String("gap06-nlb"),
			Type:    elbtypes.LoadBalancerTypeEnumNetwork,
			Subnets: []string{"subnet-0a"},
		})
		tcp := env.createTargetGroup(t, &elb.CreateTargetGroupInput{
			Name: aws.String("gap06-tcp"), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(443), VpcId: aws.String("vpc-0a"),
		})
		tls := env.createListener(t, &elb.CreateListenerInput{
			LoadBalancerArn: nlb.LoadBalancerArn,
			Protocol:        elbtypes.ProtocolEnumTls,
			Port:            aws.Int32(443),
			Certificates:    []elbtypes.Certificate{{CertificateArn: aws.String(certARN)}},
			AlpnPolicy:      []string{"HTTP2Preferred"},
			DefaultActions:  []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tcp.TargetGroupArn}},
		})

		got := env.describeListener(t, aws.ToString(tls.ListenerArn))
		if !slices.Equal(got.AlpnPolicy, []string{"HTTP2Preferred"}) {
			t.Errorf("AlpnPolicy: got %v, want [HTTP2Preferred]", got.AlpnPolicy)
		}
		if len(got.Certificates) != 1 || aws.ToString(got.Certificates[0].CertificateArn) != certARN {
			t.Errorf("Certificates: got %v, want [%s]", elbCertificateARNs(got.Certificates), certARN)
		}
		if aws.ToString(got.SslPolicy) == "" {
			t.Error("SslPolicy: got none, want the default security policy of a TLS listener")
		}
	})

	t.Run("rejected calls", func(t *testing.T) {
		tests := []struct {
			name    string
			call    func() error
			wantErr elbv2ErrorCheck
		}{
			{
				name: "CreateListener with a certificate ACM does not hold",
				call: func() error {
					_, err := env.elb.CreateListener(ctx, &elb.CreateListenerInput{
						LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttps, Port: aws.Int32(8443),
						Certificates:   []elbtypes.Certificate{{CertificateArn: aws.String(missingCertARN)}},
						DefaultActions: notFound,
					})
					return err
				},
				wantErr: elbv2Err[*elbtypes.CertificateNotFoundException](),
			},
			{
				name: "ModifyListener with a certificate ACM does not hold",
				call: func() error {
					_, err := env.elb.ModifyListener(ctx, &elb.ModifyListenerInput{
						ListenerArn:  aws.String(httpsListenerARN),
						Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(missingCertARN)}},
					})
					return err
				},
				wantErr: elbv2Err[*elbtypes.CertificateNotFoundException](),
			},
			{
				name: "AddListenerCertificates with a certificate ACM does not hold",
				call: func() error {
					_, err := env.elb.AddListenerCertificates(ctx, &elb.AddListenerCertificatesInput{
						ListenerArn:  aws.String(httpsListenerARN),
						Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(missingCertARN)}},
					})
					return err
				},
				wantErr: elbv2Err[*elbtypes.CertificateNotFoundException](),
			},
			{
				name: "second listener on port 80 with other settings",
				call: func() error {
					_, err := env.elb.CreateListener(ctx, &elb.CreateListenerInput{
						LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
						DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}},
					})
					return err
				},
				wantErr: elbv2Err[*elbtypes.DuplicateListenerException](),
			},
			{
				name: "ModifyListener onto a port in use",
				call: func() error {
					_, err := env.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(httpsListenerARN), Port: aws.Int32(80)})
					return err
				},
				wantErr: elbv2Err[*elbtypes.DuplicateListenerException](),
			},
			{
				name: "CreateRule with a priority in use",
				call: func() error {
					_, err := env.elb.CreateRule(ctx, &elb.CreateRuleInput{
						ListenerArn: aws.String(httpsListenerARN),
						Priority:    aws.Int32(10),
						Conditions:  []elbtypes.RuleCondition{{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"other.example.com"}}}},
						Actions:     notFound,
					})
					return err
				},
				wantErr: elbv2Err[*elbtypes.PriorityInUseException](),
			},
			{
				name: "SetRulePriorities onto a priority in use",
				call: func() error {
					_, err := env.elb.SetRulePriorities(ctx, &elb.SetRulePrioritiesInput{
						RulePriorities: []elbtypes.RulePriorityPair{{RuleArn: fixedRule.RuleArn, Priority: aws.Int32(10)}},
					})
					return err
				},
				wantErr: elbv2Err[*elbtypes.PriorityInUseException](),
			},
			{
				name: "DescribeLoadBalancers by a missing name",
				call: func() error {
					_, err := env.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"gap06-alb", "gap06-missing"}})
					return err
				},
				wantErr: elbv2Err[*elbtypes.LoadBalancerNotFoundException](),
			},
			{
				name: "DescribeLoadBalancers by a missing ARN",
				call: func() error {
					_, err := env.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{env.missingARN("loadbalancer/app/gap06-missing/0123456789abcdef")}})
					return err
				},
				wantErr: elbv2Err[*elbtypes.LoadBalancerNotFoundException](),
			},
			{
				name: "DescribeTargetGroups by a missing name",
				call: func() error {
					_, err := env.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{"gap06-missing"}})
					return err
				},
				wantErr: elbv2Err[*elbtypes.TargetGroupNotFoundException](),
			},
			{
				name: "DescribeTargetGroups by a missing ARN",
				call: func() error {
					_, err := env.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{env.missingARN("targetgroup/gap06-missing/0123456789abcdef")}})
					return err
				},
				wantErr: elbv2Err[*elbtypes.TargetGroupNotFoundException](),
			},
			{
				name: "DescribeListeners by a missing ARN",
				call: func() error {
					_, err := env.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{env.missingARN("listener/app/gap06-alb/0123456789abcdef/0123456789abcdef")}})
					return err
				},
				wantErr: elbv2Err[*elbtypes.ListenerNotFoundException](),
			},
			{
				name: "DescribeListeners of a missing load balancer",
				call: func() error {
					_, err := env.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(env.missingARN("loadbalancer/app/gap06-missing/0123456789abcdef"))})
					return err
				},
				wantErr: elbv2Err[*elbtypes.LoadBalancerNotFoundException](),
			},
			{
				name: "DescribeRules by a missing ARN",
				call: func() error {
					_, err := env.elb.DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{env.missingARN("listener-rule/app/gap06-alb/0123456789abcdef/0123456789abcdef/0123456789abcdef")}})
					return err
				},
				wantErr: elbv2Err[*elbtypes.RuleNotFoundException](),
			},
			{
				name: "DeleteListener of a missing ARN",
				call: func() error {
					_, err := env.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(env.missingARN("listener/app/gap06-alb/0123456789abcdef/0123456789abcdef"))})
					return err
				},
				wantErr: elbv2Err[*elbtypes.ListenerNotFoundException](),
			},
		}

		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.wantErr.require(t, tt.call())
			})
		}
	})

	t.Run("accepted calls", func(t *testing.T) {
		tests := []struct {
			name  string
			call  func(t *testing.T) error
			check func(t *testing.T)
		}{
			{
				name: "same listener on port 80 again returns it",
				call: func(t *testing.T) error {
					out, err := env.elb.CreateListener(ctx, &elb.CreateListenerInput{
						LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: redirectToHTTPS,
					})
					if err != nil {
						return err
					}
					var got []string
					for _, l := range out.Listeners {
						got = append(got, aws.ToString(l.ListenerArn))
					}
					if !slices.Equal(got, []string{aws.ToString(httpListener.ListenerArn)}) {
						t.Errorf("got listeners %v, want the existing %s", got, aws.ToString(httpListener.ListenerArn))
					}
					return nil
				},
			},
			{
				name: "ModifyListener replaces certificate, policy and default action",
				call: func(t *testing.T) error {
					_, err := env.elb.ModifyListener(ctx, &elb.ModifyListenerInput{
						ListenerArn:  aws.String(httpsListenerARN),
						Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(otherCertARN)}},
						SslPolicy:    aws.String("ELBSecurityPolicy-TLS13-1-2-Res-2021-06"),
						DefaultActions: []elbtypes.Action{{
							Type: elbtypes.ActionTypeEnumRedirect,
							RedirectConfig: &elbtypes.RedirectActionConfig{
								Host: aws.String("www.example.com"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp302,
							},
						}},
					})
					return err
				},
				check: func(t *testing.T) {
					got := env.describeListener(t, httpsListenerARN)
					if certs := elbCertificateARNs(got.Certificates); !slices.Equal(certs, []string{otherCertARN}) {
						t.Errorf("Certificates: got %v, want [%s]", certs, otherCertARN)
					}
					if p := aws.ToString(got.SslPolicy); p != "ELBSecurityPolicy-TLS13-1-2-Res-2021-06" {
						t.Errorf("SslPolicy: got %q, want ELBSecurityPolicy-TLS13-1-2-Res-2021-06", p)
					}
					requireELBRedirect(t, "default action", got.DefaultActions, elbtypes.RedirectActionConfig{
						Protocol: aws.String("#{protocol}"), Port: aws.String("#{port}"), Host: aws.String("www.example.com"),
						Path: aws.String("/#{path}"), Query: aws.String("#{query}"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp302,
					})
				},
			},
			{
				name: "AddListenerCertificates with an ACM certificate",
				call: func(t *testing.T) error {
					_, err := env.elb.AddListenerCertificates(ctx, &elb.AddListenerCertificatesInput{
						ListenerArn:  aws.String(httpsListenerARN),
						Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(certARN)}},
					})
					return err
				},
				check: func(t *testing.T) {
					out, err := env.elb.DescribeListenerCertificates(ctx, &elb.DescribeListenerCertificatesInput{ListenerArn: aws.String(httpsListenerARN)})
					if err != nil {
						t.Fatalf("DescribeListenerCertificates: %v", err)
					}
					got := map[string]bool{}
					for _, c := range out.Certificates {
						got[aws.ToString(c.CertificateArn)] = aws.ToBool(c.IsDefault)
					}
					if isDefault, ok := got[certARN]; !ok || isDefault || !got[otherCertARN] || len(got) != 2 {
						t.Errorf("listener certificates (ARN → IsDefault): got %v, want %s → true and %s → false", got, otherCertARN, certARN)
					}
				},
			},
			{
				name: "DeleteLoadBalancer of a missing ARN",
				call: func(t *testing.T) error {
					_, err := env.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(env.missingARN("loadbalancer/app/gap06-missing/0123456789abcdef"))})
					return err
				},
			},
			{
				name: "DeleteTargetGroup of a missing ARN",
				call: func(t *testing.T) error {
					_, err := env.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(env.missingARN("targetgroup/gap06-missing/0123456789abcdef"))})
					return err
				},
			},
		}

		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(t); err != nil {
					t.Fatalf("got error %v, want success", err)
				}
				if tt.check != nil {
					tt.check(t)
				}
			})
		}
	})
}

// elbv2Env is a fresh kumo with ELBv2 and ACM clients.
type elbv2Env struct {
	elb    *elb.Client
	acm    *acm.Client
	region string
}

func startELBv2(t *testing.T) *elbv2Env {
	t.Helper()

	b := localawstest.Start(t)

	cfg, err := b.AWSConfig(t.Context())
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}

	return &elbv2Env{elb: elb.NewFromConfig(cfg), acm: acm.NewFromConfig(cfg), region: b.Region()}
}

// missingARN returns an ELBv2 ARN of this account and region that names no
// resource.
func (e *elbv2Env) missingARN(resource string) string {
	return "arn:aws:elasticloadbalancing:" + e.region + ":" + localaws.AccountID + ":" + resource
}

// importCertificate imports a self-signed certificate for domain, generated
// now, into kumo's ACM and returns its ARN.
func (e *elbv2Env) importCertificate(t *testing.T, domain string) string {
	t.Helper()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}

	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: domain},
		DNSNames:     []string{domain},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}

	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}

	out, err := e.acm.ImportCertificate(t.Context(), &acm.ImportCertificateInput{
		Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		PrivateKey:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	})
	if err != nil {
		t.Fatalf("ACM ImportCertificate: %v", err)
	}

	return aws.ToString(out.CertificateArn)
}

func (e *elbv2Env) createLoadBalancer(t *testing.T, in *elb.CreateLoadBalancerInput) elbtypes.LoadBalancer {
	t.Helper()

	out, err := e.elb.CreateLoadBalancer(t.Context(), in)
	if err != nil || len(out.LoadBalancers) != 1 {
		t.Fatalf("CreateLoadBalancer %s: %v", aws.ToString(in.Name), err)
	}

	return out.LoadBalancers[0]
}

func (e *elbv2Env) createTargetGroup(t *testing.T, in *elb.CreateTargetGroupInput) elbtypes.TargetGroup {
	t.Helper()

	out, err := e.elb.CreateTargetGroup(t.Context(), in)
	if err != nil || len(out.TargetGroups) != 1 {
		t.Fatalf("CreateTargetGroup %s: %v", aws.ToString(in.Name), err)
	}

	return out.TargetGroups[0]
}

func (e *elbv2Env) createListener(t *testing.T, in *elb.CreateListenerInput) elbtypes.Listener {
	t.Helper()

	out, err := e.elb.CreateListener(t.Context(), in)
	if err != nil || len(out.Listeners) != 1 {
		t.Fatalf("CreateListener %s:%d: %v", in.Protocol, aws.ToInt32(in.Port), err)
	}

	return out.Listeners[0]
}

func (e *elbv2Env) createRule(t *testing.T, in *elb.CreateRuleInput) elbtypes.Rule {
	t.Helper()

	out, err := e.elb.CreateRule(t.Context(), in)
	if err != nil || len(out.Rules) != 1 {
		t.Fatalf("CreateRule priority %d: %v", aws.ToInt32(in.Priority), err)
	}

	return out.Rules[0]
}

func (e *elbv2Env) describeListener(t *testing.T, arn string) elbtypes.Listener {
	t.Helper()

	out, err := e.elb.DescribeListeners(t.Context(), &elb.DescribeListenersInput{ListenerArns: []string{arn}})
	if err != nil || len(out.Listeners) != 1 {
		t.Fatalf("DescribeListeners %s: %v", arn, err)
	}

	return out.Listeners[0]
}

func createLBArn(ctx context.Context, c *elb.Client, in *elb.CreateLoadBalancerInput) (string, error) {
	out, err := c.CreateLoadBalancer(ctx, in)
	if err != nil || len(out.LoadBalancers) == 0 {
		return "", err
	}

	return aws.ToString(out.LoadBalancers[0].LoadBalancerArn), nil
}

func createTGArn(ctx context.Context, c *elb.Client, in *elb.CreateTargetGroupInput) (string, error) {
	out, err := c.CreateTargetGroup(ctx, in)
	if err != nil || len(out.TargetGroups) == 0 {
		return "", err
	}

	return aws.ToString(out.TargetGroups[0].TargetGroupArn), nil
}

func elbCertificateARNs(certs []elbtypes.Certificate) []string {
	out := make([]string, 0, len(certs))
	for _, c := range certs {
		out = append(out, aws.ToString(c.CertificateArn))
	}

	return out
}

func requireELBRedirect(t *testing.T, what string, actions []elbtypes.Action, want elbtypes.RedirectActionConfig) {
	t.Helper()

	if len(actions) != 1 || actions[0].Type != elbtypes.ActionTypeEnumRedirect || actions[0].RedirectConfig == nil {
		t.Errorf("%s: got %+v, want one redirect action with a RedirectConfig", what, actions)
		return
	}

	got := actions[0].RedirectConfig
	for _, f := range []struct{ name, got, want string }{
		{"Protocol", aws.ToString(got.Protocol), aws.ToString(want.Protocol)},
		{"Port", aws.ToString(got.Port), aws.ToString(want.Port)},
		{"Host", aws.ToString(got.Host), aws.ToString(want.Host)},
		{"Path", aws.ToString(got.Path), aws.ToString(want.Path)},
		{"Query", aws.ToString(got.Query), aws.ToString(want.Query)},
		{"StatusCode", string(got.StatusCode), string(want.StatusCode)},
	} {
		if f.got != f.want {
			t.Errorf("%s: RedirectConfig.%s got %q, want %q", what, f.name, f.got, f.want)
		}
	}
}

func requireELBFixedResponse(t *testing.T, what string, actions []elbtypes.Action, status, contentType, body string) {
	t.Helper()

	if len(actions) != 1 || actions[0].Type != elbtypes.ActionTypeEnumFixedResponse || actions[0].FixedResponseConfig == nil {
		t.Errorf("%s: got %+v, want one fixed-response action with a FixedResponseConfig", what, actions)
		return
	}

	got := actions[0].FixedResponseConfig
	if aws.ToString(got.StatusCode) != status || aws.ToString(got.ContentType) != contentType || aws.ToString(got.MessageBody) != body {
		t.Errorf("%s: FixedResponseConfig got {%s %s %q}, want {%s %s %q}", what,
			aws.ToString(got.StatusCode), aws.ToString(got.ContentType), aws.ToString(got.MessageBody), status, contentType, body)
	}
}

// elbv2ErrorCheck asserts that an error is a given SDK exception type that came
// back with HTTP 400.
type elbv2ErrorCheck interface {
	require(t *testing.T, err error)
}

type elbv2TypedError[T error] struct{}

// errorIs expects an error of type T (a pointer to an SDK exception type).
func elbv2Err[T error]() elbv2ErrorCheck { return elbv2TypedError[T]{} }

func (elbv2TypedError[T]) require(t *testing.T, err error) {
	t.Helper()

	var want T
	if err == nil {
		t.Fatalf("got success, want %T", want)
	}

	if !errors.As(err, &want) {
		t.Fatalf("got error %v, want %T", err, want)
	}

	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 400 {
		t.Errorf("got HTTP %d, want 400 for %T", re.HTTPStatusCode(), want)
	}
}
