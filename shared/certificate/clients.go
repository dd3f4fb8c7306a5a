// Package certificate is the ensure-certificate step of the
// ProvisionLoadBalancer workflow: the ACM certificate of the ALB's HTTPS
// listener. It attaches a certificate the user names, or requests a
// DNS-validated wildcard certificate for "*.<domain>" and "<domain>" and
// publishes its validation record (Route 53) or names it (other DNS).
//
// Waiting for ISSUED is the state machine's job: it invokes Ensure again
// until Status is ISSUED; each re-run finds the same certificate and makes no
// mutating call.
package certificate

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/step"
)

// ACM is the part of the ACM API the certificate step uses.
type ACM interface {
	DescribeCertificate(ctx context.Context, in *acm.DescribeCertificateInput, optFns ...func(*acm.Options)) (*acm.DescribeCertificateOutput, error)
	ListCertificates(ctx context.Context, in *acm.ListCertificatesInput, optFns ...func(*acm.Options)) (*acm.ListCertificatesOutput, error)
	ListTagsForCertificate(ctx context.Context, in *acm.ListTagsForCertificateInput, optFns ...func(*acm.Options)) (*acm.ListTagsForCertificateOutput, error)
	RequestCertificate(ctx context.Context, in *acm.RequestCertificateInput, optFns ...func(*acm.Options)) (*acm.RequestCertificateOutput, error)
	DeleteCertificate(ctx context.Context, in *acm.DeleteCertificateInput, optFns ...func(*acm.Options)) (*acm.DeleteCertificateOutput, error)
}

// Route53 is the part of the Route 53 API the certificate step uses (for
// the validation records).
type Route53 interface {
	dns.RecordLister
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
}

// Clients are the AWS clients the certificate step calls. ACM must be a
// client of the ALB's region.
type Clients struct {
	ACM     ACM
	Route53 Route53
}

// NewClients builds the clients from an SDK configuration; ACM is the
// client of region (the ALB's), Route 53 is global.
func NewClients(cfg aws.Config, region string) Clients {
	return Clients{
		ACM: acm.NewFromConfig(cfg, func(o *acm.Options) {
			if region != "" {
				o.Region = region
			}
		}),
		Route53: route53.NewFromConfig(cfg),
	}
}

// Resource kinds this package reports.
const (
	kindCertificate = "certificate"
	kindRecord      = "record"
)

// validationTTL is the TTL of the validation CNAME records.
const validationTTL = 300

// validationRecords returns a certificate's DNS validation records, once
// each: "*.d" and "d" share one record, and Route 53 rejects a change batch
// that names the same record twice. complete is false while some domain's
// record is not known yet (AWS fills them in shortly after the request).
func validationRecords(c *acmtypes.CertificateDetail) (records []step.Record, complete bool) {
	complete = len(c.DomainValidationOptions) > 0
	seen := map[string]bool{}
	for _, dv := range c.DomainValidationOptions {
		rr := dv.ResourceRecord
		if rr == nil || rr.Name == nil || rr.Value == nil {
			complete = false

			continue
		}
		key := recordKey(*rr.Name, *rr.Value)
		if seen[key] {
			continue
		}
		seen[key] = true
		records = append(records, step.Record{Name: *rr.Name, Type: string(rr.Type), Value: *rr.Value})
	}

	return records, complete
}

// recordKey identifies a record by its normalized name and value.
func recordKey(name, value string) string {
	return dns.NormalizeName(name) + " " + dns.NormalizeName(value)
}

// recordID names a record in step.Resource lists: "<name> CNAME".
func recordID(name string) string {
	return dns.NormalizeName(name) + " CNAME"
}

// baseDomain is the domain a name is validated through: "*.d" → "d".
func baseDomain(name string) string {
	return strings.TrimPrefix(dns.NormalizeName(name), "*.")
}

// tagMap turns ACM tags into a map.
func tagMap(tags []acmtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		if t.Key != nil {
			v := ""
			if t.Value != nil {
				v = *t.Value
			}
			m[*t.Key] = v
		}
	}

	return m
}
