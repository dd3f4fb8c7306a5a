package certificate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// MinValidity is how long an attached certificate must still be valid.
const MinValidity = 30 * 24 * time.Hour

// now is the clock (tests replace it).
var now = time.Now

// Ensure returns the certificate of the load balancer's HTTPS listener.
//
//   - no certificate in the request: an empty result (HTTP only);
//   - certificate.arn: the certificate is checked again (ISSUED, covers
//     "*.<domain>", valid for MinValidity more) and adopted;
//   - certificate.issue: the certificate this load balancer already owns
//     for "*.<domain>" (tags), else a new one (RequestCertificate with the
//     ownership tags and an idempotency token derived from the execution);
//     while it is PENDING_VALIDATION its validation record is upserted in
//     the Route 53 zone (when missing), or returned for the user to add.
//
// The state machine calls Ensure again while Status is PENDING_VALIDATION;
// a certificate that FAILED or timed out is an InvalidRequest.
func Ensure(ctx context.Context, c Clients, in step.Input) (step.CertificateResult, error) {
	cs := in.Spec.Certificate
	if cs == nil {
		return step.CertificateResult{Resources: []step.Resource{}}, nil
	}

	domain := dns.NormalizeName(in.Spec.Domain)
	if domain == "" {
		return step.CertificateResult{}, steperr.Invalid("ensure certificate: the request has no domain")
	}
	attempts := 1
	if prev := in.Results.Certificate; prev != nil {
		attempts = prev.Attempts + 1
	}

	var (
		res step.CertificateResult
		err error
	)
	switch {
	case cs.ARN != "":
		res, err = attach(ctx, c.ACM, cs.ARN, "*."+domain)
	case cs.Issue:
		res, err = issue(ctx, c, in, domain)
	default:
		return step.CertificateResult{}, steperr.Invalid("ensure certificate: certificate needs an arn or issue: true")
	}
	if err != nil {
		return step.CertificateResult{}, err
	}
	res.Attempts = attempts
	if res.Status != "ISSUED" {
		// The state machine waits this long before calling again: it has
		// no arithmetic of its own to back off with.
		res.NextWaitSeconds = in.Timing.CertificateWait(attempts)
	}

	return res, nil
}

// attach checks the certificate the user named.
func attach(ctx context.Context, a ACM, arn, wildcard string) (step.CertificateResult, error) {
	cert, err := describe(ctx, a, arn)
	if err != nil {
		return step.CertificateResult{}, err
	}
	if cert.Status != acmtypes.CertificateStatusIssued {
		return step.CertificateResult{}, steperr.Invalid("certificate %s is %s, not ISSUED", arn, cert.Status)
	}
	if !covers(cert, wildcard) {
		return step.CertificateResult{}, steperr.Invalid("certificate %s (%s) does not cover %s", arn, aws.ToString(cert.DomainName), wildcard)
	}
	if cert.NotAfter == nil {
		return step.CertificateResult{}, steperr.Invalid("certificate %s has no expiry date", arn)
	}
	if left := cert.NotAfter.Sub(now()); left < MinValidity {
		return step.CertificateResult{}, steperr.Invalid("certificate %s expires on %s, within %d days", arn,
			cert.NotAfter.UTC().Format(time.RFC3339), int(MinValidity.Hours()/24))
	}

	return step.CertificateResult{
		ARN:       arn,
		Status:    string(cert.Status),
		Resources: []step.Resource{{Kind: kindCertificate, ID: arn, Action: step.Adopted}},
	}, nil
}

// covers reports whether the certificate names wildcard exactly (a "*.d"
// certificate is what "*.d" needs; ACM has no broader wildcard).
func covers(cert *acmtypes.CertificateDetail, wildcard string) bool {
	names := append([]string{aws.ToString(cert.DomainName)}, cert.SubjectAlternativeNames...)

	return slices.ContainsFunc(names, func(n string) bool { return dns.NormalizeName(n) == wildcard })
}

