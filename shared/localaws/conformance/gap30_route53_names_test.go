package conformance

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// Gap 30: Route 53 returns every record name fully qualified, lower case,
// with a trailing dot and "*" as "\052" (alias targets with a trailing dot
// too); ListResourceRecordSets lists in Route 53's order (by name with the
// labels reversed, then by type) from StartRecordName / StartRecordType,
// MaxItems at a time, with IsTruncated and NextRecordName / NextRecordType;
// a CREATE of an existing record is InvalidChangeBatch "Tried to create
// resource record set [name='…', type='…'] but it already exists", and the
// record as listed (escaped name) can be deleted.
//
//nolint:funlen // one scenario, step by step
func TestGap30Route53RecordNamesAndListing(t *testing.T) {
	ctx := t.Context()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r53 := route53.NewFromConfig(cfg)

	zone, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name: aws.String("Gap30.Example.TEST"), CallerReference: aws.String("gap30"),
	})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	zoneID := zone.HostedZone.Id
	if got := aws.ToString(zone.HostedZone.Name); got != "gap30.example.test." {
		t.Errorf("hosted zone name = %q, want gap30.example.test.", got)
	}

	rrs := func(name string, typ r53types.RRType, value string) *r53types.ResourceRecordSet {
		return &r53types.ResourceRecordSet{Name: aws.String(name), Type: typ, TTL: aws.Int64(300),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}}}
	}
	create := func(sets ...*r53types.ResourceRecordSet) error {
		changes := make([]r53types.Change, 0, len(sets))
		for _, s := range sets {
			changes = append(changes, r53types.Change{Action: r53types.ChangeActionCreate, ResourceRecordSet: s})
		}
		_, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: zoneID, ChangeBatch: &r53types.ChangeBatch{Changes: changes},
		})
		return err
	}
	if err := create(
		rrs("www.gap30.example.test", r53types.RRTypeA, "192.0.2.1"),
		rrs("*.Apps.gap30.example.test", r53types.RRTypeTxt, `"owner"`),
		&r53types.ResourceRecordSet{Name: aws.String("*.apps.gap30.example.test."), Type: r53types.RRTypeA, AliasTarget: &r53types.AliasTarget{
			DNSName: aws.String("Gap30-LB-1.us-east-1.elb.amazonaws.com"), HostedZoneId: aws.String("Z35SXDOTRQ7X7K"),
		}},
		rrs("apps.gap30.example.test", r53types.RRTypeNs, "ns1.example.net."),
		rrs("a-b.gap30.example.test", r53types.RRTypeCname, "elsewhere.example.net"),
		rrs("b.apps.gap30.example.test", r53types.RRTypeAaaa, "2001:db8::1"),
	); err != nil {
		t.Fatalf("ChangeResourceRecordSets CREATE: %v", err)
	}

	list := func(in route53.ListResourceRecordSetsInput) *route53.ListResourceRecordSetsOutput {
		t.Helper()
		in.HostedZoneId = zoneID
		out, err := r53.ListResourceRecordSets(ctx, &in)
		if err != nil {
			t.Fatalf("ListResourceRecordSets %s %s: %v", aws.ToString(in.StartRecordName), in.StartRecordType, err)
		}
		return out
	}
	names := func(sets []r53types.ResourceRecordSet) []string {
		out := []string{}
		for _, s := range sets {
			out = append(out, aws.ToString(s.Name)+" "+string(s.Type))
		}
		return out
	}

	// Every name as Route 53 returns it, in its order: labels reversed
	// ("-" sorts before "."; a name before the names below it; "*" first
	// among them), then type.
	all := list(route53.ListResourceRecordSetsInput{})
	want := []string{
		"a-b.gap30.example.test. CNAME", "apps.gap30.example.test. NS", `\052.apps.gap30.example.test. A`,
		`\052.apps.gap30.example.test. TXT`, "b.apps.gap30.example.test. AAAA", "www.gap30.example.test. A",
	}
	if got := names(all.ResourceRecordSets); !slices.Equal(got, want) {
		t.Errorf("ListResourceRecordSets = %q\nwant                     %q", got, want)
	}
	for _, s := range all.ResourceRecordSets {
		if s.AliasTarget != nil && aws.ToString(s.AliasTarget.DNSName) != "gap30-lb-1.us-east-1.elb.amazonaws.com." {
			t.Errorf("alias target DNSName = %q, want gap30-lb-1.us-east-1.elb.amazonaws.com.", aws.ToString(s.AliasTarget.DNSName))
		}
	}

	// StartRecordName (as sent by a client: "*", no trailing dot) and
	// MaxItems: one page, and where the next one starts.
	page := list(route53.ListResourceRecordSetsInput{StartRecordName: aws.String("*.apps.gap30.example.test"), MaxItems: aws.Int32(1)})
	if got := names(page.ResourceRecordSets); !slices.Equal(got, []string{`\052.apps.gap30.example.test. A`}) || !page.IsTruncated ||
		aws.ToString(page.NextRecordName) != `\052.apps.gap30.example.test.` || page.NextRecordType != r53types.RRTypeTxt {
		t.Errorf("from *.apps, MaxItems 1: %q, IsTruncated %v, next %q %s; want [\\052.apps A], true, \\052.apps.gap30.example.test. TXT",
			got, page.IsTruncated, aws.ToString(page.NextRecordName), page.NextRecordType)
	}
	page = list(route53.ListResourceRecordSetsInput{StartRecordName: aws.String("b.apps.gap30.example.test."), StartRecordType: r53types.RRTypeA})
	if got := names(page.ResourceRecordSets); !slices.Equal(got, want[4:]) || page.IsTruncated {
		t.Errorf("from b.apps A: %q, IsTruncated %v; want %q, false", got, page.IsTruncated, want[4:])
	}

	// Paging with the Next* values reads every record once, in order.
	var paged []string
	in := route53.ListResourceRecordSetsInput{MaxItems: aws.Int32(2)}
	for range len(want) {
		out := list(in)
		paged = append(paged, names(out.ResourceRecordSets)...)
		if !out.IsTruncated {
			break
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier
	}
	if !slices.Equal(paged, want) {
		t.Errorf("paged 2 at a time = %q\nwant                %q", paged, want)
	}

	// CREATE of an existing record, named as it was created or as listed:
	// InvalidChangeBatch.
	for _, c := range []struct {
		name string
		typ  r53types.RRType
		want string
	}{
		{"www.gap30.example.test", r53types.RRTypeA, "www.gap30.example.test."},
		{`\052.apps.gap30.example.test.`, r53types.RRTypeTxt, `\052.apps.gap30.example.test.`},
	} {
		err := create(rrs(c.name, c.typ, "192.0.2.2"))
		var invalid *r53types.InvalidChangeBatch
		msg := "Tried to create resource record set [name='" + c.want + "', type='" + string(c.typ) + "'] but it already exists"
		if !errors.As(err, &invalid) || !strings.Contains(err.Error(), msg) {
			t.Errorf("CREATE of the existing record %s %s: %v\nwant InvalidChangeBatch: %s", c.name, c.typ, err, msg)
		}
	}

	// The records as listed (escaped name, alias target) delete.
	var del []r53types.Change
	for _, s := range all.ResourceRecordSets {
		if strings.HasPrefix(aws.ToString(s.Name), `\052.apps.`) {
			del = append(del, r53types.Change{Action: r53types.ChangeActionDelete, ResourceRecordSet: &s})
		}
	}
	if len(del) != 2 {
		t.Fatalf("%d records named \\052.apps.… listed, want 2 (A and TXT)", len(del))
	}
	if _, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: zoneID, ChangeBatch: &r53types.ChangeBatch{Changes: del},
	}); err != nil {
		t.Errorf("DELETE of the wildcard records as listed: %v", err)
	}
	if got := names(list(route53.ListResourceRecordSetsInput{StartRecordName: aws.String("*.apps.gap30.example.test")}).ResourceRecordSets); !slices.Equal(got, want[4:]) {
		t.Errorf("after the DELETE, from *.apps: %q, want %q", got, want[4:])
	}
}
