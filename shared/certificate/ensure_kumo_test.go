package certificate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localenv"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// kumoEnv is a seeded local backend with step clients that go through the
// recording proxy and direct clients to inspect it.
type kumoEnv struct {
	b    *localaws.Backend
	env  *localenv.Environment
	zone string
	step Clients
	acm  *acm.Client
	r53  *route53.Client
}

func startKumo(t *testing.T) *kumoEnv {
	t.Helper()
	return startKumoWith(t, localaws.Options{})
}

// startKumoWith is startKumo on a backend started with opts.
func startKumoWith(t *testing.T, opts localaws.Options) *kumoEnv {
	t.Helper()
	seeded := localawstest.StartSeededWith(t, "test", opts)
	b, cfg, env, pcfg := seeded.Backend, seeded.Direct, seeded.Env, seeded.Proxied

	k := &kumoEnv{
		b: b, env: env, zone: strings.TrimPrefix(env.HostedZoneID, "/hostedzone/"),
		step: NewClients(pcfg, env.Region), acm: acm.NewFromConfig(cfg), r53: route53.NewFromConfig(cfg),
	}

	return k
}

// calls returns the calls made through the proxy since the last reset:
// "service:Operation", all or only the mutating ones.
func (k *kumoEnv) calls(onlyMutating bool) []string {
	var out []string
	for _, c := range k.b.Proxy().Calls() {
		if c.Caller == "test" && (c.Mutating || !onlyMutating) {
			out = append(out, c.Service+":"+c.Operation)
		}
	}

	return out
}

func (k *kumoEnv) input(execution, domain, provider string, cs *spec.CertificateSpec) step.Input {
	return step.Input{
		Spec: spec.LoadBalancerSpec{Name: "web", Region: k.env.Region, Domain: domain, Certificate: cs, Tags: map[string]string{"team": "a"},
			DNS: spec.DNSSpec{Provider: provider, HostedZoneID: k.zone}},
		Execution: execution,
	}
}

