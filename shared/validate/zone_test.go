package validate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// TestValidateReadsOnlyTheNamesItNeeds: the zone check reads the records at
// the names between the apex and the domain and at *.<domain>, and no page
// of the rest of the zone (Route 53 allows 5 requests per second per
// account). The fake fails any ListResourceRecordSets that starts anywhere
// else (the zone's start, a name between the needed ones, the name after
// the last one); the zone holds hundreds of records around and between
// them, listed a few at a time.
func TestValidateReadsOnlyTheNamesItNeeds(t *testing.T) {
	a := func(name string) r53types.ResourceRecordSet { return rrset(name, r53types.RRTypeA, "192.0.2.9") }
	filler := func(parent string, n int, label string) []r53types.ResourceRecordSet {
		var out []r53types.ResourceRecordSet
		for i := range n {
			out = append(out, a(fmt.Sprintf("%s%03d.%s.", label, i, parent)))
		}
		return out
	}

	tests := []struct {
		name    string
		domain  string
		records []r53types.ResourceRecordSet
		perPage int
		want    string // "" (valid), or the error type
		fields  []string
		calls   int // ListResourceRecordSets calls
	}{
		{
			name:    "one level below the apex, nothing there: one call",
			domain:  "autostop",
			records: slices.Concat(filler("example.com", 300, "a"), filler("example.com", 300, "b"), filler("autostop.example.com", 100, "www")),
			calls:   1,
		},
		{
			name:   "a foreign wildcard record, small pages",
			domain: "autostop",
			records: slices.Concat(filler("example.com", 300, "a"), filler("autostop.example.com", 100, "www"), []r53types.ResourceRecordSet{
				a(`\052.autostop.example.com.`),
				rrset("autostop.example.com.", r53types.RRTypeMx, "10 mail.example.net."),
				rrset("autostop.example.com.", r53types.RRTypeTxt, `"v=spf1 -all"`),
			}),
			perPage: 2,
			want:    "Conflict", fields: []string{"*.autostop.example.com"},
			calls: 2, // autostop MX + TXT (next *.autostop A: go on); *.autostop A + www000.autostop (next www001.autostop: past the last name)
		},
		{
			name:   "our own wildcard records, deeper domain, names between skipped",
			domain: "apps.team.example.com",
			records: slices.Concat(filler("team.example.com", 300, "a"), filler("apps.team.example.com", 100, "www"), []r53types.ResourceRecordSet{
				rrset("team.example.com.", r53types.RRTypeTxt, `"team"`),
				a(`\052.apps.team.example.com.`),
				rrset(`\052.apps.team.example.com.`, r53types.RRTypeTxt, ownership.TXTValue(ourLB, "exec-0")),
			}),
			perPage: 2,
			calls:   2, // team TXT + a000.team (next a001.team: jump to apps.team); *.apps.team A + TXT (next www000.apps.team: past the last name)
		},
		{
			name:    "a delegation between the apex and the domain",
			domain:  "apps.team.example.com",
			records: append(filler("team.example.com", 300, "a"), rrset("team.example.com.", r53types.RRTypeNs, "ns1.elsewhere.net.")),
			perPage: 10,
			want:    "InvalidRequest", fields: []string{"not authoritative", "delegates team.example.com"},
			calls: 2, // team NS + a000…a008.team (next a009.team: jump to apps.team); nothing from apps.team on
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.records["Z1"] = tc.records
			w.perPage = tc.perPage

			in := request()
			in.Spec.Domain, in.Spec.Certificate = tc.domain, &spec.CertificateSpec{Issue: true}
			full := in.Spec.Domain
			if !strings.Contains(full, ".") {
				full += ".example.com"
			}
			needed := map[string]bool{"*." + full: true}
			for name := full; name != "example.com"; name = strings.SplitN(name, ".", 2)[1] {
				needed[name] = true
			}
			w.listGuard = func(in *route53.ListResourceRecordSetsInput) error {
				if start := dns.NormalizeName(aws.ToString(in.StartRecordName)); !needed[start] {
					t.Errorf("read a page from %q %s: not a name validation needs (%v)", aws.ToString(in.StartRecordName), in.StartRecordType, needed)
					return fmt.Errorf("fake: page beyond the names validation needs")
				}
				return nil
			}

			_, err := Validate(context.Background(), Clients{EC2: w, ELBv2: w, ACM: w, Route53: w, Now: func() time.Time { return now }}, in, "us-east-1")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.want != "":
				if got := errorName(steperr.Map(err)); got != tc.want {
					t.Fatalf("Validate error = %v (%s), want %s", err, got, tc.want)
				}
				for _, f := range tc.fields {
					if !strings.Contains(err.Error(), f) {
						t.Errorf("error %q does not mention %q", err, f)
					}
				}
			}
			lists := 0
			for _, c := range w.calls {
				if c == "ListResourceRecordSets@global" {
					lists++
				}
			}
			if lists != tc.calls {
				t.Errorf("%d ListResourceRecordSets calls, want %d", lists, tc.calls)
			}
		})
	}
}
