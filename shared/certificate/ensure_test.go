package certificate

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/dns/dnstest"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	zone     = "Z0TEST"
	domain   = "autostop.example.test"
	wildcard = "*.autostop.example.test"
)

func input(provider string, cs *spec.CertificateSpec) step.Input {
	return step.Input{
		Spec: spec.LoadBalancerSpec{
			Name: "web", Domain: domain, Certificate: cs, Tags: map[string]string{"team": "a"},
			DNS: spec.DNSSpec{Provider: provider, HostedZoneID: zone},
		},
		Execution: "exec-1",
	}
}

func issueIn(provider string) step.Input { return input(provider, &spec.CertificateSpec{Issue: true}) }

func TestEnsureAttach(t *testing.T) {
	type setup func(a *fakeACM) string // returns the ARN to attach
	issued := func(names ...string) setup {
		return func(a *fakeACM) string {
			return a.add(acmtypes.CertificateTypeImported, acmtypes.CertificateStatusIssued, names, nil)
		}
	}
	tests := []struct {
		name    string
		setup   setup
		wantErr any
	}{
		{"issued, covers the wildcard", issued(wildcard, domain), nil},
		{"names in other case and with a dot", issued("*.AutoStop.example.test.", "x.example.test"), nil},
		{"does not cover", issued("*.other.example.test"), new(*steperr.InvalidRequest)},
		{"covers only the apex", issued(domain), new(*steperr.InvalidRequest)},
		{"pending", func(a *fakeACM) string {
			return a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusPendingValidation, []string{wildcard}, nil)
		}, new(*steperr.InvalidRequest)},
		{"expires in 10 days", func(a *fakeACM) string {
			arn := issued(wildcard)(a)
			a.set(arn, func(d *acmtypes.CertificateDetail) { d.NotAfter = aws.Time(time.Now().Add(10 * 24 * time.Hour)) })
			return arn
		}, new(*steperr.InvalidRequest)},
		{"expired", func(a *fakeACM) string {
			arn := issued(wildcard)(a)
			a.set(arn, func(d *acmtypes.CertificateDetail) { d.Status = acmtypes.CertificateStatusExpired })
			return arn
		}, new(*steperr.InvalidRequest)},
		{"missing", func(*fakeACM) string { return "arn:aws:acm:us-east-1:000000000000:certificate/gone" }, new(*steperr.NotFound)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r53 := newFakeACM(), dnstest.New(zone)
			arn := tt.setup(a)
			in := input(spec.ProviderRoute53, &spec.CertificateSpec{ARN: arn})
			in.Results.Certificate = &step.CertificateResult{ARN: arn, Attempts: 2}
			res, err := Ensure(context.Background(), Clients{ACM: a, Route53: r53}, in)
			if tt.wantErr != nil {
				if !errors.As(err, tt.wantErr) {
					t.Fatalf("err = %v (%T), want %T", err, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			want := []step.Resource{{Kind: "certificate", ID: arn, Action: step.Adopted}}
			if res.ARN != arn || res.Status != "ISSUED" || res.RequestedByAutostop || res.Attempts != 3 || !slices.Equal(res.Resources, want) {
				t.Errorf("result = %+v, want ARN %s ISSUED adopted, attempts 3", res, arn)
			}
			if a.mutating() != 0 || len(r53.Calls()) != 0 {
				t.Errorf("calls: ACM %v, Route 53 %v; want DescribeCertificate only", a.calls, r53.Calls())
			}
		})
	}
}

func TestEnsureNoCertificate(t *testing.T) {
	a, r53 := newFakeACM(), dnstest.New(zone)
	res, err := Ensure(context.Background(), Clients{ACM: a, Route53: r53}, input(spec.ProviderOther, nil))
	if err != nil || res.ARN != "" || res.Resources == nil || len(a.calls)+len(r53.Calls()) != 0 {
		t.Fatalf("res = %+v, err %v, calls %v %v; want an empty result and no call", res, err, a.calls, r53.Calls())
	}
}

func TestEnsureIssue(t *testing.T) {
	mineTags := ownership.Tags("web", "exec-0", nil)
	tests := []struct {
		name         string
		provider     string
		setup        func(a *fakeACM, r53 *dnstest.Route53) string // returns the ARN expected to be reused, "" for a new one
		recordsAfter int
		wantAction   string
		wantRecordUp bool // a validation record upserted
		wantErr      any
	}{
		{
			name:         "Route 53: request, one shared validation record upserted",
			provider:     spec.ProviderRoute53,
			wantAction:   step.Created,
			wantRecordUp: true,
		},
		{
			name:       "other DNS: request, records returned",
			provider:   spec.ProviderOther,
			wantAction: step.Created,
		},
		{
			name:         "records not known yet: pending, no Route 53 call",
			provider:     spec.ProviderRoute53,
			recordsAfter: 5,
			wantAction:   step.Created,
		},
		{
			name:     "validation record already there: no change",
			provider: spec.ProviderRoute53,
			setup: func(_ *fakeACM, r53 *dnstest.Route53) string {
				r := validation(domain)
				r53.Put(zone, r53types.ResourceRecordSet{Name: r.Name, Type: r53types.RRTypeCname, TTL: aws.Int64(300),
					ResourceRecords: []r53types.ResourceRecord{{Value: r.Value}}})
				return ""
			},
			wantAction: step.Created,
		},
		{
			name:     "validation name taken by another value: Conflict",
			provider: spec.ProviderRoute53,
			setup: func(_ *fakeACM, r53 *dnstest.Route53) string {
				r53.Put(zone, r53types.ResourceRecordSet{Name: validation(domain).Name, Type: r53types.RRTypeCname, TTL: aws.Int64(300),
					ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("elsewhere.example.")}}})
				return ""
			},
			wantErr: new(*steperr.Conflict),
		},
		{
			name:     "this load balancer's issued certificate: reused, no call to Route 53",
			provider: spec.ProviderRoute53,
			setup: func(a *fakeACM, _ *dnstest.Route53) string {
				a.add(acmtypes.CertificateTypeImported, acmtypes.CertificateStatusIssued, []string{wildcard, domain}, mineTags)
				a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{wildcard, domain}, ownership.Tags("api", "exec-0", nil))
				a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusPendingValidation, []string{wildcard, domain}, mineTags)
				return a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{wildcard, domain}, mineTags)
			},
			wantAction: step.Adopted,
		},
		{
			name:     "pending certificate this execution requested: found, still created",
			provider: spec.ProviderRoute53,
			setup: func(a *fakeACM, _ *dnstest.Route53) string {
				return a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusPendingValidation, []string{wildcard, domain},
					ownership.Tags("web", "exec-1", nil))
			},
			wantAction:   step.Created,
			wantRecordUp: true,
		},
		{
			name:     "only other load balancers' and foreign certificates: a new one",
			provider: spec.ProviderRoute53,
			setup: func(a *fakeACM, _ *dnstest.Route53) string {
				a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{wildcard, domain}, ownership.Tags("api", "e", nil))
				a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{wildcard, domain}, map[string]string{"team": "x"})
				a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{"*.other.example.test"}, mineTags)
				return ""
			},
			wantAction:   step.Created,
			wantRecordUp: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r53 := newFakeACM(), dnstest.New(zone)
			a.recordsAfter = tt.recordsAfter
			reuse := ""
			if tt.setup != nil {
				reuse = tt.setup(a, r53)
			}
			before := len(a.certs)
			res, err := Ensure(context.Background(), Clients{ACM: a, Route53: r53}, issueIn(tt.provider))
			if tt.wantErr != nil {
				if !errors.As(err, tt.wantErr) {
					t.Fatalf("err = %v (%T), want %T", err, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if !res.RequestedByAutostop || res.Attempts != 1 {
				t.Errorf("Issued %v, Attempts %d; want true, 1", res.RequestedByAutostop, res.Attempts)
			}
			if reuse != "" {
				if res.ARN != reuse || len(a.certs) != before || a.count("RequestCertificate") != 0 {
					t.Errorf("ARN %s (requests %d), want %s reused", res.ARN, a.count("RequestCertificate"), reuse)
				}
			} else {
				checkRequest(t, a)
				if len(a.certs) != before+1 {
					t.Errorf("%d certificates, want one more", len(a.certs)-before)
				}
			}
			if res.Resources[0] != (step.Resource{Kind: "certificate", ID: res.ARN, Action: tt.wantAction}) {
				t.Errorf("resources[0] = %+v, want certificate %s %s", res.Resources[0], res.ARN, tt.wantAction)
			}

			rec := validation(domain)
			switch {
			case tt.recordsAfter > 0:
				if res.Status != "PENDING_VALIDATION" || len(res.ValidationRecords) != 0 || len(r53.Calls()) != 0 {
					t.Errorf("status %s, records %v, Route 53 calls %v; want pending, none, none", res.Status, res.ValidationRecords, r53.Calls())
				}
			case res.Status == "ISSUED":
				if len(r53.Calls()) != 0 {
					t.Errorf("Route 53 calls %v for an issued certificate", r53.Calls())
				}
			default:
				want := []step.Record{{Name: *rec.Name, Type: "CNAME", Value: *rec.Value}}
				if !slices.Equal(res.ValidationRecords, want) {
					t.Errorf("ValidationRecords = %v, want the one shared record %v", res.ValidationRecords, want)
				}
			}
			if tt.provider == spec.ProviderOther && len(r53.Calls()) != 0 {
				t.Errorf("Route 53 calls %v with other DNS", r53.Calls())
			}
			if got := r53.Mutating(); got != map[bool]int{true: 1, false: 0}[tt.wantRecordUp] {
				t.Errorf("%d Route 53 changes (%v), want record upserted = %v", got, r53.Calls(), tt.wantRecordUp)
			}
			if tt.wantRecordUp {
				got := r53.Get(zone, *rec.Name, r53types.RRTypeCname)
				if got == nil || dns.Values(*got)[0] != *rec.Value {
					t.Errorf("validation record = %+v, want %s", got, *rec.Value)
				}
				if !slices.Contains(res.Resources, step.Resource{Kind: "record", ID: dns.NormalizeName(*rec.Name) + " CNAME", Action: step.Created}) {
					t.Errorf("resources %v lack the validation record", res.Resources)
				}
			}
		})
	}
}

