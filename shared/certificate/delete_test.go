package certificate

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/dns/dnstest"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

func TestDeleteCreatedBy(t *testing.T) {
	rec := validation(domain)
	recID := dns.NormalizeName(*rec.Name) + " CNAME"
	putRecord := func(r53 *dnstest.Route53, value string) {
		r53.Put(zone, r53types.ResourceRecordSet{Name: rec.Name, Type: r53types.RRTypeCname, TTL: aws.Int64(300),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}}})
	}
	mine := ownership.Tags("web", "exec-1", nil)
	names := []string{wildcard, domain}

	tests := []struct {
		name string
		zone string
		// anyExecution deletes for the load balancer's deletion (execution
		// ""), not for exec-1's rollback.
		anyExecution bool
		// setup returns the ARNs that must be deleted and those that must stay.
		setup       func(a *fakeACM, r53 *dnstest.Route53) (gone, kept []string)
		wantRecord  bool // the validation record is still in the zone afterwards
		wantLeft    []string
		wantDeleted int  // resources reported deleted
		wantInUse   bool // the error is a StillInUse for the certificate
	}{
		{
			name: "ours: certificate and its record; others untouched",
			zone: zone,
			setup: func(a *fakeACM, r53 *dnstest.Route53) ([]string, []string) {
				putRecord(r53, *rec.Value)
				return []string{a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusPendingValidation, names, mine)},
					[]string{
						a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{"*.other.example.test"}, ownership.Tags("web", "exec-0", nil)),
						a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{"*.x.example.test"}, ownership.Tags("api", "exec-1", nil)),
						a.add(acmtypes.CertificateTypeImported, acmtypes.CertificateStatusIssued, names, mine), // imported: not autostop's doing
						a.add(acmtypes.CertificateTypeImported, acmtypes.CertificateStatusIssued, names, nil),  // same domain, needs no record
					}
			},
			wantDeleted: 2,
		},
		{
			name: "another certificate of the domain needs the shared record: kept",
			zone: zone,
			setup: func(a *fakeACM, r53 *dnstest.Route53) ([]string, []string) {
				putRecord(r53, *rec.Value)
				return []string{a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, names, mine)},
					[]string{a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{domain}, map[string]string{"team": "x"})}
			},
			wantRecord:  true,
			wantDeleted: 1,
		},
		{
			name: "another certificate of the domain, its records not known yet: record left",
			zone: zone,
			setup: func(a *fakeACM, r53 *dnstest.Route53) ([]string, []string) {
				putRecord(r53, *rec.Value)
				other := a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusPendingValidation, []string{wildcard}, ownership.Tags("web", "exec-2", nil))
				a.set(other, func(d *acmtypes.CertificateDetail) { d.DomainValidationOptions[0].ResourceRecord = nil })
				return []string{a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, names, mine)}, []string{other}
			},
			wantRecord:  true,
			wantLeft:    []string{recID},
			wantDeleted: 1,
		},
		{
			name: "record with another value: not ours, kept",
			zone: zone,
			setup: func(a *fakeACM, r53 *dnstest.Route53) ([]string, []string) {
				putRecord(r53, "elsewhere.example.")
				return []string{a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, names, mine)}, nil
			},
			wantRecord:  true,
			wantDeleted: 1,
		},
		{
			name: "record already gone: done",
			zone: zone,
			setup: func(a *fakeACM, _ *dnstest.Route53) ([]string, []string) {
				return []string{a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, names, mine)}, nil
			},
			wantDeleted: 1,
		},
		{
			name: "in use: certificate and record left, waiting (no sleep here)",
			zone: zone,
			setup: func(a *fakeACM, r53 *dnstest.Route53) ([]string, []string) {
				putRecord(r53, *rec.Value)
				arn := a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, names, mine)
				a.certs[arn].inUse = 1
				return nil, []string{arn}
			},
			wantRecord: true,
			wantLeft:   []string{"certificate"},
			wantInUse:  true,
		},
		{
			name: "any execution: both executions' certificates and the record; other load balancers', foreign and imported untouched",
			zone: zone, anyExecution: true,
			setup: func(a *fakeACM, r53 *dnstest.Route53) ([]string, []string) {
				putRecord(r53, *rec.Value)
				gone := []string{
					a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusPendingValidation, names, mine),
					a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{"*.other.example.test"}, ownership.Tags("web", "exec-0", nil)),
				}
				kept := []string{
					a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{"*.x.example.test"}, ownership.Tags("api", "exec-1", nil)),
					a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{"*.y.example.test"}, map[string]string{"team": "x"}),
					a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{"*.z.example.test"},
						map[string]string{ownership.LoadBalancerKey: "web", ownership.ExecutionKey: "exec-1"}), // no managed-by: not autostop's
					a.add(acmtypes.CertificateTypeImported, acmtypes.CertificateStatusIssued, names, mine),
					a.add(acmtypes.CertificateTypeImported, acmtypes.CertificateStatusIssued, names, nil),
				}
				return gone, kept
			},
			wantDeleted: 3, // two certificates, one record
		},
		{
			name: "any execution: another load balancer's certificate of the domain needs the shared record: kept",
			zone: zone, anyExecution: true,
			setup: func(a *fakeACM, r53 *dnstest.Route53) ([]string, []string) {
				putRecord(r53, *rec.Value)
				return []string{a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, names, ownership.Tags("web", "exec-0", nil))},
					[]string{a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{domain}, ownership.Tags("api", "exec-1", nil))}
			},
			wantRecord:  true,
			wantDeleted: 1,
		},
		{
			name: "any execution: in use: certificate and record left, waiting",
			zone: zone, anyExecution: true,
			setup: func(a *fakeACM, r53 *dnstest.Route53) ([]string, []string) {
				putRecord(r53, *rec.Value)
				arn := a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, names, ownership.Tags("web", "exec-0", nil))
				a.certs[arn].inUse = 1
				return nil, []string{arn}
			},
			wantRecord: true,
			wantLeft:   []string{"certificate"},
			wantInUse:  true,
		},
		{
			name: "other DNS: certificate only",
			zone: "",
			setup: func(a *fakeACM, r53 *dnstest.Route53) ([]string, []string) {
				putRecord(r53, *rec.Value) // not ours to judge without a zone
				return []string{a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, names, mine)}, nil
			},
			wantRecord:  true,
			wantDeleted: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, r53 := newFakeACM(), dnstest.New(zone)
			gone, kept := tt.setup(a, r53)
			execution := "exec-1"
			if tt.anyExecution {
				execution = ""
			}
			deleted, left, err := DeleteCreatedBy(context.Background(), Clients{ACM: a, Route53: r53}, "web", execution, tt.zone)
			inUse, rest := steperr.SplitInUse(err)
			if rest != nil || (len(inUse) > 0) != tt.wantInUse {
				t.Fatalf("DeleteCreatedBy: %v (want in use: %v)", err, tt.wantInUse)
			}
			for _, arn := range gone {
				if _, ok := a.certs[arn]; ok {
					t.Errorf("certificate %s not deleted", arn)
				}
			}
			for _, arn := range kept {
				if _, ok := a.certs[arn]; !ok {
					t.Errorf("certificate %s deleted, must stay", arn)
				}
			}
			if got := r53.Get(zone, *rec.Name, r53types.RRTypeCname) != nil; got != tt.wantRecord {
				t.Errorf("validation record present = %v, want %v", got, tt.wantRecord)
			}
			if len(deleted) != tt.wantDeleted {
				t.Errorf("deleted = %+v, want %d resources", deleted, tt.wantDeleted)
			}
			var leftIDs []string
			for _, r := range left {
				if r.Kind == "certificate" {
					leftIDs = append(leftIDs, "certificate")
				} else {
					leftIDs = append(leftIDs, r.ID)
				}
			}
			if !slices.Equal(leftIDs, tt.wantLeft) {
				t.Errorf("left = %+v, want %v", left, tt.wantLeft)
			}
			for _, r := range deleted {
				if r.Action != step.Deleted {
					t.Errorf("deleted resource %+v has action %q", r, r.Action)
				}
			}
		})
	}
}

