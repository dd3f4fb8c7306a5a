package dns

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/dns/dnstest"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

const (
	zone     = "Z0TEST"
	domain   = "autostop.example.test"
	wildcard = "*.autostop.example.test"
	albDNS   = "web-123.us-east-1.elb.amazonaws.com"
	albZone  = "Z35SXDOTRQ7X7K"
)

func input(provider, ipType string) step.Input {
	return step.Input{
		Spec: spec.LoadBalancerSpec{
			Name: "web", Domain: domain, IPAddressType: ipType,
			DNS: spec.DNSSpec{Provider: provider, HostedZoneID: zone},
		},
		Execution: "exec-1",
		Results: step.Results{LoadBalancer: &step.LoadBalancerResult{
			ARN: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/1", DNSName: albDNS, CanonicalHostedZoneID: albZone,
		}},
	}
}

func aliasSet(typ r53types.RRType, dnsName string) r53types.ResourceRecordSet {
	return r53types.ResourceRecordSet{Name: aws.String(wildcard), Type: typ, AliasTarget: &r53types.AliasTarget{
		DNSName: aws.String(dnsName), HostedZoneId: aws.String(albZone),
	}}
}

func txtSet(value string) r53types.ResourceRecordSet {
	return r53types.ResourceRecordSet{Name: aws.String(wildcard), Type: r53types.RRTypeTxt, TTL: aws.Int64(300),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}}}
}