// cnames returns the CNAME records of the zone: normalized name → value.
func (k *kumoEnv) cnames(t *testing.T) map[string]string {
	t.Helper()
	out, err := k.r53.ListResourceRecordSets(context.Background(), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(k.zone)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, rrs := range out.ResourceRecordSets {
		if rrs.Type == r53types.RRTypeCname {
			m[dns.NormalizeName(aws.ToString(rrs.Name))] = dns.NormalizeName(dns.Values(rrs)[0])
		}
	}

	return m
}

// Issue with Route 53: one certificate for *.domain + domain, its one
// validation record upserted; re-invoking Ensure reaches ISSUED (kumo
// validates against its own Route 53 records) with no mutating call.
func TestEnsureIssueRoute53Kumo(t *testing.T) {
	ctx := context.Background()
	k := startKumo(t)
	domain := k.env.Domain
	in := k.input("exec-1", domain, spec.ProviderRoute53, &spec.CertificateSpec{Issue: true})

	first, err := Ensure(ctx, k.step, in)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	// The SDK may retry a call whose answer was lost (the machine is busy):
	// count operations, and check below that there is one certificate.
	if got, want := slices.Compact(k.calls(true)), []string{"acm:RequestCertificate", "route53:ChangeResourceRecordSets"}; !slices.Equal(got, want) {
		t.Errorf("mutating calls %v, want %v", got, want)
	}
	list, err := k.acm.ListCertificates(ctx, &acm.ListCertificatesInput{})
	if err != nil {
		t.Fatal(err)
	}
	requested := 0
	for _, s := range list.CertificateSummaryList {
		if s.Type == acmtypes.CertificateTypeAmazonIssued {
			requested++
		}
	}
	if requested != 1 {
		t.Errorf("%d requested certificates, want 1", requested)
	}
	if !first.RequestedByAutostop || first.Status != "PENDING_VALIDATION" || len(first.ValidationRecords) != 1 {
		t.Fatalf("first = %+v, want pending with one (shared) validation record", first)
	}
	cert, err := k.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(first.ARN)})
	if err != nil {
		t.Fatal(err)
	}
	d := cert.Certificate
	if aws.ToString(d.DomainName) != "*."+domain || !slices.Contains(d.SubjectAlternativeNames, domain) || d.Type != acmtypes.CertificateTypeAmazonIssued {
		t.Errorf("certificate %s %v %s, want *.%s with %s, AMAZON_ISSUED", aws.ToString(d.DomainName), d.SubjectAlternativeNames, d.Type, domain, domain)
	}
	for _, dv := range d.DomainValidationOptions {
		if dv.ValidationMethod != acmtypes.ValidationMethodDns {
			t.Errorf("validation method %s for %s, want DNS", dv.ValidationMethod, aws.ToString(dv.DomainName))
		}
	}
	rec := first.ValidationRecords[0]
	if got := k.cnames(t); len(got) != 1 || got[dns.NormalizeName(rec.Name)] != dns.NormalizeName(rec.Value) {
		t.Errorf("zone CNAMEs %v, want only %s -> %s", got, rec.Name, rec.Value)
	}

	// The wait loop: ISSUED on the next check, nothing changed.
	k.b.Proxy().Reset()
	in.Results.Certificate = &first
	second, err := Ensure(ctx, k.step, in)
	if err != nil || second.Status != "ISSUED" || second.ARN != first.ARN || second.Attempts != 2 {
		t.Fatalf("second = %+v, %v; want ISSUED, same ARN, attempts 2", second, err)
	}
	if !slices.Equal(second.Resources, first.Resources) {
		t.Errorf("resources %v, want the first attempt's %v", second.Resources, first.Resources)
	}
	in.Results.Certificate = &second
	if _, err := Ensure(ctx, k.step, in); err != nil {
		t.Fatal(err)
	}
	if got := k.calls(true); len(got) != 0 {
		t.Errorf("re-runs made mutating calls %v", got)
	}

	// A second execution for the same load balancer finds the certificate by its tags.
	t.Run("second execution reuses it", func(t *testing.T) {
		k.b.Proxy().Reset()
		res, err := Ensure(ctx, k.step, k.input("exec-2", domain, spec.ProviderRoute53, &spec.CertificateSpec{Issue: true}))
		if err != nil || res.ARN != first.ARN || res.Status != "ISSUED" || res.Resources[0].Action != step.Adopted {
			t.Fatalf("res = %+v, %v; want %s adopted", res, err, first.ARN)
		}
		if got := k.calls(true); len(got) != 0 {
			t.Errorf("mutating calls %v, want none", got)
		}
	})

	t.Run("tags", func(t *testing.T) {
		out, err := k.acm.ListTagsForCertificate(ctx, &acm.ListTagsForCertificateInput{CertificateArn: aws.String(first.ARN)})
		if err != nil {
			t.Fatal(err)
		}
		if tags := tagMap(out.Tags); !ownership.CreatedBy(tags, "web", "exec-1") || tags["team"] != "a" {
			t.Errorf("tags %v, want ownership by web/exec-1 and the user's", tags)
		}
	})

	t.Run("delete removes exactly what exec-1 created", func(t *testing.T) {
		// Another execution's delete: nothing.
		if deleted, left, err := DeleteCreatedBy(ctx, k.step, "web", "exec-2", k.zone); err != nil || len(deleted)+len(left) != 0 {
			t.Fatalf("DeleteCreatedBy(exec-2): deleted %v, left %v, %v; want nothing", deleted, left, err)
		}
		deleted, left, err := DeleteCreatedBy(ctx, k.step, "web", "exec-1", k.zone)
		if err != nil || len(left) != 0 || len(deleted) == 0 || deleted[0].Kind != kindCertificate || deleted[0].ID != first.ARN {
			t.Fatalf("deleted %v, left %v, err %v; want the certificate (and its record)\n%s", deleted, left, err, k.describeAll(t))
		}
		if _, err := k.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(first.ARN)}); err == nil {
			t.Errorf("certificate %s still there", first.ARN)
		}
		// The validation record goes with it, unless a certificate that
		// stays validates through the same record (the shared-record rule).
		needed := k.neededRecords(t)
		for name, value := range k.cnames(t) {
			if !needed[name+" "+value] {
				t.Errorf("validation record %s → %s left, and no remaining certificate needs it\n%s", name, value, k.describeAll(t))
			}
		}
		if len(needed) == 0 && len(deleted) != 2 {
			t.Errorf("deleted %v; want the certificate and its record", deleted)
		}
		for _, arn := range []string{k.env.CertificateARN, k.env.OtherCertificateARN} {
			if _, err := k.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)}); err != nil {
				t.Errorf("seeded certificate %s: %v", arn, err)
			}
		}
	})
}

