package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 35: ACM knows which load balancers use a certificate. While a
// listener uses it (as its default certificate or one added with
// AddListenerCertificates), DeleteCertificate fails with
// ResourceInUseException "Certificate <arn> is in use." and
// DescribeCertificate's InUseBy lists the load balancers; once the listener
// lets it go (deleted, given another certificate, the certificate removed
// from it, its load balancer deleted) it can be deleted, at once without
// realistic timing.
func TestGap35ACMCertificateInUse(t *testing.T) {
	b := localawstest.Start(t)
	env := gap35Env(t, b)
	ctx := t.Context()

	certA, certB, certC := env.importCertificate(t, "gap35-a.example.com"), env.importCertificate(t, "gap35-b.example.com"), env.importCertificate(t, "gap35-c.example.com")
	lb1 := aws.ToString(env.createLoadBalancer(t, gap34LoadBalancer("gap35-one")).LoadBalancerArn)
	lb2 := aws.ToString(env.createLoadBalancer(t, gap34LoadBalancer("gap35-two")).LoadBalancerArn)
	listener1 := aws.ToString(env.createListener(t, gap35HTTPS(lb1, certA)).ListenerArn)
	listener2 := aws.ToString(env.createListener(t, gap35HTTPS(lb2, certA)).ListenerArn)
	if _, err := env.elb.AddListenerCertificates(ctx, &elb.AddListenerCertificatesInput{
		ListenerArn: aws.String(listener1), Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(certB)}},
	}); err != nil {
		t.Fatalf("AddListenerCertificates: %v", err)
	}

	inUseBy := func(when, cert string, want ...string) {
		t.Helper()
		slices.Sort(want)
		out, err := env.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(cert)})
		if err != nil {
			t.Errorf("DescribeCertificate %s: %v", when, err)
			return
		}
		got := slices.Clone(out.Certificate.InUseBy)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("InUseBy %s = %v, want %v", when, got, want)
		}
	}
	deleteCert := func(cert string) error {
		_, err := env.acm.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(cert)})
		return err
	}
	wantInUse := func(when, cert string) {
		t.Helper()
		gap35WantInUse(t, when, cert, deleteCert(cert))
	}
	wantDeleted := func(when, cert string) {
		t.Helper()
		if err := deleteCert(cert); err != nil {
			t.Errorf("DeleteCertificate %s: %v, want it deleted", when, err)
		}
	}

	inUseBy("of the default certificate of two load balancers", certA, lb1, lb2)
	inUseBy("of a listener certificate", certB, lb1)
	inUseBy("of an unused certificate", certC)
	list, err := env.acm.ListCertificates(ctx, &acm.ListCertificatesInput{})
	if err != nil {
		t.Fatalf("ListCertificates: %v", err)
	}
	for _, s := range list.CertificateSummaryList {
		if want := aws.ToString(s.CertificateArn) != certC; aws.ToBool(s.InUse) != want {
			t.Errorf("ListCertificates InUse of %s = %v, want %v", aws.ToString(s.CertificateArn), aws.ToBool(s.InUse), want)
		}
	}

	wantInUse("of a listener's default certificate", certA)
	wantInUse("of a certificate added with AddListenerCertificates", certB)

	if _, err := env.elb.RemoveListenerCertificates(ctx, &elb.RemoveListenerCertificatesInput{
		ListenerArn: aws.String(listener1), Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(certB)}},
	}); err != nil {
		t.Fatalf("RemoveListenerCertificates: %v", err)
	}
	inUseBy("after RemoveListenerCertificates", certB)
	wantDeleted("after RemoveListenerCertificates", certB)

	if _, err := env.elb.ModifyListener(ctx, &elb.ModifyListenerInput{
		ListenerArn: aws.String(listener1), Certificates: []elbtypes.Certificate{{CertificateArn: aws.String(certC)}},
	}); err != nil {
		t.Fatalf("ModifyListener: %v", err)
	}
	inUseBy("after one listener moved to another certificate", certA, lb2)
	inUseBy("of the listener's new certificate", certC, lb1)
	wantInUse("while another load balancer still uses it", certA)

	if _, err := env.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(listener2)}); err != nil {
		t.Fatalf("DeleteListener: %v", err)
	}
	wantDeleted("after the last listener using it was deleted", certA)

	wantInUse("of the new default certificate", certC)
	if _, err := env.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(lb1)}); err != nil {
		t.Fatalf("DeleteLoadBalancer: %v", err)
	}
	wantDeleted("after its load balancer was deleted", certC)
}

