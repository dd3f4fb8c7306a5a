package dns

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// Change statuses of Route 53 (step.DNSResult.ChangeStatus).
const (
	StatusPending = string(r53types.ChangeStatusPending)
	StatusInSync  = string(r53types.ChangeStatusInsync)
)

// txtTTL is the TTL of the TXT ownership record (alias records have none).
const txtTTL = 300

// Ensure makes "*.<domain>" reach the load balancer of in.Results.
//
// Route 53: the alias A record (and AAAA when the ALB is dualstack) and the
// TXT ownership record are written in one change batch, only when they
// differ from what is there; a record at that name whose TXT record does not
// name this load balancer is a Conflict. When an earlier attempt of this
// execution made a change that is still PENDING, Ensure only asks Route 53
// for its status (the state machine loops until INSYNC).
//
// Other DNS provider: no call; RecordsToAdd names the CNAME to add.
func Ensure(ctx context.Context, c Clients, in step.Input) (step.DNSResult, error) {
	domain := NormalizeName(in.Spec.Domain)
	if domain == "" {
		return step.DNSResult{}, steperr.Invalid("ensure DNS: the request has no domain")
	}
	wildcard := "*." + domain

	lb := in.Results.LoadBalancer
	if lb == nil || lb.DNSName == "" {
		return step.DNSResult{}, steperr.Missing("ensure DNS for %s: no load balancer in the results of the earlier steps", wildcard)
	}

	prev := in.Results.DNS
	attempts := 1
	if prev != nil {
		attempts = prev.Attempts + 1
	}

	switch in.Spec.DNS.Provider {
	case spec.ProviderOther:
		return step.DNSResult{
			Wildcard:     wildcard,
			RecordsToAdd: []step.Record{{Name: wildcard, Type: string(r53types.RRTypeCname), Value: lb.DNSName}},
			ChangeStatus: StatusInSync,
			Resources:    []step.Resource{},
			Attempts:     attempts,
			// Never waited for: INSYNC at once.
			NextWaitSeconds: in.Timing.DNSWait(attempts),
		}, nil
	case spec.ProviderRoute53:
	default:
		return step.DNSResult{}, steperr.Invalid("ensure DNS: unknown DNS provider %q", in.Spec.DNS.Provider)
	}

	zone := in.Spec.DNS.HostedZoneID
	if zone == "" {
		return step.DNSResult{}, steperr.Invalid("ensure DNS for %s: Route 53 without a hosted zone ID", wildcard)
	}

	if prev != nil && prev.ChangeID != "" && prev.ChangeStatus == StatusPending {
		out, err := c.Route53.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(prev.ChangeID)})
		if err != nil {
			return step.DNSResult{}, fmt.Errorf("get Route 53 change %s for %s: %w", prev.ChangeID, wildcard, err)
		}
		res := *prev
		res.ChangeStatus = string(out.ChangeInfo.Status)
		res.Attempts = attempts
		res.NextWaitSeconds = in.Timing.DNSWait(attempts)

		return res, nil
	}

	// A change batch that fails because a record appeared or vanished
	// since the listing (another execution racing this one) is planned
	// once more from a fresh listing.
	for round := 1; ; round++ {
		res, err := ensureRoute53(ctx, c.Route53, in, zone, wildcard, lb)
		if err != nil && round == 1 && raced(err) {
			continue
		}
		if err != nil {
			return step.DNSResult{}, err
		}
		res.Attempts = attempts
		res.NextWaitSeconds = in.Timing.DNSWait(attempts)

		return res, nil
	}
}

// existing holds the record sets found at the wildcard name.
type existing struct {
	a, aaaa, cname, txt *r53types.ResourceRecordSet
}

