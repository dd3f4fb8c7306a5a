package validate

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// checkZone checks the Route 53 side: the hosted zone exists and is public;
// the domain is inside it (a single-label prefix becomes <prefix>.<zone>, a
// name with dots must be the zone or end in ".<zone>"); the zone does not
// delegate the domain to other name servers; no *.<domain> record exists
// that autostop does not own for this load balancer.
func (v *validation) checkZone(ctx context.Context) error {
	if v.s.DNS.Provider != spec.ProviderRoute53 {
		return nil
	}

	zoneID := v.s.DNS.HostedZoneID
	out, err := v.c.Route53.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(zoneID)})
	switch {
	case steperr.HasCode(err, "NoSuchHostedZone", "InvalidInput"):
		v.invalidf("dns.hostedZoneId", "hosted zone %s does not exist", zoneID)
		return nil
	case err != nil:
		return fmt.Errorf("get hosted zone %s: %w", zoneID, err)
	}
	zone := normalizeName(aws.ToString(out.HostedZone.Name))
	if c := out.HostedZone.Config; c != nil && c.PrivateZone {
		v.invalidf("dns.hostedZoneId", "hosted zone %s (%s) is private: autostop needs a public zone (the records must resolve on the Internet, and ACM validates through them)", zoneID, zone)
		return nil
	}

	domain := v.s.Domain
	switch {
	case !strings.Contains(domain, "."):
		domain = domain + "." + zone
	case domain != zone && !strings.HasSuffix(domain, "."+zone):
		v.invalidf("domain", "%s is not inside hosted zone %s (%s): give a prefix (%q) or a full domain ending in .%s",
			domain, zoneID, zone, strings.SplitN(domain, ".", 2)[0], zone)
		return nil
	}
	v.s.Domain, v.domainKnown = domain, true

	return v.checkRecords(ctx, zoneID, zone, domain)
}

// checkRecords reads the zone's records at the names that matter, and only
// there: the names between the apex (excluded) and the domain (included),
// where an NS record would delegate the domain to other name servers, and
// *.<domain>, where a record autostop does not own for this load balancer
// (no ownership TXT record naming it beside it) is a conflict. Route 53
// lists records in order from StartRecordName, so dns.RecordSetsAtNames
// starts at each name and stops past the last: the rest of the zone,
// however large, is not read (Route 53 allows 5 requests per second per
// account).
func (v *validation) checkRecords(ctx context.Context, zoneID, zone, domain string) error {
	wildcard := "*." + domain
	delegations := map[string]bool{}
	names := []string{wildcard}
	for name := domain; name != zone && strings.HasSuffix(name, "."+zone); name = strings.SplitN(name, ".", 2)[1] {
		delegations[name] = true
		names = append(names, name)
	}

	sets, err := dns.RecordSetsAtNames(ctx, v.c.Route53, zoneID, names)
	if err != nil {
		return fmt.Errorf("list records of hosted zone %s: %w", zoneID, err)
	}

	var (
		delegated  []string
		records    []string // A, AAAA, CNAME at *.<domain>
		owners     []string // ownership TXT values at *.<domain>
		ownerFound bool
	)
	for _, rr := range sets {
		name := normalizeName(aws.ToString(rr.Name))
		switch {
		case rr.Type == r53types.RRTypeNs && delegations[name]:
			delegated = append(delegated, name)
		case name != wildcard:
		case rr.Type == r53types.RRTypeA || rr.Type == r53types.RRTypeAaaa || rr.Type == r53types.RRTypeCname:
			records = append(records, string(rr.Type))
		case rr.Type == r53types.RRTypeTxt:
			for _, val := range rr.ResourceRecords {
				lb, _, ok := ownership.ParseTXT(aws.ToString(val.Value))
				if !ok {
					continue
				}
				owners = append(owners, lb)
				ownerFound = ownerFound || lb == v.s.Name
			}
		}
	}

	for _, name := range delegated {
		v.invalidf("domain", "hosted zone %s (%s) is not authoritative for %s: it delegates %s to other name servers (NS record)", zoneID, zone, domain, name)
	}
	if len(records) > 0 && !ownerFound {
		owner := "no autostop ownership TXT record"
		if len(owners) > 0 {
			owner = "its ownership TXT record names load balancer " + strings.Join(owners, ", ")
		}
		v.conflictf("domain", "record %s (%s) exists in hosted zone %s and autostop does not own it for %s (%s): remove it or choose another domain",
			wildcard, strings.Join(records, ", "), zoneID, v.s.Name, owner)
	}

	return nil
}
