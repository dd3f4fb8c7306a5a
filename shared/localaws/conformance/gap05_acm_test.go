package conformance

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 5: ImportCertificate must read the imported PEM (names, validity, key
// algorithm, serial) and reject material AWS rejects; ImportCertificate of a
// certificate that expires later must turn EXPIRED.
func TestGap05ACMImportCertificate(t *testing.T) {
	ctx := context.Background()
	client := gap05ACMClient(ctx, t)

	now := time.Now()
	rsaKey := gap05RSAKey(t)
	otherKey := gap05RSAKey(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate EC key: %v", err)
	}

	type want struct {
		domain       string
		sans         []string
		keyAlgorithm acmtypes.KeyAlgorithm
	}
	valid := []struct {
		name string
		tmpl gap05CertSpec
		key  crypto.Signer
		want want
	}{
		{
			name: "wildcard RSA with SANs",
			tmpl: gap05CertSpec{
				cn:        "*.import.example.test",
				dnsNames:  []string{"*.import.example.test", "import.example.test"},
				notBefore: now.Add(-time.Hour),
				notAfter:  now.Add(90 * 24 * time.Hour),
			},
			key: rsaKey,
			want: want{
				domain:       "*.import.example.test",
				sans:         []string{"*.import.example.test", "import.example.test"},
				keyAlgorithm: acmtypes.KeyAlgorithmRsa2048,
			},
		},
		{
			name: "ECDSA P-256 without common name",
			tmpl: gap05CertSpec{
				dnsNames:  []string{"api.import.example.test"},
				notBefore: now.Add(-time.Hour),
				notAfter:  now.Add(30 * 24 * time.Hour),
			},
			key: ecKey,
			want: want{
				domain:       "api.import.example.test",
				sans:         []string{"api.import.example.test"},
				keyAlgorithm: acmtypes.KeyAlgorithmEcPrime256v1,
			},
		},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			certPEM, cert := gap05SelfSigned(t, tc.tmpl, tc.key)
			arn := gap05Import(ctx, t, client, certPEM, gap05KeyPEM(t, tc.key))

			got := gap05Describe(ctx, t, client, arn)
			if got.Status != acmtypes.CertificateStatusIssued {
				t.Errorf("Status = %q, want ISSUED", got.Status)
			}
			if got.Type != acmtypes.CertificateTypeImported {
				t.Errorf("Type = %q, want IMPORTED", got.Type)
			}
			if d := aws.ToString(got.DomainName); d != tc.want.domain {
				t.Errorf("DomainName = %q, want %q (from the imported certificate)", d, tc.want.domain)
			}
			if !slices.Equal(got.SubjectAlternativeNames, tc.want.sans) {
				t.Errorf("SubjectAlternativeNames = %q, want %q", got.SubjectAlternativeNames, tc.want.sans)
			}
			if got.KeyAlgorithm != tc.want.keyAlgorithm {
				t.Errorf("KeyAlgorithm = %q, want %q", got.KeyAlgorithm, tc.want.keyAlgorithm)
			}
			if got.NotBefore == nil || !got.NotBefore.Equal(cert.NotBefore) {
				t.Errorf("NotBefore = %v, want %v", got.NotBefore, cert.NotBefore)
			}
			if got.NotAfter == nil || !got.NotAfter.Equal(cert.NotAfter) {
				t.Errorf("NotAfter = %v, want %v", got.NotAfter, cert.NotAfter)
			}
			if s, w := aws.ToString(got.Serial), gap05Serial(cert.SerialNumber); s != w {
				t.Errorf("Serial = %q, want %q", s, w)
			}
			if aws.ToString(got.Issuer) == "" {
				t.Errorf("Issuer is empty")
			}
		})
	}

	mismatchPEM, _ := gap05SelfSigned(t, gap05CertSpec{
		cn: "mismatch.example.test", notBefore: now.Add(-time.Hour), notAfter: now.Add(24 * time.Hour),
	}, rsaKey)
	expiredPEM, _ := gap05SelfSigned(t, gap05CertSpec{
		cn: "expired.example.test", notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-24 * time.Hour),
	}, rsaKey)
	rejected := []struct {
		name    string
		certPEM []byte
		keyPEM  []byte
	}{
		{name: "private key does not match", certPEM: mismatchPEM, keyPEM: gap05KeyPEM(t, otherKey)},
		{name: "expired certificate", certPEM: expiredPEM, keyPEM: gap05KeyPEM(t, rsaKey)},
		{name: "certificate is not PEM", certPEM: []byte("not a certificate"), keyPEM: gap05KeyPEM(t, rsaKey)},
	}
	for _, tc := range rejected {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			out, err := client.ImportCertificate(ctx, &acm.ImportCertificateInput{
				Certificate: tc.certPEM,
				PrivateKey:  tc.keyPEM,
			})
			if err == nil {
				t.Fatalf("ImportCertificate succeeded (ARN %s), want ValidationException", aws.ToString(out.CertificateArn))
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" {
				t.Fatalf("ImportCertificate error = %v, want ValidationException", err)
			}
		})
	}

	t.Run("turns EXPIRED after NotAfter", func(t *testing.T) {
		certPEM, cert := gap05SelfSigned(t, gap05CertSpec{
			cn:        "short.example.test",
			notBefore: now.Add(-time.Hour),
			notAfter:  time.Now().Add(3 * time.Second),
		}, rsaKey)
		arn := gap05Import(ctx, t, client, certPEM, gap05KeyPEM(t, rsaKey))
		if got := gap05Describe(ctx, t, client, arn); got.Status != acmtypes.CertificateStatusIssued {
			t.Fatalf("Status right after import = %q, want ISSUED", got.Status)
		}

		deadline := cert.NotAfter.Add(15 * time.Second)
		for {
			got := gap05Describe(ctx, t, client, arn)
			if got.Status == acmtypes.CertificateStatusExpired {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Status = %q %s after NotAfter, want EXPIRED", got.Status, time.Since(cert.NotAfter).Round(time.Second))
			}
			time.Sleep(250 * time.Millisecond)
		}
	})
}