func checkRequest(t *testing.T, a *fakeACM) {
	t.Helper()
	if len(a.requests) != 1 {
		t.Fatalf("%d RequestCertificate calls, want 1", len(a.requests))
	}
	r := a.requests[0]
	if aws.ToString(r.DomainName) != wildcard || !slices.Equal(r.SubjectAlternativeNames, []string{domain}) || r.ValidationMethod != acmtypes.ValidationMethodDns {
		t.Errorf("request %s %v %s, want %s [%s] DNS", aws.ToString(r.DomainName), r.SubjectAlternativeNames, r.ValidationMethod, wildcard, domain)
	}
	if tok := aws.ToString(r.IdempotencyToken); !regexp.MustCompile(`^\w{1,32}$`).MatchString(tok) {
		t.Errorf("IdempotencyToken %q is not 1–32 word characters", tok)
	}
	tags := tagMap(r.Tags)
	if !ownership.CreatedBy(tags, "web", "exec-1") || tags["team"] != "a" {
		t.Errorf("request tags = %v, want ownership tags and the user's", tags)
	}
}

// The wait loop: each re-run finds the same certificate through the
// previous result and makes no mutating call; ISSUED ends it; Attempts
// counts; the first attempt's "created" audit entries stay.
func TestEnsureWaitLoop(t *testing.T) {
	ctx := context.Background()
	a, r53 := newFakeACM(), dnstest.New(zone)
	a.recordsAfter = 1 // the first describe has no records yet
	c := Clients{ACM: a, Route53: r53}
	in := issueIn(spec.ProviderRoute53)
	in.Timing = step.Timing{CertificateWaitSeconds: 30, CertificateMaxWaitSeconds: 600}

	first, err := Ensure(ctx, c, in)
	if err != nil || first.Status != "PENDING_VALIDATION" || len(first.ValidationRecords) != 0 {
		t.Fatalf("first = %+v, %v; want pending without records", first, err)
	}
	in.Results.Certificate = &first
	second, err := Ensure(ctx, c, in)
	if err != nil || len(second.ValidationRecords) != 1 || r53.Mutating() != 1 || second.Attempts != 2 {
		t.Fatalf("second = %+v, %v, %d changes; want the record upserted once, attempts 2", second, err, r53.Mutating())
	}
	in.Results.Certificate = &second
	mutating := a.mutating() + r53.Mutating()
	third, err := Ensure(ctx, c, in)
	if err != nil || third.Status != "PENDING_VALIDATION" || a.mutating()+r53.Mutating() != mutating || third.Attempts != 3 {
		t.Fatalf("third = %+v, %v; want pending and 0 mutating calls", third, err)
	}
	if !slices.Equal(third.Resources, second.Resources) {
		t.Errorf("resources %v, want %v kept", third.Resources, second.Resources)
	}
	// The waits between checks back off: 30 s, 60 s, 120 s.
	if first.NextWaitSeconds != 30 || second.NextWaitSeconds != 60 || third.NextWaitSeconds != 120 {
		t.Errorf("next waits %d, %d, %d s; want 30, 60, 120", first.NextWaitSeconds, second.NextWaitSeconds, third.NextWaitSeconds)
	}

	a.set(first.ARN, func(d *acmtypes.CertificateDetail) { d.Status = acmtypes.CertificateStatusIssued })
	in.Results.Certificate = &third
	calls := len(r53.Calls())
	fourth, err := Ensure(ctx, c, in)
	if err != nil || fourth.Status != "ISSUED" || fourth.NextWaitSeconds != 0 || fourth.ARN != first.ARN || len(r53.Calls()) != calls || a.mutating()+r53.Mutating() != mutating {
		t.Fatalf("fourth = %+v, %v; want ISSUED, same ARN, no Route 53 call", fourth, err)
	}
	if a.count("RequestCertificate") != 1 || a.count("ListCertificates") != 1 {
		t.Errorf("RequestCertificate %d, ListCertificates %d; want 1 each (re-runs use the previous result)", a.count("RequestCertificate"), a.count("ListCertificates"))
	}

	// The certificate fails validation: InvalidRequest.
	for _, status := range []acmtypes.CertificateStatus{acmtypes.CertificateStatusFailed, acmtypes.CertificateStatusValidationTimedOut} {
		a.set(first.ARN, func(d *acmtypes.CertificateDetail) {
			d.Status = status
			d.FailureReason = acmtypes.FailureReasonCaaError
		})
		var inv *steperr.InvalidRequest
		if _, err := Ensure(ctx, c, in); !errors.As(err, &inv) {
			t.Errorf("%s: err = %v, want InvalidRequest", status, err)
		}
	}
}