// Issue with Route 53 and realistic timing (kumo patch 0028): ACM shows the
// validation record only a while after RequestCertificate and issues the
// certificate a while after the record exists. Ensure reports the
// certificate pending without records (no Route 53 call) until ACM shows
// the record, then upserts it once, and keeps reporting it pending until it
// is ISSUED; no attempt fails.
func TestEnsureIssueRoute53RealisticKumo(t *testing.T) {
	ctx := context.Background()
	k := startKumoWith(t, localaws.Options{RealisticTiming: true})
	in := k.input("exec-1", k.env.Domain, spec.ProviderRoute53, &spec.CertificateSpec{Issue: true})
	in.Timing = step.Timing{CertificateWaitSeconds: 30, CertificateMaxWaitSeconds: 600}

	requested := time.Now()
	first, err := Ensure(ctx, k.step, in)
	if err != nil {
		t.Fatalf("Ensure right after the request: %v", err)
	}
	if !first.RequestedByAutostop || first.Status != "PENDING_VALIDATION" || len(first.ValidationRecords) != 0 || first.NextWaitSeconds == 0 {
		t.Fatalf("first = %+v, want pending, no validation record yet, a wait before the next check", first)
	}
	if got := slices.Compact(k.calls(true)); !slices.Equal(got, []string{"acm:RequestCertificate"}) {
		t.Errorf("mutating calls %v, want only the request (no record to write yet)", got)
	}
	if got := k.cnames(t); len(got) != 0 {
		t.Errorf("zone CNAMEs %v before ACM shows the record, want none", got)
	}

	var written time.Time
	prev := first
	for prev.Status != "ISSUED" {
		if time.Since(requested) > 20*time.Second {
			t.Fatalf("still %s %v after the request: %+v", prev.Status, time.Since(requested), prev)
		}
		time.Sleep(250 * time.Millisecond)

		k.b.Proxy().Reset()
		in.Results.Certificate = &prev
		res, err := Ensure(ctx, k.step, in)
		if err != nil {
			t.Fatalf("Ensure attempt %d: %v", prev.Attempts+1, err)
		}
		if res.ARN != first.ARN || res.Attempts != prev.Attempts+1 {
			t.Fatalf("attempt %d = %+v, want %s", prev.Attempts+1, res, first.ARN)
		}
		mutating := k.calls(true)
		switch {
		case len(mutating) == 0:
		case written.IsZero() && slices.Equal(slices.Compact(mutating), []string{"route53:ChangeResourceRecordSets"}):
			written = time.Now()
			if len(res.ValidationRecords) != 1 || res.Status != "PENDING_VALIDATION" {
				t.Errorf("attempt that wrote the record = %+v, want pending with the one shared record", res)
			}
		default:
			t.Errorf("attempt %d made mutating calls %v, want the record written once", res.Attempts, mutating)
		}
		prev = res
	}

	if written.IsZero() {
		t.Fatal("ISSUED without the validation record written")
	}
	if d := written.Sub(requested); d < 1500*time.Millisecond {
		t.Errorf("record written %v after the request, want after ACM showed it (about 2 s)", d)
	}
	if d := time.Since(written); d < 2500*time.Millisecond {
		t.Errorf("ISSUED %v after the record was written, want about 3 s later", d)
	}
	rec := prev.ValidationRecords[0]
	if got := k.cnames(t); len(got) != 1 || got[dns.NormalizeName(rec.Name)] != dns.NormalizeName(rec.Value) {
		t.Errorf("zone CNAMEs %v, want only %s -> %s", got, rec.Name, rec.Value)
	}
}