// issue finds or requests the load balancer's certificate and publishes its
// validation record.
func issue(ctx context.Context, c Clients, in step.Input, domain string) (step.CertificateResult, error) {
	wildcard := "*." + domain
	prev := in.Results.Certificate

	var (
		arn, action string
		cert        *acmtypes.CertificateDetail
		err         error
	)
	// A re-invocation of the wait loop: the certificate is the one an
	// earlier attempt of this execution found or requested.
	if prev != nil && prev.RequestedByAutostop && prev.ARN != "" {
		cert, err = describe(ctx, c.ACM, prev.ARN)
		var nf *steperr.NotFound
		switch {
		case errors.As(err, &nf):
			cert = nil // deleted meanwhile: find or request again
		case err != nil:
			return step.CertificateResult{}, err
		default:
			arn, action = prev.ARN, actionIn(prev.Resources, prev.ARN)
		}
	}
	if cert == nil {
		if arn, action, err = findOwned(ctx, c.ACM, in.Spec.Name, in.Execution, wildcard); err != nil {
			return step.CertificateResult{}, err
		}
		if arn == "" {
			if arn, err = request(ctx, c.ACM, in, domain); err != nil {
				return step.CertificateResult{}, err
			}
			action = step.Created
		}
		if cert, err = describe(ctx, c.ACM, arn); err != nil {
			return step.CertificateResult{}, err
		}
	}

	switch cert.Status {
	case acmtypes.CertificateStatusIssued, acmtypes.CertificateStatusPendingValidation:
	default:
		reason := string(cert.FailureReason)
		if reason == "" {
			reason = "no reason given"
		}

		return step.CertificateResult{}, steperr.Invalid("certificate %s for %s is %s (%s)", arn, wildcard, cert.Status, reason)
	}

	records, _ := validationRecords(cert)
	res := step.CertificateResult{
		ARN:                 arn,
		Status:              string(cert.Status),
		RequestedByAutostop: true,
		ValidationRecords:   records,
		Resources:           []step.Resource{{Kind: kindCertificate, ID: arn, Action: action}},
	}
	if prev != nil && prev.ARN == arn {
		res.Resources = merge(prev.Resources, res.Resources)
	}

	if cert.Status == acmtypes.CertificateStatusPendingValidation && in.Spec.DNS.Provider == spec.ProviderRoute53 && len(records) > 0 {
		written, err := publish(ctx, c.Route53, in.Spec.DNS.HostedZoneID, in.Execution, records)
		if err != nil {
			return step.CertificateResult{}, err
		}
		res.Resources = merge(res.Resources, written)
	}

	return res, nil
}

// findOwned returns the certificate for wildcard that load balancer lb owns
// (by tags), preferring an ISSUED one; "" when there is none. action is
// Created when execution's tag is on it, else Adopted.
func findOwned(ctx context.Context, a ACM, lb, execution, wildcard string) (arn, action string, err error) {
	var issued, pending []string
	p := acm.NewListCertificatesPaginator(a, &acm.ListCertificatesInput{
		CertificateStatuses: []acmtypes.CertificateStatus{acmtypes.CertificateStatusIssued, acmtypes.CertificateStatusPendingValidation},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", "", fmt.Errorf("list certificates: %w", err)
		}
		for _, s := range page.CertificateSummaryList {
			if s.Type != acmtypes.CertificateTypeAmazonIssued || dns.NormalizeName(aws.ToString(s.DomainName)) != wildcard {
				continue
			}
			if s.Status == acmtypes.CertificateStatusIssued {
				issued = append(issued, aws.ToString(s.CertificateArn))
			} else {
				pending = append(pending, aws.ToString(s.CertificateArn))
			}
		}
	}

	for _, candidate := range append(issued, pending...) {
		out, err := a.ListTagsForCertificate(ctx, &acm.ListTagsForCertificateInput{CertificateArn: aws.String(candidate)})
		var nf *acmtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("list tags of certificate %s: %w", candidate, err)
		}
		tags := tagMap(out.Tags)
		if !ownership.OwnedByLoadBalancer(tags, lb) {
			continue
		}
		if ownership.CreatedBy(tags, lb, execution) {
			return candidate, step.Created, nil
		}

		return candidate, step.Adopted, nil
	}

	return "", "", nil
}

