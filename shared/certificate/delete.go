package certificate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// DeleteCreatedBy deletes the certificates that execution requested for load
// balancer lbName (by their tags, ownership.Owns), then their validation
// CNAMEs in zone hostedZoneID ("" with another DNS provider: nothing to
// delete there).
//
// An empty execution means any execution of lbName: the DeleteLoadBalancer
// workflow deletes every certificate autostop requested for the load
// balancer, whichever execution requested it (a rollback always names its
// own execution). The validation records carry no ownership of their own:
// they are matched by the name and value the deleted certificates needed,
// so the scope of the certificates is theirs too. Certificates of another
// load balancer, imported ones and those without autostop's tags are never
// deleted.
//
// A certificate still in use (a listener uses it, or released it moments
// ago: AWS answers ResourceInUse for up to ~10 minutes) is left with a
// steperr.StillInUse error, its validation record with it: the rollback
// waits in the state machine and calls again. A
// validation record is deleted only when it still has the value the deleted
// certificate needed and no other certificate (autostop's or not: "*.d" and
// "d" share one record per account and domain) needs it; when that cannot
// be told, the record stays and is listed in left. Not found counts as done.
func DeleteCreatedBy(ctx context.Context, c Clients, lbName, execution, hostedZoneID string) (deleted, left []step.Resource, err error) {
	summaries, err := listAll(ctx, c.ACM)
	if err != nil {
		return nil, nil, err
	}

	var (
		errs     []error
		gone     = map[string]bool{}        // deleted certificate ARNs
		toRemove = map[string]step.Record{} // record key → validation record of a deleted certificate
		order    []string
	)
	for _, s := range summaries {
		arn := aws.ToString(s.CertificateArn)
		if s.Type != acmtypes.CertificateTypeAmazonIssued {
			continue
		}
		out, err := c.ACM.ListTagsForCertificate(ctx, &acm.ListTagsForCertificateInput{CertificateArn: aws.String(arn)})
		var nf *acmtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return deleted, left, fmt.Errorf("list tags of certificate %s: %w", arn, err)
		}
		if !ownership.Owns(tagMap(out.Tags), lbName, execution) {
			continue
		}

		cert, err := describe(ctx, c.ACM, arn)
		if err != nil && !isNotFound(err) {
			left = append(left, step.Resource{Kind: kindCertificate, ID: arn, Action: step.Created})
			errs = append(errs, err)

			continue
		}
		if err := deleteCertificate(ctx, c.ACM, arn); err != nil {
			left = append(left, step.Resource{Kind: kindCertificate, ID: arn, Action: step.Created})
			errs = append(errs, err)

			continue
		}
		gone[arn] = true
		deleted = append(deleted, step.Resource{Kind: kindCertificate, ID: arn, Action: step.Deleted})
		if cert != nil {
			records, _ := validationRecords(cert)
			for _, r := range records {
				k := recordKey(r.Name, r.Value)
				if _, ok := toRemove[k]; !ok {
					toRemove[k] = r
					order = append(order, k)
				}
			}
		}
	}

	if hostedZoneID == "" || len(order) == 0 {
		return deleted, left, errors.Join(errs...)
	}

	needed, unsure := stillNeeded(ctx, c.ACM, summaries, gone, toRemove)
	for _, k := range order {
		r := toRemove[k]
		switch {
		case needed[k]:
			continue // another certificate validates through it
		case unsure[k]:
			left = append(left, step.Resource{Kind: kindRecord, ID: recordID(r.Name), Action: step.Created})

			continue
		}
		removed, err := deleteRecord(ctx, c.Route53, hostedZoneID, changeComment(lbName, execution), r)
		if err != nil {
			left = append(left, step.Resource{Kind: kindRecord, ID: recordID(r.Name), Action: step.Created})
			errs = append(errs, err)

			continue
		}
		if removed {
			deleted = append(deleted, step.Resource{Kind: kindRecord, ID: recordID(r.Name), Action: step.Deleted})
		}
	}

	return deleted, left, errors.Join(errs...)
}

// listAll lists every certificate of the region, all statuses.
func listAll(ctx context.Context, a ACM) ([]acmtypes.CertificateSummary, error) {
	var all []acmtypes.CertificateSummary
	p := acm.NewListCertificatesPaginator(a, &acm.ListCertificatesInput{
		CertificateStatuses: acmtypes.CertificateStatus("").Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list certificates: %w", err)
		}
		all = append(all, page.CertificateSummaryList...)
	}

	return all, nil
}