func TestEnsure(t *testing.T) {
	ours := ownership.TXTValue("web", "exec-0")
	tests := []struct {
		name     string
		in       func() step.Input
		seed     []r53types.ResourceRecordSet
		wantErr  any // pointer to a steperr type
		mutating int
		calls    []string
		status   string
		actions  map[string]string // record ID → action
		wantSets map[r53types.RRType]bool
	}{
		{
			name:    "other DNS: the CNAME to add, no call",
			in:      func() step.Input { return input(spec.ProviderOther, "") },
			status:  StatusInSync,
			actions: map[string]string{},
		},
		{
			name:     "empty zone: alias A and TXT in one batch",
			in:       func() step.Input { return input(spec.ProviderRoute53, "") },
			mutating: 1,
			calls:    []string{"ListResourceRecordSets", "ChangeResourceRecordSets"},
			status:   StatusPending,
			actions:  map[string]string{wildcard + " A": step.Created, wildcard + " TXT": step.Created},
			wantSets: map[r53types.RRType]bool{r53types.RRTypeA: true, r53types.RRTypeTxt: true},
		},
		{
			name:     "dualstack adds AAAA",
			in:       func() step.Input { return input(spec.ProviderRoute53, spec.DualStack) },
			mutating: 1,
			status:   StatusPending,
			actions:  map[string]string{wildcard + " A": step.Created, wildcard + " AAAA": step.Created, wildcard + " TXT": step.Created},
			wantSets: map[r53types.RRType]bool{r53types.RRTypeA: true, r53types.RRTypeAaaa: true, r53types.RRTypeTxt: true},
		},
		{
			name: "ours and up to date (names as Route 53 returns them): no change",
			in:   func() step.Input { return input(spec.ProviderRoute53, "") },
			seed: []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, "dualstack."+albDNS+"."), txtSet(ours)},
			// one listing, nothing else
			calls:    []string{"ListResourceRecordSets"},
			status:   StatusInSync,
			actions:  map[string]string{wildcard + " A": step.Adopted, wildcard + " TXT": step.Adopted},
			wantSets: map[r53types.RRType]bool{r53types.RRTypeA: true, r53types.RRTypeTxt: true},
		},
		{
			name:     "ours, pointing at another ALB: A upserted, TXT kept",
			in:       func() step.Input { return input(spec.ProviderRoute53, "") },
			seed:     []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, "old-1.us-east-1.elb.amazonaws.com"), txtSet(ours)},
			mutating: 1,
			status:   StatusPending,
			actions:  map[string]string{wildcard + " A": step.Updated, wildcard + " TXT": step.Adopted},
			wantSets: map[r53types.RRType]bool{r53types.RRTypeA: true, r53types.RRTypeTxt: true},
		},
		{
			name:     "ours with AAAA, ALB now ipv4: AAAA deleted",
			in:       func() step.Input { return input(spec.ProviderRoute53, spec.IPv4) },
			seed:     []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS), aliasSet(r53types.RRTypeAaaa, albDNS), txtSet(ours)},
			mutating: 1,
			status:   StatusPending,
			actions:  map[string]string{wildcard + " A": step.Adopted, wildcard + " AAAA": step.Deleted, wildcard + " TXT": step.Adopted},
			wantSets: map[r53types.RRType]bool{r53types.RRTypeA: true, r53types.RRTypeTxt: true},
		},
		{
			name:     "foreign A without TXT: Conflict",
			in:       func() step.Input { return input(spec.ProviderRoute53, "") },
			seed:     []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, "someone-else.elb.amazonaws.com")},
			wantErr:  new(*steperr.Conflict),
			wantSets: map[r53types.RRType]bool{r53types.RRTypeA: true},
		},
		{
			name:     "foreign TXT: Conflict",
			in:       func() step.Input { return input(spec.ProviderRoute53, "") },
			seed:     []r53types.ResourceRecordSet{txtSet(`"v=spf1 -all"`)},
			wantErr:  new(*steperr.Conflict),
			wantSets: map[r53types.RRType]bool{r53types.RRTypeTxt: true},
		},
		{
			name:     "another load balancer's records: Conflict",
			in:       func() step.Input { return input(spec.ProviderRoute53, "") },
			seed:     []r53types.ResourceRecordSet{aliasSet(r53types.RRTypeA, albDNS), txtSet(ownership.TXTValue("api", "exec-9"))},
			wantErr:  new(*steperr.Conflict),
			wantSets: map[r53types.RRType]bool{r53types.RRTypeA: true, r53types.RRTypeTxt: true},
		},
		{
			name: "a CNAME: Conflict",
			in:   func() step.Input { return input(spec.ProviderRoute53, "") },
			seed: []r53types.ResourceRecordSet{{Name: aws.String(wildcard), Type: r53types.RRTypeCname, TTL: aws.Int64(60),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("elsewhere.example.")}}}},
			wantErr:  new(*steperr.Conflict),
			wantSets: map[r53types.RRType]bool{r53types.RRTypeCname: true},
		},
		{
			name: "no load balancer result: NotFound",
			in: func() step.Input {
				in := input(spec.ProviderRoute53, "")
				in.Results.LoadBalancer = nil
				return in
			},
			wantErr: new(*steperr.NotFound),
		},
		{
			name: "Route 53 without zone: InvalidRequest",
			in: func() step.Input {
				in := input(spec.ProviderRoute53, "")
				in.Spec.DNS.HostedZoneID = ""
				return in
			},
			wantErr: new(*steperr.InvalidRequest),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r53 := dnstest.New(zone)
			for _, s := range tt.seed {
				r53.Put(zone, s)
			}
			in := tt.in()
			res, err := Ensure(context.Background(), Clients{Route53: r53}, in)
			if tt.wantErr != nil {
				if err == nil || !errors.As(err, tt.wantErr) {
					t.Fatalf("err = %v (%T), want %T", err, err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if got := r53.Mutating(); got != tt.mutating {
				t.Errorf("mutating calls = %d, want %d (%v)", got, tt.mutating, r53.Calls())
			}
			if tt.calls != nil && !slices.Equal(r53.Calls(), tt.calls) {
				t.Errorf("calls = %v, want %v", r53.Calls(), tt.calls)
			}
			got := map[r53types.RRType]bool{}
			for _, s := range r53.Records(zone) {
				got[s.Type] = true
			}
			if tt.wantSets != nil || len(got) > 0 {
				if len(got) != len(tt.wantSets) {
					t.Errorf("zone holds %v, want %v", got, tt.wantSets)
				}
				for typ := range tt.wantSets {
					if !got[typ] {
						t.Errorf("zone has no %s record", typ)
					}
				}
			}
			if tt.wantErr != nil {
				return
			}
			if res.Wildcard != wildcard || res.ChangeStatus != tt.status || res.Attempts != 1 {
				t.Errorf("result = %+v, want wildcard %s, status %s, attempts 1", res, wildcard, tt.status)
			}
			actions := map[string]string{}
			for _, r := range res.Resources {
				actions[r.ID] = r.Action
			}
			if len(actions) != len(tt.actions) {
				t.Errorf("resources = %+v, want %v", res.Resources, tt.actions)
			}
			for id, a := range tt.actions {
				if actions[id] != a {
					t.Errorf("resource %s action = %q, want %q", id, actions[id], a)
				}
			}
			if in.Spec.DNS.Provider == spec.ProviderOther {
				want := []step.Record{{Name: wildcard, Type: "CNAME", Value: albDNS}}
				if !slices.Equal(res.RecordsToAdd, want) || len(r53.Calls()) != 0 {
					t.Errorf("RecordsToAdd = %v (calls %v), want %v and no call", res.RecordsToAdd, r53.Calls(), want)
				}
				return
			}
			a := r53.Get(zone, wildcard, r53types.RRTypeA)
			if a == nil || a.AliasTarget == nil || aws.ToString(a.AliasTarget.HostedZoneId) != albZone || a.AliasTarget.EvaluateTargetHealth ||
				NormalizeName(aws.ToString(a.AliasTarget.DNSName)) != albDNS && NormalizeName(aws.ToString(a.AliasTarget.DNSName)) != "dualstack."+albDNS {
				t.Errorf("A record = %+v, want alias to %s in %s", a, albDNS, albZone)
			}
			txt := r53.Get(zone, wildcard, r53types.RRTypeTxt)
			if txt == nil || len(txt.ResourceRecords) != 1 {
				t.Fatalf("TXT record = %+v", txt)
			}
			if lb, _, ok := ownership.ParseTXT(aws.ToString(txt.ResourceRecords[0].Value)); !ok || lb != "web" {
				t.Errorf("TXT value %s does not name load balancer web", aws.ToString(txt.ResourceRecords[0].Value))
			}
		})
	}
}