// A retry of the same execution after RequestCertificate succeeded but the
// function failed before returning: ListTagsForCertificate finds it, no
// second certificate.
func TestEnsureRetryFindsOwnRequest(t *testing.T) {
	ctx := context.Background()
	a, r53 := newFakeACM(), dnstest.New(zone)
	a.fail["DescribeCertificate"] = errors.New("connection reset")
	if _, err := Ensure(ctx, Clients{ACM: a, Route53: r53}, issueIn(spec.ProviderRoute53)); err == nil {
		t.Fatal("Ensure succeeded, want the injected failure")
	}
	delete(a.fail, "DescribeCertificate")
	res, err := Ensure(ctx, Clients{ACM: a, Route53: r53}, issueIn(spec.ProviderRoute53))
	if err != nil || len(a.certs) != 1 || a.count("RequestCertificate") != 1 || res.Resources[0].Action != step.Created {
		t.Fatalf("res %+v, err %v, %d certificates, %d requests; want the first one, created", res, err, len(a.certs), a.count("RequestCertificate"))
	}
}

func TestIdempotencyToken(t *testing.T) {
	a := IdempotencyToken("exec-1", "web", wildcard)
	if len(a) != 32 || a != IdempotencyToken("exec-1", "web", wildcard) || a == IdempotencyToken("exec-2", "web", wildcard) {
		t.Errorf("token %q: want 32 characters, stable per execution, different across executions", a)
	}
}
