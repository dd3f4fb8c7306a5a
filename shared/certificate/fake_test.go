package certificate

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
)

// fakeACM models what the step relies on: requested certificates with one
// shared validation record for "*.d" and "d" (DomainValidationOptions empty
// for the first recordsAfter describes, as on AWS right after the request),
// idempotency tokens, tags, paging, ResourceInUseException while inUse > 0.
type fakeACM struct {
	mu           sync.Mutex
	certs        map[string]*fakeCert
	tokens       map[string]string
	recordsAfter int
	pageSize     int
	fail         map[string]error
	calls        []string
	requests     []*acm.RequestCertificateInput
	n            int
}

type fakeCert struct {
	detail    acmtypes.CertificateDetail
	tags      []acmtypes.Tag
	describes int
	inUse     int // DeleteCertificate fails this many more times
}

func newFakeACM() *fakeACM {
	return &fakeACM{certs: map[string]*fakeCert{}, tokens: map[string]string{}, fail: map[string]error{}, pageSize: 2}
}

func (f *fakeACM) call(op string) error {
	f.calls = append(f.calls, op)

	return f.fail[op]
}

func (f *fakeACM) mutating() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == "RequestCertificate" || c == "DeleteCertificate" {
			n++
		}
	}

	return n
}

func (f *fakeACM) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}

	return n
}

// validation is the shared record of a base domain (deterministic, as on AWS).
func validation(domain string) *acmtypes.ResourceRecord {
	base := strings.TrimPrefix(domain, "*.")

	return &acmtypes.ResourceRecord{
		Name:  aws.String(fmt.Sprintf("_%x.%s.", sha256.Sum256([]byte("name "+base)), base)),
		Type:  acmtypes.RecordTypeCname,
		Value: aws.String(fmt.Sprintf("_%x.acm-validations.aws.", sha256.Sum256([]byte("value "+base)))),
	}
}

// add stores a certificate and returns its ARN.
func (f *fakeACM) add(typ acmtypes.CertificateType, status acmtypes.CertificateStatus, names []string, tags map[string]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	arn := "arn:aws:acm:us-east-1:000000000000:certificate/c" + strconv.Itoa(f.n)
	notAfter := time.Now().AddDate(1, 0, 0)
	d := acmtypes.CertificateDetail{
		CertificateArn: aws.String(arn), DomainName: aws.String(names[0]), SubjectAlternativeNames: names,
		Status: status, Type: typ, NotAfter: &notAfter,
	}
	if typ == acmtypes.CertificateTypeAmazonIssued {
		for _, n := range names {
			d.DomainValidationOptions = append(d.DomainValidationOptions, acmtypes.DomainValidation{
				DomainName: aws.String(n), ValidationMethod: acmtypes.ValidationMethodDns, ResourceRecord: validation(n),
			})
		}
	}
	c := &fakeCert{detail: d}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c.tags = append(c.tags, acmtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	f.certs[arn] = c

	return arn
}

func (f *fakeACM) set(arn string, fn func(*acmtypes.CertificateDetail)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.certs[arn].detail)
}

func (f *fakeACM) RequestCertificate(_ context.Context, in *acm.RequestCertificateInput, _ ...func(*acm.Options)) (*acm.RequestCertificateOutput, error) {
	f.mu.Lock()
	if err := f.call("RequestCertificate"); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	f.requests = append(f.requests, in)
	if arn, ok := f.tokens[aws.ToString(in.IdempotencyToken)]; ok {
		f.mu.Unlock()
		return &acm.RequestCertificateOutput{CertificateArn: aws.String(arn)}, nil
	}
	f.mu.Unlock()

	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	arn := f.add(acmtypes.CertificateTypeAmazonIssued, acmtypes.CertificateStatusPendingValidation,
		append([]string{aws.ToString(in.DomainName)}, in.SubjectAlternativeNames...), tags)
	f.mu.Lock()
	f.tokens[aws.ToString(in.IdempotencyToken)] = arn
	f.mu.Unlock()

	return &acm.RequestCertificateOutput{CertificateArn: aws.String(arn)}, nil
}

func (f *fakeACM) DescribeCertificate(_ context.Context, in *acm.DescribeCertificateInput, _ ...func(*acm.Options)) (*acm.DescribeCertificateOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeCertificate"); err != nil {
		return nil, err
	}
	c, ok := f.certs[aws.ToString(in.CertificateArn)]
	if !ok {
		return nil, &acmtypes.ResourceNotFoundException{Message: aws.String("not found")}
	}
	c.describes++
	d := c.detail
	if c.detail.Type == acmtypes.CertificateTypeAmazonIssued && c.describes <= f.recordsAfter {
		d.DomainValidationOptions = nil
		for _, dv := range c.detail.DomainValidationOptions {
			dv.ResourceRecord = nil
			d.DomainValidationOptions = append(d.DomainValidationOptions, dv)
		}
	}

	return &acm.DescribeCertificateOutput{Certificate: &d}, nil
}

func (f *fakeACM) ListCertificates(_ context.Context, in *acm.ListCertificatesInput, _ ...func(*acm.Options)) (*acm.ListCertificatesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListCertificates"); err != nil {
		return nil, err
	}
	arns := make([]string, 0, len(f.certs))
	for arn := range f.certs {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	var all []acmtypes.CertificateSummary
	for _, arn := range arns {
		d := f.certs[arn].detail
		if len(in.CertificateStatuses) > 0 && !slices.Contains(in.CertificateStatuses, d.Status) {
			continue
		}
		all = append(all, acmtypes.CertificateSummary{
			CertificateArn: d.CertificateArn, DomainName: d.DomainName, SubjectAlternativeNameSummaries: d.SubjectAlternativeNames,
			Status: d.Status, Type: d.Type,
		})
	}
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	end := min(start+f.pageSize, len(all))
	out := &acm.ListCertificatesOutput{CertificateSummaryList: all[start:end]}
	if end < len(all) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}

	return out, nil
}

func (f *fakeACM) ListTagsForCertificate(_ context.Context, in *acm.ListTagsForCertificateInput, _ ...func(*acm.Options)) (*acm.ListTagsForCertificateOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListTagsForCertificate"); err != nil {
		return nil, err
	}
	c, ok := f.certs[aws.ToString(in.CertificateArn)]
	if !ok {
		return nil, &acmtypes.ResourceNotFoundException{Message: aws.String("not found")}
	}

	return &acm.ListTagsForCertificateOutput{Tags: c.tags}, nil
}

func (f *fakeACM) DeleteCertificate(_ context.Context, in *acm.DeleteCertificateInput, _ ...func(*acm.Options)) (*acm.DeleteCertificateOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteCertificate"); err != nil {
		return nil, err
	}
	c, ok := f.certs[aws.ToString(in.CertificateArn)]
	if !ok {
		return nil, &acmtypes.ResourceNotFoundException{Message: aws.String("not found")}
	}
	if c.inUse > 0 {
		c.inUse--
		return nil, &acmtypes.ResourceInUseException{Message: aws.String("in use by a listener")}
	}
	delete(f.certs, aws.ToString(in.CertificateArn))

	return &acm.DeleteCertificateOutput{}, nil
}
