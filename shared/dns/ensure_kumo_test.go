package dns

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// The DNS step against the local backend, through the recording proxy:
// alias A (+ AAAA) and TXT with the ALB's name and zone, re-runs without a
// mutating call, a foreign record is a Conflict, delete removes only what
// the execution wrote.
func TestEnsureKumo(t *testing.T) {
	ctx := context.Background()
	seeded := localawstest.StartSeeded(t, "test")
	b, cfg, env, pcfg := seeded.Backend, seeded.Direct, seeded.Env, seeded.Proxied
	clients := NewClients(pcfg)
	r53 := route53.NewFromConfig(cfg) // direct: not counted
	zone := strings.TrimPrefix(env.HostedZoneID, "/hostedzone/")
	mutating := func() []string {
		var out []string
		for _, c := range b.Proxy().Calls() {
			if c.Caller == "test" && c.Mutating {
				out = append(out, c.Service+":"+c.Operation)
			}
		}
		return out
	}

	out, err := elbv2.NewFromConfig(cfg).CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
		Name: aws.String("web"), Subnets: env.SubnetIDs, SecurityGroups: []string{env.WebSGID},
		Type: elbv2types.LoadBalancerTypeEnumApplication, IpAddressType: elbv2types.IpAddressTypeDualstack,
	})
	if err != nil {
		t.Fatalf("create ALB: %v", err)
	}
	alb := out.LoadBalancers[0]
	lbResult := &step.LoadBalancerResult{
		ARN: aws.ToString(alb.LoadBalancerArn), DNSName: aws.ToString(alb.DNSName), CanonicalHostedZoneID: aws.ToString(alb.CanonicalHostedZoneId),
	}
	if lbResult.DNSName == "" || lbResult.CanonicalHostedZoneID == "" {
		t.Fatalf("ALB %+v has no DNS name or canonical hosted zone", alb)
	}
	input := func(execution, domain, ipType string) step.Input {
		return step.Input{
			Spec: spec.LoadBalancerSpec{Name: "web", Domain: domain, IPAddressType: ipType,
				DNS: spec.DNSSpec{Provider: spec.ProviderRoute53, HostedZoneID: zone}},
			Execution: execution,
			Results:   step.Results{LoadBalancer: lbResult},
		}
	}
	records := func(name string) map[r53types.RRType]r53types.ResourceRecordSet {
		t.Helper()
		sets, err := RecordSetsAt(ctx, r53, zone, name)
		if err != nil {
			t.Fatal(err)
		}
		m := map[r53types.RRType]r53types.ResourceRecordSet{}
		for _, s := range sets {
			m[s.Type] = s
		}
		return m
	}

	tests := []struct {
		domain string
		ipType string
		want   []r53types.RRType
	}{
		{env.Domain, spec.IPv4, []r53types.RRType{r53types.RRTypeA, r53types.RRTypeTxt}},
		{"dual." + env.ZoneName, spec.DualStack, []r53types.RRType{r53types.RRTypeA, r53types.RRTypeAaaa, r53types.RRTypeTxt}},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			wildcard := "*." + tt.domain
			b.Proxy().Reset()
			res, err := Ensure(ctx, clients, input("exec-1", tt.domain, tt.ipType))
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if got := mutating(); !slices.Equal(got, []string{"route53:ChangeResourceRecordSets"}) {
				t.Errorf("mutating calls %v, want one change batch", got)
			}
			if res.Wildcard != wildcard || res.ChangeID == "" || res.ChangeStatus == "" {
				t.Errorf("result %+v", res)
			}
			got := records(wildcard)
			if len(got) != len(tt.want) {
				t.Errorf("records at %s: %v, want %v", wildcard, got, tt.want)
			}
			for _, typ := range tt.want {
				rrs, ok := got[typ]
				if !ok {
					t.Errorf("no %s record at %s", typ, wildcard)
					continue
				}
				if typ == r53types.RRTypeTxt {
					v := Values(rrs)
					if lb, exec, ok := ownership.ParseTXT(v[0]); len(v) != 1 || !ok || lb != "web" || exec != "exec-1" {
						t.Errorf("TXT %v, want web/exec-1 ownership", v)
					}
					continue
				}
				at := rrs.AliasTarget
				if at == nil || NormalizeName(aws.ToString(at.DNSName)) != NormalizeName(lbResult.DNSName) ||
					aws.ToString(at.HostedZoneId) != lbResult.CanonicalHostedZoneID || at.EvaluateTargetHealth {
					t.Errorf("%s alias = %+v, want %s in %s without target health", typ, at, lbResult.DNSName, lbResult.CanonicalHostedZoneID)
				}
			}

			// The wait loop's next check, and a second execution: no mutating call.
			b.Proxy().Reset()
			again := input("exec-1", tt.domain, tt.ipType)
			again.Results.DNS = &res
			if res2, err := Ensure(ctx, clients, again); err != nil || res2.ChangeStatus != StatusInSync || res2.Attempts != 2 {
				t.Errorf("re-run: %+v, %v; want INSYNC, attempts 2", res2, err)
			}
			other, err := Ensure(ctx, clients, input("exec-2", tt.domain, tt.ipType))
			if err != nil || other.ChangeStatus != StatusInSync {
				t.Errorf("second execution: %+v, %v", other, err)
			}
			for _, r := range other.Resources {
				if r.Action != step.Adopted {
					t.Errorf("second execution reports %+v, want adopted", r)
				}
			}
			if got := mutating(); len(got) != 0 {
				t.Errorf("re-runs made mutating calls %v, want none", got)
			}
		})
	}

	// A record somebody else wrote: Conflict, and it stays as it was.
	foreign := "*.foreign." + env.ZoneName
	if _, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(foreign), Type: r53types.RRTypeA, TTL: aws.Int64(60),
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.10")}},
		}}}},
	}); err != nil {
		t.Fatalf("create the foreign record: %v", err)
	}
	b.Proxy().Reset()
	_, err = Ensure(ctx, clients, input("exec-1", "foreign."+env.ZoneName, spec.IPv4))
	var conflict *steperr.Conflict
	if !errors.As(err, &conflict) {
		t.Errorf("foreign record: err = %v, want Conflict", err)
	}
	if got := mutating(); len(got) != 0 {
		t.Errorf("foreign record: mutating calls %v, want none", got)
	}
	if got := records(foreign); len(got) != 1 || Values(got[r53types.RRTypeA])[0] != "192.0.2.10" {
		t.Errorf("foreign record changed: %v", got)
	}

	// Delete: another execution removes nothing; exec-1 removes exactly its records.
	for _, exec := range []string{"exec-2", "exec-1"} {
		deleted, left, err := DeleteCreatedBy(ctx, clients, "web", exec, zone, env.Domain)
		if err != nil || len(left) != 0 {
			t.Fatalf("DeleteCreatedBy(%s): %v, left %v", exec, err, left)
		}
		want := 0
		if exec == "exec-1" {
			want = 2
		}
		if len(deleted) != want {
			t.Errorf("DeleteCreatedBy(%s) deleted %v, want %d records", exec, deleted, want)
		}
	}
	if got := records("*." + env.Domain); len(got) != 0 {
		t.Errorf("records left at *.%s: %v", env.Domain, got)
	}
	if got := records("*.dual." + env.ZoneName); len(got) != 3 {
		t.Errorf("the other domain's records: %v, want its 3 untouched", got)
	}
	if got := records(foreign); len(got) != 1 {
		t.Errorf("foreign record touched by delete: %v", got)
	}
	if _, _, err := DeleteCreatedBy(ctx, clients, "web", "exec-1", zone, "foreign."+env.ZoneName); err != nil {
		t.Errorf("DeleteCreatedBy(foreign): %v", err)
	}
	if got := records(foreign); len(got) != 1 {
		t.Errorf("foreign record deleted: %v", got)
	}
}