// Gap 5: RequestCertificate with DNS validation must publish AWS-shaped
// validation CNAMEs (one shared by *.d and d), become ISSUED once the CNAME
// exists in a Route 53 hosted zone, and honour IdempotencyToken.
func TestGap05ACMDNSValidation(t *testing.T) {
	ctx := context.Background()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatalf("AWS config: %v", err)
	}
	client := acm.NewFromConfig(cfg)
	r53 := route53.NewFromConfig(cfg)

	const (
		domain = "*.autostop.example.test"
		apex   = "autostop.example.test"
	)
	request := func(token string) string {
		t.Helper()
		out, err := client.RequestCertificate(ctx, &acm.RequestCertificateInput{
			DomainName:              aws.String(domain),
			SubjectAlternativeNames: []string{apex},
			ValidationMethod:        acmtypes.ValidationMethodDns,
			IdempotencyToken:        aws.String(token),
		})
		if err != nil {
			t.Fatalf("RequestCertificate(token %q): %v", token, err)
		}
		return aws.ToString(out.CertificateArn)
	}

	arn := request("gap05token")

	// Idempotency: same token and domain → same certificate; another token → a new one.
	if again := request("gap05token"); again != arn {
		t.Errorf("RequestCertificate with the same IdempotencyToken returned %s, want the first ARN %s", again, arn)
	}
	if other := request("gap05other"); other == arn {
		t.Errorf("RequestCertificate with a different IdempotencyToken returned the same ARN %s", arn)
	}

	// AWS fills in the validation records a few seconds after the request.
	var cert *acmtypes.CertificateDetail
	deadline := time.Now().Add(30 * time.Second)
	for {
		cert = gap05Describe(ctx, t, client, arn)
		if len(cert.DomainValidationOptions) == 2 && cert.DomainValidationOptions[0].ResourceRecord != nil &&
			cert.DomainValidationOptions[1].ResourceRecord != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DomainValidationOptions = %s, want a DNS ResourceRecord for %s and %s", gap05DVOs(cert), domain, apex)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if cert.Status != acmtypes.CertificateStatusPendingValidation {
		t.Fatalf("Status before the validation record exists = %q, want PENDING_VALIDATION", cert.Status)
	}

	records := map[string]bool{}
	for _, dvo := range cert.DomainValidationOptions {
		rr := dvo.ResourceRecord
		records[string(rr.Type)+" "+aws.ToString(rr.Name)+" "+aws.ToString(rr.Value)] = true
	}
	if len(records) != 1 {
		t.Fatalf("DomainValidationOptions = %s, want %s and %s to share one validation record", gap05DVOs(cert), domain, apex)
	}
	rec := *cert.DomainValidationOptions[0].ResourceRecord
	nameRE := regexp.MustCompile(`^_[0-9a-f]{32}\.` + regexp.QuoteMeta(apex) + `\.$`)
	valueRE := regexp.MustCompile(`^_[0-9a-f]{32}\.[a-z0-9]+\.acm-validations\.aws\.$`)
	if rec.Type != acmtypes.RecordTypeCname || !nameRE.MatchString(aws.ToString(rec.Name)) || !valueRE.MatchString(aws.ToString(rec.Value)) {
		t.Fatalf("validation record = %s %s %s, want CNAME _<32 hex>.%s. -> _<32 hex>.<label>.acm-validations.aws.",
			rec.Type, aws.ToString(rec.Name), aws.ToString(rec.Value), apex)
	}

	// Publish the record in a hosted zone of the parent domain.
	zone, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name:            aws.String("example.test"),
		CallerReference: aws.String(fmt.Sprintf("gap05-%d", time.Now().UnixNano())),
	})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	_, err = r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: zone.HostedZone.Id,
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{
			Action: r53types.ChangeActionUpsert,
			ResourceRecordSet: &r53types.ResourceRecordSet{
				Name:            rec.Name,
				Type:            r53types.RRTypeCname,
				TTL:             aws.Int64(300),
				ResourceRecords: []r53types.ResourceRecord{{Value: rec.Value}},
			},
		}}},
	})
	if err != nil {
		t.Fatalf("ChangeResourceRecordSets: %v", err)
	}

	deadline = time.Now().Add(60 * time.Second)
	for {
		cert = gap05Describe(ctx, t, client, arn)
		if cert.Status == acmtypes.CertificateStatusIssued {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Status = %q after the validation CNAME was published, want ISSUED", cert.Status)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, dvo := range cert.DomainValidationOptions {
		if dvo.ValidationStatus != acmtypes.DomainStatusSuccess {
			t.Errorf("ValidationStatus of %s = %q, want SUCCESS", aws.ToString(dvo.DomainName), dvo.ValidationStatus)
		}
	}
	if cert.IssuedAt == nil || cert.NotAfter == nil || !cert.NotAfter.After(time.Now()) {
		t.Errorf("issued certificate IssuedAt = %v NotAfter = %v, want both set, NotAfter in the future", cert.IssuedAt, cert.NotAfter)
	}
}