// Gap 35 with realistic timing (KUMO_REALISTIC_TIMING=1, default delays):
// a requested certificate's DNS validation record (ResourceRecord) appears
// about 2 s after RequestCertificate; the certificate is ISSUED about 3 s
// after its CNAME is in Route 53 (IssuedAt then), and ELBv2 takes it 2 s
// after IssuedAt (gap 34); a certificate stays in use for about 3 s after the
// last listener using it was deleted.
func TestGap35ACMRealisticTiming(t *testing.T) {
	b := localawstest.StartWith(t, localaws.Options{RealisticTiming: true})
	env := gap35Env(t, b)
	ctx := t.Context()

	t.Run("validation record and issue", func(t *testing.T) {
		const apex = "gap35.example.test"
		requested := time.Now()
		out, err := env.acm.RequestCertificate(ctx, &acm.RequestCertificateInput{
			DomainName: aws.String("*." + apex), SubjectAlternativeNames: []string{apex}, ValidationMethod: acmtypes.ValidationMethodDns,
		})
		if err != nil {
			t.Fatalf("RequestCertificate: %v", err)
		}
		arn := aws.ToString(out.CertificateArn)

		cert := env.describe(t, arn)
		if len(cert.DomainValidationOptions) != 2 {
			t.Fatalf("DomainValidationOptions right after RequestCertificate = %s, want one per name", gap05DVOs(cert))
		}
		for _, dv := range cert.DomainValidationOptions {
			if dv.ResourceRecord != nil || dv.ValidationMethod != acmtypes.ValidationMethodDns || dv.ValidationStatus != acmtypes.DomainStatusPendingValidation {
				t.Errorf("DomainValidationOptions right after RequestCertificate = %s (%s, %s), want no ResourceRecord yet, DNS, PENDING_VALIDATION",
					gap05DVOs(cert), dv.ValidationMethod, dv.ValidationStatus)
				break
			}
		}

		for cert = env.describe(t, arn); cert.DomainValidationOptions[0].ResourceRecord == nil || cert.DomainValidationOptions[1].ResourceRecord == nil; cert = env.describe(t, arn) {
			if time.Since(requested) > 10*time.Second {
				t.Fatalf("no ResourceRecord %v after RequestCertificate: %s", time.Since(requested), gap05DVOs(cert))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if took := time.Since(requested); took < 1500*time.Millisecond || took > 6*time.Second {
			t.Errorf("ResourceRecord shown %v after RequestCertificate, want about 2 s", took)
		}
		rec := cert.DomainValidationOptions[0].ResourceRecord

		written := env.upsertCNAME(t, apex, aws.ToString(rec.Name), aws.ToString(rec.Value))
		if got := env.describe(t, arn).Status; got != acmtypes.CertificateStatusPendingValidation {
			t.Errorf("Status right after the CNAME was written = %q, want PENDING_VALIDATION", got)
		}
		for cert = env.describe(t, arn); cert.Status != acmtypes.CertificateStatusIssued; cert = env.describe(t, arn) {
			if cert.Status != acmtypes.CertificateStatusPendingValidation || time.Since(written) > 15*time.Second {
				t.Fatalf("Status %v after the CNAME was written = %q, want PENDING_VALIDATION, then ISSUED", time.Since(written), cert.Status)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if took := time.Since(written); took < 2500*time.Millisecond || took > 8*time.Second {
			t.Errorf("ISSUED %v after the CNAME was written, want about 3 s", took)
		}
		issuedAt := aws.ToTime(cert.IssuedAt)
		if d := issuedAt.Sub(written); d < 2500*time.Millisecond || d > 8*time.Second {
			t.Errorf("IssuedAt %v after the CNAME was written, want about 3 s", d)
		}

		// Elastic Load Balancing sees it 2 s after IssuedAt (gap 34).
		lb := aws.ToString(env.createLoadBalancer(t, gap34LoadBalancer("gap35-issued")).LoadBalancerArn)
		retryUntilClears(t, "CreateListener with the certificate just issued", "CertificateNotFound", func() error {
			_, err := env.elb.CreateListener(ctx, gap35HTTPS(lb, arn))
			return err
		})
		if d := time.Since(issuedAt); d < 1500*time.Millisecond || d > 6*time.Second {
			t.Errorf("CreateListener succeeded %v after IssuedAt, want about 2 s", d)
		}
	})

	t.Run("in use after release", func(t *testing.T) {
		cert := env.importCertificate(t, "gap35-release.example.com")
		lb := aws.ToString(env.createLoadBalancer(t, gap34LoadBalancer("gap35-release")).LoadBalancerArn)
		var listener string
		retryUntilClears(t, "CreateListener with a fresh certificate", "CertificateNotFound", func() error {
			out, err := env.elb.CreateListener(ctx, gap35HTTPS(lb, cert))
			if err == nil {
				listener = aws.ToString(out.Listeners[0].ListenerArn)
			}
			return err
		})
		deleteCert := func() error {
			_, err := env.acm.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(cert)})
			return err
		}
		gap35WantInUse(t, "while the listener uses it", cert, deleteCert())

		if _, err := env.elb.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: aws.String(listener)}); err != nil {
			t.Fatalf("DeleteListener: %v", err)
		}
		released := time.Now()
		retryUntilClears(t, "DeleteCertificate after DeleteListener", "ResourceInUseException", deleteCert)
		if took := time.Since(released); took < 2500*time.Millisecond || took > 8*time.Second {
			t.Errorf("DeleteCertificate succeeded %v after DeleteListener, want about 3 s", took)
		}
	})
}