// With realistic timing the local backend reports a change PENDING until it
// is INSYNC (gap 31, patch 0024), as Route 53 does: Ensure answers PENDING
// with the change's ID, its next checks only ask GetChange (no listing, no
// change) and see PENDING, then INSYNC.
func TestEnsureKumoWaitsForInSync(t *testing.T) {
	ctx := context.Background()
	b := localawstest.StartWith(t, localaws.Options{RealisticTiming: true})
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	url, err := b.Proxy().Listen("test")
	if err != nil {
		t.Fatal(err)
	}
	pcfg, err := localaws.ConfigFor(ctx, url, b.Region())
	if err != nil {
		t.Fatal(err)
	}
	created, err := route53.NewFromConfig(cfg).CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
		Name: aws.String("insync.example.test"), CallerReference: aws.String("insync"),
	})
	if err != nil {
		t.Fatalf("CreateHostedZone: %v", err)
	}
	in := step.Input{
		Spec: spec.LoadBalancerSpec{Name: "web", Domain: "apps.insync.example.test", IPAddressType: spec.IPv4,
			DNS: spec.DNSSpec{Provider: spec.ProviderRoute53, HostedZoneID: strings.TrimPrefix(aws.ToString(created.HostedZone.Id), "/hostedzone/")}},
		Execution: "exec-1",
		Results: step.Results{LoadBalancer: &step.LoadBalancerResult{
			ARN: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/0123456789abcdef", DNSName: "web-123.us-east-1.elb.amazonaws.com",
			CanonicalHostedZoneID: "Z35SXDOTRQ7X7K",
		}},
	}
	clients := NewClients(pcfg)

	res, err := Ensure(ctx, clients, in)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if res.ChangeStatus != StatusPending || res.ChangeID == "" {
		t.Fatalf("Ensure = %+v, want PENDING with a change ID", res)
	}
	pending := 0
	for deadline := time.Now().Add(10 * time.Second); res.ChangeStatus == StatusPending; time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still PENDING after 10 s (%d checks)", pending)
		}
		b.Proxy().Reset()
		in.Results.DNS = &res
		if res, err = Ensure(ctx, clients, in); err != nil {
			t.Fatalf("Ensure (wait loop): %v", err)
		}
		var ops []string
		for _, c := range b.Proxy().Calls() {
			if c.Caller == "test" {
				ops = append(ops, c.Operation)
			}
		}
		if !slices.Equal(ops, []string{"GetChange"}) {
			t.Errorf("a check of the change called %v, want GetChange only", ops)
		}
		if res.ChangeStatus == StatusPending {
			pending++
		}
	}
	if res.ChangeStatus != StatusInSync || pending == 0 {
		t.Errorf("the wait ended %s after %d PENDING checks, want INSYNC after at least one", res.ChangeStatus, pending)
	}
}
