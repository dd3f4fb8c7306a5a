package dns

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns/dnstest"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
)

func TestDeleteCreatedBy(t *testing.T) {
	mine := ownership.TXTValue("web", "exec-1")
	plainA := r53types.ResourceRecordSet{Name: aws.String(wildcard), Type: r53types.RRTypeA, TTL: aws.Int64(60),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.1")}}}
	tests := []struct {
		name string
		zone string
		// anyExecution deletes for the load balancer's deletion (execution
		// ""), not for exec-1's rollback.
		anyExecution bool
		seed         []r53types.ResourceRecordSet
		wantDeleted  []string
		wantLeft     []string
		wantKept     []r53types.RRType
	}{
		{
			name:        "ours: A, AAAA and TXT in one batch",
			zone:        zone,
			seed:        []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS), aliasSet(r53types.RRTypeAaaa, albDNS), txtSet(mine)},
			wantDeleted: []string{wildcard + " A", wildcard + " AAAA", wildcard + " TXT"},
		},
		{
			name:     "another execution's: untouched",
			zone:     zone,
			seed:     []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS), txtSet(ownership.TXTValue("web", "exec-0"))},
			wantKept: []r53types.RRType{r53types.RRTypeA, r53types.RRTypeTxt},
		},
		{
			name:     "another load balancer's: untouched",
			zone:     zone,
			seed:     []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS), txtSet(ownership.TXTValue("api", "exec-1"))},
			wantKept: []r53types.RRType{r53types.RRTypeA, r53types.RRTypeTxt},
		},
		{
			name:     "foreign A without TXT: untouched",
			zone:     zone,
			seed:     []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS)},
			wantKept: []r53types.RRType{r53types.RRTypeA},
		},
		{
			name:        "a plain A beside our TXT: kept with the TXT, listed as left",
			zone:        zone,
			seed:        []r53types.ResourceRecordSet{plainA, aliasSet(r53types.RRTypeAaaa, albDNS), txtSet(mine)},
			wantDeleted: []string{wildcard + " AAAA"},
			wantLeft:    []string{wildcard + " A", wildcard + " TXT"},
			wantKept:    []r53types.RRType{r53types.RRTypeA, r53types.RRTypeTxt},
		},
		{
			name: "any execution: this execution's", zone: zone, anyExecution: true,
			seed:        []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS), aliasSet(r53types.RRTypeAaaa, albDNS), txtSet(mine)},
			wantDeleted: []string{wildcard + " A", wildcard + " AAAA", wildcard + " TXT"},
		},
		{
			name: "any execution: an earlier execution's too", zone: zone, anyExecution: true,
			seed:        []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS), txtSet(ownership.TXTValue("web", "exec-0"))},
			wantDeleted: []string{wildcard + " A", wildcard + " TXT"},
		},
		{
			name: "any execution: another load balancer's untouched", zone: zone, anyExecution: true,
			seed:     []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS), txtSet(ownership.TXTValue("api", "exec-1"))},
			wantKept: []r53types.RRType{r53types.RRTypeA, r53types.RRTypeTxt},
		},
		{
			name: "any execution: foreign records untouched", zone: zone, anyExecution: true,
			seed:     []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS), txtSet(`"heritage=external-dns,external-dns/owner=web"`)},
			wantKept: []r53types.RRType{r53types.RRTypeA, r53types.RRTypeTxt},
		},
		{
			name: "any execution: foreign A without TXT untouched", zone: zone, anyExecution: true,
			seed:     []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS)},
			wantKept: []r53types.RRType{r53types.RRTypeA},
		},
		{
			name: "any execution: a plain A beside an earlier execution's TXT is left", zone: zone, anyExecution: true,
			seed:        []r53types.ResourceRecordSet{plainA, aliasSet(r53types.RRTypeAaaa, albDNS), txtSet(ownership.TXTValue("web", "exec-0"))},
			wantDeleted: []string{wildcard + " AAAA"},
			wantLeft:    []string{wildcard + " A", wildcard + " TXT"},
			wantKept:    []r53types.RRType{r53types.RRTypeA, r53types.RRTypeTxt},
		},
		{name: "nothing there: done", zone: zone},
		{name: "zone gone: done", zone: "ZGONE"},
		{name: "other DNS (no zone): nothing to do", zone: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r53 := dnstest.New(zone)
			for _, s := range tt.seed {
				r53.Put(zone, s)
			}
			execution := "exec-1"
			if tt.anyExecution {
				execution = ""
			}
			deleted, left, err := DeleteCreatedBy(context.Background(), Clients{Route53: r53}, "web", execution, tt.zone, domain)
			if err != nil {
				t.Fatalf("DeleteCreatedBy: %v", err)
			}
			if got := ids(deleted); !slices.Equal(got, tt.wantDeleted) {
				t.Errorf("deleted = %v, want %v", got, tt.wantDeleted)
			}
			if got := ids(left); !slices.Equal(got, tt.wantLeft) {
				t.Errorf("left = %v, want %v", got, tt.wantLeft)
			}
			var kept []r53types.RRType
			for _, s := range r53.Records(zone) {
				kept = append(kept, s.Type)
			}
			if !slices.Equal(kept, tt.wantKept) {
				t.Errorf("zone keeps %v, want %v", kept, tt.wantKept)
			}
			if len(tt.wantDeleted) > 0 && r53.Mutating() != 1 {
				t.Errorf("%d change batches, want 1", r53.Mutating())
			}
			if len(tt.wantDeleted) == 0 && r53.Mutating() != 0 {
				t.Errorf("%d change batches, want none", r53.Mutating())
			}
		})
	}
}

// A change batch that fails because the records changed meanwhile is
// planned again from a fresh listing.
func TestDeleteCreatedByRace(t *testing.T) {
	r53 := dnstest.New(zone)
	r53.Put(zone, aliasSet(r53types.RRTypeA, albDNS))
	r53.Put(zone, txtSet(ownership.TXTValue("web", "exec-1")))
	r53.BeforeChange = func(f *dnstest.Route53) {
		f.Put(zone, aliasSet(r53types.RRTypeA, "new-1.elb.amazonaws.com")) // the DELETE no longer matches
	}
	deleted, left, err := DeleteCreatedBy(context.Background(), Clients{Route53: r53}, "web", "exec-1", zone, domain)
	if err != nil || len(left) != 0 || len(deleted) != 2 || len(r53.Records(zone)) != 0 {
		t.Fatalf("deleted %v, left %v, err %v, zone %v; want both deleted on the second try", deleted, left, err, r53.Records(zone))
	}
}

func ids(rs []step.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}

	return out
}