// request asks ACM for a DNS-validated certificate for "*.<domain>" and
// "<domain>", with the ownership tags in the request. The idempotency token
// makes a retry of the same execution within an hour return the same
// certificate instead of a second one.
func request(ctx context.Context, a ACM, in step.Input, domain string) (string, error) {
	wildcard := "*." + domain
	tags := ownership.Tags(in.Spec.Name, in.Execution, in.Spec.Tags)
	acmTags := make([]acmtypes.Tag, 0, len(tags))
	for _, k := range ownership.Keys(tags) {
		acmTags = append(acmTags, acmtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}

	out, err := a.RequestCertificate(ctx, &acm.RequestCertificateInput{
		DomainName:              aws.String(wildcard),
		SubjectAlternativeNames: []string{domain},
		ValidationMethod:        acmtypes.ValidationMethodDns,
		IdempotencyToken:        aws.String(IdempotencyToken(in.Execution, in.Spec.Name, wildcard)),
		Tags:                    acmTags,
	})
	if err != nil {
		return "", fmt.Errorf("request certificate for %s: %w", wildcard, err)
	}

	return aws.ToString(out.CertificateArn), nil
}

// IdempotencyToken derives ACM's idempotency token (at most 32 word
// characters) from the execution, the load balancer and the name.
func IdempotencyToken(execution, lb, wildcard string) string {
	sum := sha256.Sum256([]byte("autostop\x00" + execution + "\x00" + lb + "\x00" + wildcard))

	return hex.EncodeToString(sum[:16])
}

// publish upserts the validation CNAMEs in the zone where they are missing
// (or point elsewhere), in one change batch. It returns the records it wrote.
// A CNAME at a validation name with another value is not autostop's and is
// a Conflict.
func publish(ctx context.Context, r53 Route53, zone, execution string, records []step.Record) ([]step.Resource, error) {
	if zone == "" {
		return nil, steperr.Invalid("ensure certificate: Route 53 without a hosted zone ID")
	}

	var (
		changes []r53types.Change
		written []step.Resource
		names   = map[string]bool{}
	)
	for _, r := range records {
		name := dns.NormalizeName(r.Name)
		if names[name] {
			// One record per name: "*.d" and "d" share theirs, and
			// Route 53 rejects a batch naming a record twice.
			continue
		}
		names[name] = true

		sets, err := dns.RecordSetsAt(ctx, r53, zone, r.Name)
		if err != nil {
			return nil, err
		}
		present := false
		for _, rrs := range sets {
			if rrs.Type != r53types.RRTypeCname {
				continue
			}
			values := dns.Values(rrs)
			if len(values) == 1 && dns.NormalizeName(values[0]) == dns.NormalizeName(r.Value) {
				present = true

				continue
			}

			return nil, steperr.Conflicting("the validation record %s exists with another value (%v), not %s: not overwritten", name, values, r.Value)
		}
		if present {
			continue
		}
		changes = append(changes, r53types.Change{
			Action: r53types.ChangeActionUpsert,
			ResourceRecordSet: &r53types.ResourceRecordSet{
				Name:            aws.String(r.Name),
				Type:            r53types.RRTypeCname,
				TTL:             aws.Int64(validationTTL),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(r.Value)}},
			},
		})
		written = append(written, step.Resource{Kind: kindRecord, ID: recordID(r.Name), Action: step.Created})
	}
	if len(changes) == 0 {
		return nil, nil
	}

	if _, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zone),
		ChangeBatch: &r53types.ChangeBatch{
			Comment: aws.String("autostop " + execution + ": ACM validation records"),
			Changes: changes,
		},
	}); err != nil {
		return nil, fmt.Errorf("upsert validation records in zone %s: %w", zone, err)
	}

	return written, nil
}

// describe returns a certificate's details; a missing certificate is a
// NotFound error.
func describe(ctx context.Context, a ACM, arn string) (*acmtypes.CertificateDetail, error) {
	out, err := a.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)})
	var nf *acmtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, steperr.Missing("certificate %s not found", arn)
	}
	if err != nil {
		return nil, fmt.Errorf("describe certificate %s: %w", arn, err)
	}
	if out.Certificate == nil {
		return nil, steperr.Missing("certificate %s not found", arn)
	}

	return out.Certificate, nil
}

// actionIn returns the action recorded for id, Adopted when none is.
func actionIn(resources []step.Resource, id string) string {
	for _, r := range resources {
		if r.ID == id && r.Action != "" {
			return r.Action
		}
	}

	return step.Adopted
}

// merge appends to have the resources of add not already in it (same kind
// and ID): the first action recorded for a resource is the one that counts,
// so a wait loop's later attempts keep "created" from the first.
func merge(have, add []step.Resource) []step.Resource {
	out := append([]step.Resource{}, have...)
	for _, r := range add {
		if !slices.ContainsFunc(out, func(h step.Resource) bool { return h.Kind == r.Kind && h.ID == r.ID }) {
			out = append(out, r)
		}
	}

	return out
}