func TestDeleteCreatedByErrors(t *testing.T) {
	a, r53 := newFakeACM(), dnstest.New(zone)
	arn := a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{wildcard, domain}, ownership.Tags("web", "exec-1", nil))
	a.fail["DeleteCertificate"] = errors.New("access denied")
	deleted, left, err := DeleteCreatedBy(context.Background(), Clients{ACM: a, Route53: r53}, "web", "exec-1", zone)
	if err == nil || len(deleted) != 0 || len(left) != 1 || left[0].ID != arn {
		t.Fatalf("deleted %v, left %v, err %v; want the certificate left and the error", deleted, left, err)
	}
}

// TestDeleteCreatedByInUseThenFree: the rollback's next pass deletes the
// certificate and its record once AWS lets it go.
func TestDeleteCreatedByInUseThenFree(t *testing.T) {
	a, r53 := newFakeACM(), dnstest.New(zone)
	arn := a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{wildcard, domain}, ownership.Tags("web", "exec-1", nil))
	rec := a.certs[arn].detail.DomainValidationOptions[0].ResourceRecord
	r53.Put(zone, r53types.ResourceRecordSet{Name: rec.Name, Type: r53types.RRTypeCname, TTL: aws.Int64(300),
		ResourceRecords: []r53types.ResourceRecord{{Value: rec.Value}}})
	a.certs[arn].inUse = 1
	c := Clients{ACM: a, Route53: r53}
	if _, left, err := DeleteCreatedBy(context.Background(), c, "web", "exec-1", zone); len(left) != 1 {
		t.Fatalf("first pass: left %v, err %v; want the certificate waiting", left, err)
	}
	deleted, left, err := DeleteCreatedBy(context.Background(), c, "web", "exec-1", zone)
	if err != nil || len(left) != 0 || len(deleted) != 2 {
		t.Fatalf("second pass: deleted %v left %v err %v; want certificate and record", deleted, left, err)
	}
}