// The wait loop: a PENDING change is only asked about; the re-run after
// INSYNC makes no mutating call.
func TestEnsureWaitsForChange(t *testing.T) {
	ctx := context.Background()
	r53 := dnstest.New(zone)
	r53.SyncAfter = 2
	in := input(spec.ProviderRoute53, "")

	first, err := Ensure(ctx, Clients{Route53: r53}, in)
	if err != nil || first.ChangeStatus != StatusPending || first.ChangeID == "" {
		t.Fatalf("first = %+v, %v; want PENDING with a change ID", first, err)
	}
	in.Results.DNS = &first
	second, err := Ensure(ctx, Clients{Route53: r53}, in)
	if err != nil || second.ChangeStatus != StatusPending || second.Attempts != 2 {
		t.Fatalf("second = %+v, %v; want PENDING, attempts 2", second, err)
	}
	in.Results.DNS = &second
	third, err := Ensure(ctx, Clients{Route53: r53}, in)
	if err != nil || third.ChangeStatus != StatusInSync || third.Attempts != 3 || third.ChangeID != first.ChangeID {
		t.Fatalf("third = %+v, %v; want INSYNC, attempts 3, change %s", third, err, first.ChangeID)
	}
	if !slices.Equal(third.Resources, first.Resources) {
		t.Errorf("resources %v, want the first attempt's %v", third.Resources, first.Resources)
	}
	want := []string{"ListResourceRecordSets", "ChangeResourceRecordSets", "GetChange", "GetChange"}
	if !slices.Equal(r53.Calls(), want) {
		t.Errorf("calls = %v, want %v", r53.Calls(), want)
	}

	// A second execution for the same load balancer: nothing to change.
	again := input(spec.ProviderRoute53, "")
	again.Execution = "exec-2"
	before := r53.Mutating()
	res, err := Ensure(ctx, Clients{Route53: r53}, again)
	if err != nil || res.ChangeStatus != StatusInSync || r53.Mutating() != before {
		t.Fatalf("re-run = %+v, %v, %d mutating calls; want INSYNC and 0", res, err, r53.Mutating()-before)
	}
}

// Another writer creates the records between the listing and the change:
// the batch fails, Ensure lists again and decides from what is there now.
func TestEnsureRace(t *testing.T) {
	tests := []struct {
		name    string
		writer  string // load balancer of the racing writer
		wantErr bool
	}{
		{"same load balancer, other execution: adopted", "web", false},
		{"other load balancer: Conflict", "api", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r53 := dnstest.New(zone)
			r53.BeforeChange = func(f *dnstest.Route53) {
				f.Put(zone, aliasSet(r53types.RRTypeA, albDNS))
				f.Put(zone, txtSet(ownership.TXTValue(tt.writer, "exec-other")))
			}
			res, err := Ensure(context.Background(), Clients{Route53: r53}, input(spec.ProviderRoute53, ""))
			var conflict *steperr.Conflict
			if tt.wantErr {
				if !errors.As(err, &conflict) {
					t.Fatalf("err = %v, want Conflict", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			for _, r := range res.Resources {
				if r.Action != step.Adopted {
					t.Errorf("resource %+v, want adopted", r)
				}
			}
			if lb, exec, _ := ownership.ParseTXT(res.Records[len(res.Records)-1].Value); lb != "web" || exec != "exec-other" {
				t.Errorf("TXT = %s, want the racing execution's (kept)", res.Records[len(res.Records)-1].Value)
			}
		})
	}
}

// Paging: the records at the wildcard name may start on one page and go on
// on the next.
func TestRecordSetsAtPages(t *testing.T) {
	r53 := dnstest.New(zone)
	r53.PageSize = 1
	r53.Put(zone, r53types.ResourceRecordSet{Name: aws.String("a." + domain), Type: r53types.RRTypeA, TTL: aws.Int64(60),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.1")}}})
	r53.Put(zone, aliasSet(r53types.RRTypeA, albDNS))
	r53.Put(zone, txtSet(ownership.TXTValue("web", "e")))
	r53.Put(zone, r53types.ResourceRecordSet{Name: aws.String("zz." + domain), Type: r53types.RRTypeA, TTL: aws.Int64(60),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.2")}}})

	sets, err := RecordSetsAt(context.Background(), r53, zone, wildcard)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 || sets[0].Type != r53types.RRTypeA || sets[1].Type != r53types.RRTypeTxt {
		t.Fatalf("sets = %+v, want A and TXT of %s", sets, wildcard)
	}
	if n := len(r53.Calls()); n != 2 {
		t.Errorf("%d list calls, want 2 (the second page still holds the name, the third does not)", n)
	}
}

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		`\052.Autostop.Example.TEST.`: "*.autostop.example.test",
		"*.autostop.example.test":     "*.autostop.example.test",
		" example.test. ":             "example.test",
		`a\100b.example.test`:         "a@b.example.test",
		`a\056b.example.test.`:        `a\056b.example.test`,
		`\052`:                        "*",
	} {
		if got := NormalizeName(in); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}