// Other DNS: the validation record is returned for the user, Route 53 is
// not called, and the certificate stays pending.
func TestEnsureIssueOtherDNSKumo(t *testing.T) {
	ctx := context.Background()
	k := startKumo(t)
	domain := "apps.elsewhere.test"
	res, err := Ensure(ctx, k.step, k.input("exec-1", domain, spec.ProviderOther, &spec.CertificateSpec{Issue: true}))
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if res.Status != "PENDING_VALIDATION" || len(res.ValidationRecords) != 1 || !res.RequestedByAutostop {
		t.Fatalf("res = %+v, want pending with one validation record", res)
	}
	r := res.ValidationRecords[0]
	if r.Type != "CNAME" || !strings.HasSuffix(dns.NormalizeName(r.Name), "."+domain) || r.Value == "" {
		t.Errorf("validation record %+v, want a CNAME under %s", r, domain)
	}
	for _, c := range k.calls(false) {
		if strings.HasPrefix(c, "route53:") {
			t.Errorf("Route 53 called with other DNS: %s", c)
		}
	}
}

// Attach: the seeded certificate is adopted; others are InvalidRequest.
func TestEnsureAttachKumo(t *testing.T) {
	ctx := context.Background()
	k := startKumo(t)

	// The seeded "expired" certificate expires two seconds after import.
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := k.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(k.env.ExpiredCertificateARN)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Certificate.Status == acmtypes.CertificateStatusExpired || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	tests := []struct {
		name    string
		arn     string
		wantErr bool
	}{
		{"valid wildcard certificate", k.env.CertificateARN, false},
		{"does not cover the domain", k.env.OtherCertificateARN, true},
		{"expired", k.env.ExpiredCertificateARN, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k.b.Proxy().Reset()
			res, err := Ensure(ctx, k.step, k.input("exec-1", k.env.Domain, spec.ProviderRoute53, &spec.CertificateSpec{ARN: tt.arn}))
			if tt.wantErr {
				var inv *steperr.InvalidRequest
				if !errors.As(err, &inv) {
					t.Fatalf("err = %v, want InvalidRequest", err)
				}
			} else if err != nil || res.ARN != tt.arn || res.Status != "ISSUED" || res.RequestedByAutostop ||
				!slices.Equal(res.Resources, []step.Resource{{Kind: "certificate", ID: tt.arn, Action: step.Adopted}}) {
				t.Fatalf("res = %+v, %v; want %s adopted", res, err, tt.arn)
			}
			if got := k.calls(false); !slices.Equal(got, []string{"acm:DescribeCertificate"}) {
				t.Errorf("calls %v, want DescribeCertificate only", got)
			}
		})
	}
}

// describeAll lists the account's certificates (type, status, tags,
// validation records) and the zone's CNAMEs, for a failure message.
func (k *kumoEnv) describeAll(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	list, err := k.acm.ListCertificates(ctx, &acm.ListCertificatesInput{})
	if err != nil {
		return "list certificates: " + err.Error()
	}
	for _, c := range list.CertificateSummaryList {
		fmt.Fprintf(&b, "certificate %s %s %s %s", aws.ToString(c.CertificateArn), aws.ToString(c.DomainName), c.Type, c.Status)
		if tags, err := k.acm.ListTagsForCertificate(ctx, &acm.ListTagsForCertificateInput{CertificateArn: c.CertificateArn}); err == nil {
			fmt.Fprintf(&b, " tags %v", tagMap(tags.Tags))
		}
		if d, err := k.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: c.CertificateArn}); err == nil {
			for _, o := range d.Certificate.DomainValidationOptions {
				if o.ResourceRecord != nil {
					fmt.Fprintf(&b, " record %s→%s", aws.ToString(o.ResourceRecord.Name), aws.ToString(o.ResourceRecord.Value))
				}
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "zone CNAMEs %v", k.cnames(t))

	return b.String()
}

// neededRecords are the validation records ("name value", normalized) of
// the Amazon-issued certificates the account still holds.
func (k *kumoEnv) neededRecords(t *testing.T) map[string]bool {
	t.Helper()
	ctx := context.Background()
	out := map[string]bool{}
	list, err := k.acm.ListCertificates(ctx, &acm.ListCertificatesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list.CertificateSummaryList {
		if c.Type != acmtypes.CertificateTypeAmazonIssued {
			continue
		}
		d, err := k.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: c.CertificateArn})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range d.Certificate.DomainValidationOptions {
			if o.ResourceRecord != nil {
				out[dns.NormalizeName(aws.ToString(o.ResourceRecord.Name))+" "+dns.NormalizeName(aws.ToString(o.ResourceRecord.Value))] = true
			}
		}
	}

	return out
}