// deleteCertificate deletes a certificate; not found is done, in use is a
// StillInUse.
func deleteCertificate(ctx context.Context, a ACM, arn string) error {
	_, err := a.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(arn)})
	var (
		nf  *acmtypes.ResourceNotFoundException
		use *acmtypes.ResourceInUseException
	)
	switch {
	case err == nil, errors.As(err, &nf):
		return nil
	case errors.As(err, &use):
		return steperr.InUse(kindCertificate, arn, "delete certificate %s: still in use (%v)", arn, err)
	default:
		return fmt.Errorf("delete certificate %s: %w", arn, err)
	}
}

// stillNeeded tells, for each record about to be removed, whether a
// certificate that stays needs it (needed) or whether that cannot be told
// (unsure). Only certificates with a name of the record's domain can need
// it; imported certificates need no validation.
func stillNeeded(ctx context.Context, a ACM, summaries []acmtypes.CertificateSummary, gone map[string]bool, toRemove map[string]step.Record) (needed, unsure map[string]bool) {
	needed, unsure = map[string]bool{}, map[string]bool{}
	byDomain := map[string][]string{} // validated domain → keys of records to remove
	for k, r := range toRemove {
		d := recordDomain(r.Name)
		byDomain[d] = append(byDomain[d], k)
	}

	for _, s := range summaries {
		arn := aws.ToString(s.CertificateArn)
		if gone[arn] || s.Type == acmtypes.CertificateTypeImported {
			continue
		}
		var keys []string
		for _, n := range append([]string{aws.ToString(s.DomainName)}, s.SubjectAlternativeNameSummaries...) {
			keys = append(keys, byDomain[baseDomain(n)]...)
		}
		if len(keys) == 0 && !aws.ToBool(s.HasAdditionalSubjectAlternativeNames) {
			continue
		}

		cert, err := describe(ctx, a, arn)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			// Cannot tell what it needs: keep every record of its names,
			// all records when its name list was cut short.
			if len(keys) == 0 {
				for k := range toRemove {
					keys = append(keys, k)
				}
			}
			for _, k := range keys {
				unsure[k] = true
			}

			continue
		}
		records, complete := validationRecords(cert)
		for _, r := range records {
			if _, ok := toRemove[recordKey(r.Name, r.Value)]; ok {
				needed[recordKey(r.Name, r.Value)] = true
			}
		}
		if !complete && cert.Status == acmtypes.CertificateStatusPendingValidation {
			// Its records are not all known yet: one may be ours.
			for _, k := range keys {
				unsure[k] = true
			}
		}
	}

	return needed, unsure
}

// changeComment describes the removal of a validation record: a rollback
// names its execution, the load balancer's deletion (execution "") the
// load balancer.
func changeComment(lbName, execution string) string {
	if execution == "" {
		return "autostop: deletion of load balancer " + lbName + ": an ACM validation record"
	}

	return "autostop " + execution + ": rollback of an ACM validation record"
}

// deleteRecord removes a validation CNAME from the zone when it is there
// with the value r names. removed is false when it was not there.
func deleteRecord(ctx context.Context, r53 Route53, zone, comment string, r step.Record) (removed bool, err error) {
	sets, err := dns.RecordSetsAt(ctx, r53, zone, r.Name)
	var nz *r53types.NoSuchHostedZone
	if errors.As(err, &nz) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for i := range sets {
		rrs := &sets[i]
		values := dns.Values(*rrs)
		if rrs.Type != r53types.RRTypeCname || len(values) != 1 || dns.NormalizeName(values[0]) != dns.NormalizeName(r.Value) {
			continue
		}
		_, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(zone),
			ChangeBatch: &r53types.ChangeBatch{
				Comment: aws.String(comment),
				Changes: []r53types.Change{{Action: r53types.ChangeActionDelete, ResourceRecordSet: rrs}},
			},
		})
		var bad *r53types.InvalidChangeBatch
		if errors.As(err, &bad) {
			return false, nil // deleted meanwhile
		}
		if err != nil {
			return false, fmt.Errorf("delete validation record %s: %w", dns.NormalizeName(r.Name), err)
		}

		return true, nil
	}

	return false, nil
}

// recordDomain is the domain a validation record validates:
// "_<hash>.<domain>." → "<domain>".
func recordDomain(name string) string {
	n := dns.NormalizeName(name)
	if _, rest, ok := strings.Cut(n, "."); ok {
		return rest
	}

	return n
}

// isNotFound reports a NotFound error of describe.
func isNotFound(err error) bool {
	var nf *steperr.NotFound

	return errors.As(err, &nf)
}
