package listener

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localenv"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// TestEnsureCertificateNotPropagated: with realistic timing (kumo patch
// 0027) Elastic Load Balancing answers CertificateNotFound for a certificate
// issued a moment ago, as AWS does; Ensure reports NotPropagated, which the
// state machine retries, and the retry creates the HTTPS listener.
func TestEnsureCertificateNotPropagated(t *testing.T) {
	ctx := t.Context()
	seeded := localawstest.StartSeededWith(t, "test", localaws.Options{RealisticTiming: true, KumoEnv: map[string]string{
		"KUMO_ELBV2_PROVISIONING_DELAY": "0", "KUMO_ELBV2_CERTIFICATE_PROPAGATION_DELAY": "2s",
	}})
	cfg, env := seeded.Direct, seeded.Env
	api := elbv2.NewFromConfig(cfg)

	lb, err := api.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("fresh"), Type: types.LoadBalancerTypeEnumApplication, Subnets: env.SubnetIDs, SecurityGroups: []string{env.WebSGID},
	})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := api.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("fresh-proxy"), TargetType: types.TargetTypeEnumLambda})
	if err != nil {
		t.Fatal(err)
	}
	pem, err := localenv.SelfSigned([]string{"*." + env.Domain, env.Domain}, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := acm.NewFromConfig(cfg).ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: pem.Certificate, PrivateKey: pem.PrivateKey})
	if err != nil {
		t.Fatal(err)
	}
	in := step.Input{
		Spec:      spec.LoadBalancerSpec{Name: "fresh", Region: env.Region, VPCID: env.VPCID, Domain: env.Domain},
		Execution: "exec-1",
		Results: step.Results{
			LoadBalancer: &step.LoadBalancerResult{ARN: aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)},
			ProxyTarget:  &step.ProxyTargetResult{TargetGroupARN: aws.ToString(tg.TargetGroups[0].TargetGroupArn)},
			Certificate:  &step.CertificateResult{ARN: aws.ToString(cert.CertificateArn)},
		},
	}

	_, err = Ensure(ctx, api, in)
	var np *steperr.NotPropagated
	if mapped := steperr.Map(err); !errors.As(mapped, &np) {
		t.Fatalf("Ensure right after the certificate was issued: %v (%T), want NotPropagated (retried by the state machine)", err, mapped)
	}
	time.Sleep(2500 * time.Millisecond)
	res, err := Ensure(ctx, api, in)
	if err != nil {
		t.Fatalf("retry once the certificate propagated: %v", err)
	}
	if res.HTTPSListenerARN == "" {
		t.Errorf("no HTTPS listener after the retry: %+v", res)
	}
}
