package dns

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns/dnstest"
)

func TestCompareNames(t *testing.T) {
	names := []string{
		"b.example.test.", "example.test", `\052.example.test.`, "a.b.example.test", "A-B.example.test",
		"a.example.test", `\052.a.example.test`, "0.a.example.test", "z.a.example.test", "example.net", "*.b.example.test",
	}
	slices.SortFunc(names, CompareNames)
	want := []string{
		"example.net", "example.test", `\052.example.test.`, "A-B.example.test", "a.example.test", `\052.a.example.test`,
		"0.a.example.test", "z.a.example.test", "b.example.test.", "*.b.example.test", "a.b.example.test",
	}
	if !slices.Equal(names, want) {
		t.Errorf("sorted = %q\nwant     %q", names, want)
	}
	if CompareNames(`\052.Example.TEST.`, "*.example.test") != 0 {
		t.Error("the same name, escaped and not, compares unequal")
	}
}

// fillZone puts n A records named <label><i>.<parent> in the zone.
func fillZone(r53 *dnstest.Route53, parent, label string, n int) {
	for i := range n {
		r53.Put(zone, r53types.ResourceRecordSet{Name: aws.String(fmt.Sprintf("%s%03d.%s", label, i, parent)), Type: r53types.RRTypeA,
			TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.1")}}})
	}
}

// RecordSetsAtNames reads only pages that start at a name it was asked for
// or continue one: never the records between the names nor after the last.
func TestRecordSetsAtNames(t *testing.T) {
	const parent = "y.example.test"
	names := []string{"*.x." + parent, parent, "x." + parent} // order does not matter
	r53 := dnstest.New(zone)
	r53.PageSize = 2
	// Around and between the names: records under y (a000.y … before x.y)
	// and after the last name (z….y), each far more than a page.
	fillZone(r53, parent, "a", 50)
	fillZone(r53, parent, "z", 50)
	fillZone(r53, "x."+parent, "w", 20) // below x.y, after *.x.y
	for _, s := range []r53types.ResourceRecordSet{
		{Name: aws.String(parent), Type: r53types.RRTypeNs, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("ns1.example.net.")}}},
		{Name: aws.String("x." + parent), Type: r53types.RRTypeMx, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("10 mail.example.net.")}}},
		{Name: aws.String("*.x." + parent), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.2")}}},
		{Name: aws.String("*.x." + parent), Type: r53types.RRTypeAaaa, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("2001:db8::2")}}},
		{Name: aws.String("*.x." + parent), Type: r53types.RRTypeTxt, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(`"t"`)}}},
	} {
		r53.Put(zone, s)
	}

	allowed := map[string]bool{}
	for _, n := range names {
		allowed[NormalizeName(n)] = true
	}
	var starts []string
	r53.BeforeList = func(in *route53.ListResourceRecordSetsInput) error {
		start := NormalizeName(aws.ToString(in.StartRecordName))
		starts = append(starts, start+" "+string(in.StartRecordType))
		if !allowed[start] {
			t.Errorf("a page starting at %q %s was read: not a name asked for", aws.ToString(in.StartRecordName), in.StartRecordType)
			return fmt.Errorf("fake: read past the names asked for")
		}
		return nil
	}

	sets, err := RecordSetsAtNames(context.Background(), r53, zone, names)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sets {
		got = append(got, NormalizeName(aws.ToString(s.Name))+" "+string(s.Type))
	}
	want := []string{"y.example.test NS", "x.y.example.test MX", "*.x.y.example.test A", "*.x.y.example.test AAAA", "*.x.y.example.test TXT"}
	if !slices.Equal(got, want) {
		t.Errorf("record sets = %q\nwant          %q", got, want)
	}
	// y NS + a000 (page 1: next is a001, not a name: jump), x.y MX + *.x.y A
	// (page 2: next is *.x.y AAAA), *.x.y AAAA + TXT (page 3: next is w000,
	// past the last name: stop).
	wantStarts := []string{"y.example.test ", "x.y.example.test ", `*.x.y.example.test AAAA`}
	if !slices.Equal(starts, wantStarts) {
		t.Errorf("pages read from %q\nwant             %q", starts, wantStarts)
	}

	// One name absent, the others on one page: one call.
	r53 = dnstest.New(zone)
	fillZone(r53, parent, "a", 50)
	r53.Put(zone, r53types.ResourceRecordSet{Name: aws.String("*.x." + parent), Type: r53types.RRTypeA, TTL: aws.Int64(60),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.2")}}})
	fillZone(r53, parent, "z", 400)
	if sets, err := RecordSetsAtNames(context.Background(), r53, zone, names); err != nil || len(sets) != 1 || len(r53.Calls()) != 1 {
		t.Errorf("sets %d, err %v, calls %v; want 1 record set, one call", len(sets), err, r53.Calls())
	}

	// A backend that does not move on is an error, not a loop.
	stuck := &stuckLister{}
	if _, err := RecordSetsAtNames(context.Background(), stuck, zone, []string{"a." + parent}); err == nil || stuck.calls > 2 {
		t.Errorf("stuck listing: err %v after %d calls, want an error after 2", err, stuck.calls)
	}
}

// stuckLister answers every call with the same page, pointing at itself.
type stuckLister struct{ calls int }

func (s *stuckLister) ListResourceRecordSets(_ context.Context, _ *route53.ListResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	s.calls++
	return &route53.ListResourceRecordSetsOutput{IsTruncated: true, NextRecordName: aws.String(`a.y.example.test.`), NextRecordType: r53types.RRTypeA}, nil
}
