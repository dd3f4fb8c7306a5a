// Package dns is the ensure-DNS step of the ProvisionLoadBalancer workflow:
// the wildcard record "*.<domain>" that reaches the ALB. With Route 53 it is
// an alias A (and AAAA for dualstack) record beside a TXT ownership record;
// with another DNS provider the step names the CNAME the user must add.
//
// A record autostop did not write (no TXT ownership record of this load
// balancer beside it) is never overwritten nor deleted.
package dns

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// RecordLister is the Route 53 call that reads record sets.
type RecordLister interface {
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
}

// Route53 is the part of the Route 53 API the DNS step uses.
type Route53 interface {
	RecordLister
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	GetChange(ctx context.Context, in *route53.GetChangeInput, optFns ...func(*route53.Options)) (*route53.GetChangeOutput, error)
}

// Clients are the AWS clients the DNS step calls.
type Clients struct {
	Route53 Route53
}

// NewClients builds the clients from an SDK configuration (Route 53 is
// global).
func NewClients(cfg aws.Config) Clients {
	return Clients{Route53: route53.NewFromConfig(cfg)}
}

// NormalizeName returns a DNS name in the form used to compare names:
// lower case, no trailing dot, and "*" for the "\052" escape Route 53 uses
// in the names it returns.
func NormalizeName(name string) string {
	name = strings.ReplaceAll(name, `\052`, "*")

	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
}

// RecordSetsAt returns the record sets named name in the hosted zone, all
// types. It starts the listing at name (AWS returns records in order from
// there) and reads further pages only while they still hold name, so it
// costs one call on AWS; a backend that ignores StartRecordName and returns
// every record is handled too, since each record's name is compared.
func RecordSetsAt(ctx context.Context, r53 RecordLister, zoneID, name string) ([]r53types.ResourceRecordSet, error) {
	want := NormalizeName(name)
	in := &route53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(zoneID),
		StartRecordName: aws.String(want),
	}

	var found []r53types.ResourceRecordSet
	for {
		out, err := r53.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list records %s in zone %s: %w", want, zoneID, err)
		}
		for _, rrs := range out.ResourceRecordSets {
			if NormalizeName(aws.ToString(rrs.Name)) == want {
				found = append(found, rrs)
			}
		}
		if !out.IsTruncated || NormalizeName(aws.ToString(out.NextRecordName)) != want {
			return found, nil
		}
		in.StartRecordName = out.NextRecordName
		in.StartRecordType = out.NextRecordType
		in.StartRecordIdentifier = out.NextRecordIdentifier
	}
}

// Values returns the values of a (non-alias) record set.
func Values(rrs r53types.ResourceRecordSet) []string {
	values := make([]string, 0, len(rrs.ResourceRecords))
	for _, rr := range rrs.ResourceRecords {
		values = append(values, aws.ToString(rr.Value))
	}

	return values
}

// recordID names a record in step.Resource lists: "<name> <type>".
func recordID(name string, typ r53types.RRType) string {
	return NormalizeName(name) + " " + string(typ)
}