// gap05CertSpec describes a self-signed test certificate.
type gap05CertSpec struct {
	cn                  string
	dnsNames            []string
	notBefore, notAfter time.Time
}

func gap05ACMClient(ctx context.Context, t *testing.T) *acm.Client {
	t.Helper()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatalf("AWS config: %v", err)
	}
	return acm.NewFromConfig(cfg)
}

func gap05RSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA key: %v", err)
	}
	return k
}

// gap05SelfSigned returns a self-signed certificate for spec, signed by key,
// as PEM and parsed. Times are truncated to seconds, as X.509 stores them.
func gap05SelfSigned(t *testing.T, spec gap05CertSpec, key crypto.Signer) ([]byte, *x509.Certificate) {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatalf("serial: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: spec.cn, Organization: []string{"Autostop Test"}},
		DNSNames:     spec.dnsNames,
		NotBefore:    spec.notBefore.Truncate(time.Second),
		NotAfter:     spec.notAfter.Truncate(time.Second),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert
}

func gap05KeyPEM(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshal key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// gap05Serial formats a serial number as ACM does: colon-separated hex bytes.
func gap05Serial(n *big.Int) string {
	b := n.Bytes()
	parts := make([]string, len(b))
	for i, v := range b {
		parts[i] = fmt.Sprintf("%02x", v)
	}
	return strings.Join(parts, ":")
}

func gap05Import(ctx context.Context, t *testing.T, client *acm.Client, certPEM, keyPEM []byte) string {
	t.Helper()
	out, err := client.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certPEM, PrivateKey: keyPEM})
	if err != nil {
		t.Fatalf("ImportCertificate: %v", err)
	}
	return aws.ToString(out.CertificateArn)
}

func gap05Describe(ctx context.Context, t *testing.T, client *acm.Client, arn string) *acmtypes.CertificateDetail {
	t.Helper()
	out, err := client.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)})
	if err != nil {
		t.Fatalf("DescribeCertificate(%s): %v", arn, err)
	}
	return out.Certificate
}

// gap05DVOs renders domain validation options for failure messages.
func gap05DVOs(cert *acmtypes.CertificateDetail) string {
	var parts []string
	for _, d := range cert.DomainValidationOptions {
		rr := "<none>"
		if d.ResourceRecord != nil {
			rr = fmt.Sprintf("%s %s -> %s", d.ResourceRecord.Type, aws.ToString(d.ResourceRecord.Name), aws.ToString(d.ResourceRecord.Value))
		}
		parts = append(parts, fmt.Sprintf("{%s: %s}", aws.ToString(d.DomainName), rr))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
