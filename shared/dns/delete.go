package dns

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
)

// DeleteCreatedBy removes the "*.<domain>" records that execution wrote for
// load balancer lbName in zone zoneID: the alias A/AAAA records and the TXT
// ownership record, in one change batch, and only when the TXT record names
// this load balancer and this execution (ownership.OwnsTXT). An empty
// execution means any execution of lbName: the DeleteLoadBalancer workflow
// deletes everything autostop wrote for the load balancer, whichever
// execution wrote it (a rollback always names its own execution). Records
// that are not there count as done; records of anyone else (another load
// balancer, no ownership record) are not touched and not reported. Records
// that are ours but that autostop does not delete (a non-alias address
// record beside our TXT record: someone changed it) are returned in left.
//
// An empty zoneID (DNS provider other) has nothing to delete.
func DeleteCreatedBy(ctx context.Context, c Clients, lbName, execution, zoneID, domain string) (deleted, left []step.Resource, err error) {
	if zoneID == "" || NormalizeName(domain) == "" {
		return nil, nil, nil
	}
	wildcard := "*." + NormalizeName(domain)

	for round := 1; ; round++ {
		deleted, left, err = deleteOnce(ctx, c.Route53, lbName, execution, zoneID, wildcard)
		if err != nil && round == 1 && raced(err) {
			continue
		}

		return deleted, left, err
	}
}

func deleteOnce(ctx context.Context, r53 Route53, lbName, execution, zoneID, wildcard string) (deleted, left []step.Resource, err error) {
	sets, err := RecordSetsAt(ctx, r53, zoneID, wildcard)
	var nf *r53types.NoSuchHostedZone
	if errors.As(err, &nf) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}

	var txt *r53types.ResourceRecordSet
	for i := range sets {
		if sets[i].Type == r53types.RRTypeTxt {
			txt = &sets[i]
		}
	}
	if txt == nil {
		return nil, nil, nil
	}
	values := Values(*txt)
	if len(values) != 1 {
		return nil, nil, nil // not a record autostop writes (it writes one value)
	}
	if !ownership.OwnsTXT(values[0], lbName, execution) {
		return nil, nil, nil
	}

	var changes []r53types.Change
	for i := range sets {
		rrs := &sets[i]
		switch {
		case rrs.Type == r53types.RRTypeTxt:
		case (rrs.Type == r53types.RRTypeA || rrs.Type == r53types.RRTypeAaaa) && rrs.AliasTarget != nil:
		case rrs.Type == r53types.RRTypeA || rrs.Type == r53types.RRTypeAaaa:
			left = append(left, step.Resource{Kind: "record", ID: recordID(wildcard, rrs.Type), Action: step.Created})
			continue
		default:
			continue
		}
		changes = append(changes, r53types.Change{Action: r53types.ChangeActionDelete, ResourceRecordSet: rrs})
	}
	if len(left) > 0 {
		// Keep the ownership record while an address record it vouches
		// for stays: delete only the alias records.
		changes = changes[:0]
		for i := range sets {
			if sets[i].AliasTarget != nil {
				changes = append(changes, r53types.Change{Action: r53types.ChangeActionDelete, ResourceRecordSet: &sets[i]})
			}
		}
		left = append(left, step.Resource{Kind: "record", ID: recordID(wildcard, r53types.RRTypeTxt), Action: step.Created})
	}
	if len(changes) == 0 {
		return nil, left, nil
	}

	if _, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{
			Comment: aws.String(changeComment(lbName, execution, wildcard)),
			Changes: changes,
		},
	}); err != nil {
		for _, ch := range changes {
			left = append(left, step.Resource{Kind: "record", ID: recordID(wildcard, ch.ResourceRecordSet.Type), Action: step.Created})
		}

		return nil, left, fmt.Errorf("delete %s records in zone %s: %w", wildcard, zoneID, err)
	}
	for _, ch := range changes {
		deleted = append(deleted, step.Resource{Kind: "record", ID: recordID(wildcard, ch.ResourceRecordSet.Type), Action: step.Deleted})
	}

	return deleted, left, nil
}

// changeComment describes a deletion's change batch: a rollback names its
// execution, the load balancer's deletion (execution "") the load balancer.
func changeComment(lbName, execution, wildcard string) string {
	if execution == "" {
		return fmt.Sprintf("autostop: deletion of load balancer %s: %s", lbName, wildcard)
	}

	return fmt.Sprintf("autostop %s: rollback of %s", execution, wildcard)
}