type gap35Clients struct {
	*gap34Clients
	r53 *route53.Client
}

func gap35Env(t *testing.T, b *localaws.Backend) *gap35Clients {
	t.Helper()
	cfg, err := b.AWSConfig(t.Context())
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return &gap35Clients{gap34Clients: gap34Env(t, b), r53: route53.NewFromConfig(cfg)}
}

func (e *gap35Clients) describe(t *testing.T, arn string) *acmtypes.CertificateDetail {
	t.Helper()
	return gap05Describe(t.Context(), t, e.acm, arn)
}

// upsertCNAME writes the CNAME in a new public hosted zone for zoneName and
// returns when it was written.
func (e *gap35Clients) upsertCNAME(t *testing.T, zoneName, name, value string) time.Time {
	t.Helper()
	ctx := t.Context()
	zone, err := e.r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name: aws.String(zoneName), CallerReference: aws.String(fmt.Sprintf("gap35-%d", time.Now().UnixNano())),
	})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	if _, err := e.r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: zone.HostedZone.Id,
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{
			Action: r53types.ChangeActionUpsert,
			ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String(name), Type: r53types.RRTypeCname, TTL: aws.Int64(300),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}},
			},
		}}},
	}); err != nil {
		t.Fatalf("ChangeResourceRecordSets: %v", err)
	}
	return time.Now()
}

// gap35HTTPS is an HTTPS listener on port 443 with the certificate.
func gap35HTTPS(lbARN, cert string) *elb.CreateListenerInput {
	return &elb.CreateListenerInput{
		LoadBalancerArn: aws.String(lbARN), Protocol: elbtypes.ProtocolEnumHttps, Port: aws.Int32(443),
		Certificates:   []elbtypes.Certificate{{CertificateArn: aws.String(cert)}},
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}},
	}
}

// gap35WantInUse checks that DeleteCertificate of cert failed with ACM's
// typed ResourceInUseException "Certificate <arn> is in use.".
func gap35WantInUse(t *testing.T, when, cert string, err error) {
	t.Helper()
	var inUse *acmtypes.ResourceInUseException
	if !errors.As(err, &inUse) || !strings.Contains(err.Error(), "Certificate "+cert+" is in use.") {
		t.Errorf("DeleteCertificate %s: got %v, want ResourceInUseException (Certificate %s is in use.)", when, err, cert)
	}
}
