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
	"slices"
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
// lower case, no trailing dot, and the printable characters Route 53
// returns as octal escapes ("\052" for "*") as themselves; an escaped dot
// ("\056", part of a label), space, control or 8-bit character stays
// escaped.
func NormalizeName(name string) string {
	return strings.TrimSuffix(strings.ToLower(unescape(strings.TrimSpace(name))), ".")
}

// unescape replaces the \ooo octal escapes of printable ASCII characters
// other than "." in a name in Route 53's presentation format with the
// characters.
func unescape(name string) string {
	if !strings.Contains(name, `\`) {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] == '\\' && i+3 < len(name) && isOctal3(name[i+1:i+4]) {
			if c := (name[i+1]-'0')*64 + (name[i+2]-'0')*8 + (name[i+3] - '0'); c > ' ' && c < 0x7f && c != '.' {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(name[i])
	}

	return b.String()
}

func isOctal3(s string) bool {
	return s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7'
}

// CompareNames orders two names as ListResourceRecordSets lists them: by
// their labels from the right, each followed by a dot, compared on the
// characters ("com.example.www."), so "*" and "-" sort a name before the
// names below it. Names are compared normalized (NormalizeName).
func CompareNames(a, b string) int {
	return strings.Compare(listingKey(a), listingKey(b))
}

func listingKey(name string) string {
	labels := strings.Split(NormalizeName(name), ".")
	slices.Reverse(labels)

	return strings.Join(labels, ".") + "."
}

// RecordSetsAt returns the record sets named name in the hosted zone, all
// types (RecordSetsAtNames with one name): usually one call.
func RecordSetsAt(ctx context.Context, r53 RecordLister, zoneID, name string) ([]r53types.ResourceRecordSet, error) {
	return RecordSetsAtNames(ctx, r53, zoneID, []string{name})
}

// RecordSetsAtNames returns the record sets named any of names in the
// hosted zone, all types, in Route 53's order. It reads only the pages that
// hold them: Route 53 lists records in order (CompareNames) from
// StartRecordName, so the listing starts at the first name; a page is
// followed by the next only while the next record is still at one of the
// names, else the next call starts at the next name still ahead; once past
// the last name it stops. Records between the names, however many, are
// never read, and one call usually covers several names (Route 53 allows 5
// requests per second per account).
func RecordSetsAtNames(ctx context.Context, r53 RecordLister, zoneID string, names []string) ([]r53types.ResourceRecordSet, error) {
	want := make([]string, 0, len(names))
	wanted := map[string]bool{}
	for _, n := range names {
		if n = NormalizeName(n); n != "" && !wanted[n] {
			wanted[n] = true
			want = append(want, n)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	slices.SortFunc(want, CompareNames)

	var (
		found []r53types.ResourceRecordSet
		next  int // want[next] is the first name not yet read to its end
		in    = &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), StartRecordName: aws.String(want[0])}
	)
	for {
		out, err := r53.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list records %s in zone %s: %w", aws.ToString(in.StartRecordName), zoneID, err)
		}
		for _, rrs := range out.ResourceRecordSets {
			if wanted[NormalizeName(aws.ToString(rrs.Name))] {
				found = append(found, rrs)
			}
		}
		if !out.IsTruncated {
			return found, nil
		}
		nextName := NormalizeName(aws.ToString(out.NextRecordName))
		for next < len(want) && CompareNames(want[next], nextName) < 0 {
			next++
		}
		prev := *in
		switch {
		case next == len(want):
			return found, nil
		case want[next] == nextName:
			// More records at this name on the next page.
			in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
		default:
			in = &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), StartRecordName: aws.String(want[next])}
		}
		if aws.ToString(in.StartRecordName) == aws.ToString(prev.StartRecordName) && in.StartRecordType == prev.StartRecordType &&
			aws.ToString(in.StartRecordIdentifier) == aws.ToString(prev.StartRecordIdentifier) {
			return nil, fmt.Errorf("list records %s in zone %s: the listing does not move past %s %s", aws.ToString(in.StartRecordName), zoneID, nextName, out.NextRecordType)
		}
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