func ensureRoute53(ctx context.Context, r53 Route53, in step.Input, zone, wildcard string, lb *step.LoadBalancerResult) (step.DNSResult, error) {
	sets, err := RecordSetsAt(ctx, r53, zone, wildcard)
	if err != nil {
		return step.DNSResult{}, err
	}
	var cur existing
	for i := range sets {
		switch sets[i].Type {
		case r53types.RRTypeA:
			cur.a = &sets[i]
		case r53types.RRTypeAaaa:
			cur.aaaa = &sets[i]
		case r53types.RRTypeCname:
			cur.cname = &sets[i]
		case r53types.RRTypeTxt:
			cur.txt = &sets[i]
		}
	}

	txtValue, err := checkOwner(cur, in.Spec.Name, wildcard)
	if err != nil {
		return step.DNSResult{}, err
	}
	if txtValue == "" {
		txtValue = ownership.TXTValue(in.Spec.Name, in.Execution)
	}

	target := &r53types.AliasTarget{
		DNSName:              aws.String(lb.DNSName),
		HostedZoneId:         aws.String(lb.CanonicalHostedZoneID),
		EvaluateTargetHealth: false,
	}
	res := step.DNSResult{
		Wildcard:     wildcard,
		ChangeStatus: StatusInSync,
		Resources:    []step.Resource{},
	}
	var changes []r53types.Change
	plan := func(typ r53types.RRType, have *r53types.ResourceRecordSet, want r53types.ResourceRecordSet, same bool) {
		switch {
		case have == nil:
			changes = append(changes, r53types.Change{Action: r53types.ChangeActionCreate, ResourceRecordSet: &want})
			res.Resources = append(res.Resources, step.Resource{Kind: "record", ID: recordID(wildcard, typ), Action: step.Created})
		case !same:
			want.Name = have.Name // the name exactly as stored
			changes = append(changes, r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &want})
			res.Resources = append(res.Resources, step.Resource{Kind: "record", ID: recordID(wildcard, typ), Action: step.Updated})
		default:
			res.Resources = append(res.Resources, step.Resource{Kind: "record", ID: recordID(wildcard, typ), Action: step.Adopted})
		}
	}

	alias := func(typ r53types.RRType) r53types.ResourceRecordSet {
		return r53types.ResourceRecordSet{Name: aws.String(wildcard), Type: typ, AliasTarget: target}
	}
	plan(r53types.RRTypeA, cur.a, alias(r53types.RRTypeA), cur.a != nil && aliasMatches(cur.a, target))
	res.Records = append(res.Records, step.Record{Name: wildcard, Type: string(r53types.RRTypeA), Value: lb.DNSName})
	if in.Spec.IPAddressType == spec.DualStack {
		plan(r53types.RRTypeAaaa, cur.aaaa, alias(r53types.RRTypeAaaa), cur.aaaa != nil && aliasMatches(cur.aaaa, target))
		res.Records = append(res.Records, step.Record{Name: wildcard, Type: string(r53types.RRTypeAaaa), Value: lb.DNSName})
	} else if cur.aaaa != nil {
		// Ours (checkOwner said so) but the ALB is no longer dualstack.
		changes = append(changes, r53types.Change{Action: r53types.ChangeActionDelete, ResourceRecordSet: cur.aaaa})
		res.Resources = append(res.Resources, step.Resource{Kind: "record", ID: recordID(wildcard, r53types.RRTypeAaaa), Action: step.Deleted})
	}
	plan(r53types.RRTypeTxt, cur.txt, r53types.ResourceRecordSet{
		Name:            aws.String(wildcard),
		Type:            r53types.RRTypeTxt,
		TTL:             aws.Int64(txtTTL),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(txtValue)}},
	}, true)
	res.Records = append(res.Records, step.Record{Name: wildcard, Type: string(r53types.RRTypeTxt), Value: txtValue})

	if len(changes) == 0 {
		return res, nil
	}
	out, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zone),
		ChangeBatch: &r53types.ChangeBatch{
			Comment: aws.String(fmt.Sprintf("autostop %s: %s to the load balancer", in.Execution, wildcard)),
			Changes: changes,
		},
	})
	if err != nil {
		return step.DNSResult{}, fmt.Errorf("write %s records in zone %s: %w", wildcard, zone, err)
	}
	res.ChangeID = aws.ToString(out.ChangeInfo.Id)
	res.ChangeStatus = string(out.ChangeInfo.Status)

	return res, nil
}

// checkOwner fails with a Conflict unless every record at the wildcard name
// is absent or this load balancer's, as its TXT ownership record says. It
// returns the ownership value found ("" when there is no TXT record).
func checkOwner(cur existing, lbName, wildcard string) (string, error) {
	owner := ""
	if cur.txt != nil {
		values := Values(*cur.txt)
		if len(values) == 1 {
			if lb, _, ok := ownership.ParseTXT(values[0]); ok && lb == lbName {
				owner = values[0]
			}
		}
		if owner == "" {
			return "", steperr.Conflicting("the TXT record %s exists and is not autostop's ownership record for load balancer %s (%s): not overwritten",
				wildcard, lbName, strings.Join(values, " "))
		}
	}
	if cur.cname != nil {
		return "", steperr.Conflicting("a CNAME record %s exists (%s): autostop writes an alias A record there and does not replace it",
			wildcard, strings.Join(Values(*cur.cname), " "))
	}
	if owner == "" && (cur.a != nil || cur.aaaa != nil) {
		return "", steperr.Conflicting("an address record %s exists without autostop's TXT ownership record: not overwritten", wildcard)
	}

	return owner, nil
}

// aliasMatches reports whether a record set is an alias to target. Route 53
// may return the ALB's name lower-cased, with a trailing dot or a
// "dualstack." prefix.
func aliasMatches(rrs *r53types.ResourceRecordSet, target *r53types.AliasTarget) bool {
	got := rrs.AliasTarget
	if got == nil || got.EvaluateTargetHealth != target.EvaluateTargetHealth {
		return false
	}
	name := func(s *string) string { return strings.TrimPrefix(NormalizeName(aws.ToString(s)), "dualstack.") }
	zone := func(s *string) string { return strings.TrimPrefix(aws.ToString(s), "/hostedzone/") }

	return name(got.DNSName) == name(target.DNSName) && zone(got.HostedZoneId) == zone(target.HostedZoneId)
}

// raced reports whether a change batch failed because the records changed
// since they were listed: InvalidChangeBatch ("Tried to create resource
// record set … but it already exists", "… but it was not found", "… the
// values provided do not match the current values").
func raced(err error) bool {
	var apiErr smithy.APIError

	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "InvalidChangeBatch"
}