// TestDeleteCreatedByAnyExecutionRecords: with an empty execution (the
// DeleteLoadBalancer workflow) the validation records of every execution's
// certificates go with them; another load balancer's and a foreign
// certificate's records stay.
func TestDeleteCreatedByAnyExecutionRecords(t *testing.T) {
	a, r53 := newFakeACM(), dnstest.New(zone)
	cert := func(base string, tags map[string]string) (arn, record string) {
		arn = a.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusIssued, []string{"*." + base, base}, tags)
		rec := validation(base)
		r53.Put(zone, r53types.ResourceRecordSet{Name: rec.Name, Type: r53types.RRTypeCname, TTL: aws.Int64(300),
			ResourceRecords: []r53types.ResourceRecord{{Value: rec.Value}}})

		return arn, *rec.Name
	}
	first, firstRec := cert("old.example.test", ownership.Tags("web", "exec-0", nil))
	second, secondRec := cert(domain, ownership.Tags("web", "exec-1", nil))
	api, apiRec := cert("api.example.test", ownership.Tags("api", "exec-1", nil))
	foreign, foreignRec := cert("foreign.example.test", map[string]string{"team": "x"})

	deleted, left, err := DeleteCreatedBy(context.Background(), Clients{ACM: a, Route53: r53}, "web", "", zone)
	if err != nil || len(left) != 0 {
		t.Fatalf("deleted %v, left %v, err %v", deleted, left, err)
	}
	var got []string
	for _, r := range deleted {
		if r.Action != step.Deleted {
			t.Errorf("deleted resource %+v has action %q", r, r.Action)
		}
		got = append(got, r.ID)
	}
	slices.Sort(got)
	want := []string{first, second, recordID(firstRec), recordID(secondRec)}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("deleted %v, want %v", got, want)
	}
	for _, arn := range []string{first, second} {
		if _, ok := a.certs[arn]; ok {
			t.Errorf("certificate %s not deleted", arn)
		}
	}
	for _, arn := range []string{api, foreign} {
		if _, ok := a.certs[arn]; !ok {
			t.Errorf("certificate %s deleted, must stay", arn)
		}
	}
	for name, want := range map[string]bool{firstRec: false, secondRec: false, apiRec: true, foreignRec: true} {
		if got := r53.Get(zone, name, r53types.RRTypeCname) != nil; got != want {
			t.Errorf("record %s present = %v, want %v", name, got, want)
		}
	}
}
