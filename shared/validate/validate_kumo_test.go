package validate

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/autostop/autostop/shared/localaws/localawstest"
	"github.com/autostop/autostop/shared/localenv"
	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// kumoFixture is the seeded environment plus what the test adds to it.
type kumoFixture struct {
	env          *localenv.Environment
	sameAZSubnet string // a second subnet of the VPC, in the zone of env.SubnetIDs[0]
	pendingCert  string // requested, never validated: PENDING_VALIDATION
	foreignALB   string // not autostop's
	ownedALB     string // autostop's, for load balancer "owned-alb"
	adoptALB     string // not autostop's, adopted by ARN as "autostop-adopted"
}

// TestValidateKumo runs the validate step with the real SDK against the
// local backend: a corpus of bad requests, each failing with its named
// error, and good ones normalized; through the recording proxy, which must
// see read-only calls only.
func TestValidateKumo(t *testing.T) {
	ctx := context.Background()
	seeded := localawstest.StartSeeded(t, "validate")
	b, cfg, env, pcfg := seeded.Backend, seeded.Direct, seeded.Env, seeded.Proxied
	fx := setUpKumo(ctx, t, cfg, env)

	clients := NewClients(pcfg)

	run := func(doc string) (step.Input, error) {
		in, err := DecodeInput(json.RawMessage(`{"spec":` + doc + `,"execution":"kumo-test","results":{}}`))
		if err != nil {
			return step.Input{}, err
		}
		return Validate(ctx, clients, in, b.Region())
	}
	mutatingCalls := func() []string {
		var out []string
		for _, c := range b.Proxy().Calls() {
			if c.Caller == "validate" && c.Mutating {
				out = append(out, c.Service+":"+c.Operation)
			}
		}
		return out
	}

	t.Run("bad requests", func(t *testing.T) {
		for _, tc := range badRequests(fx) {
			t.Run(tc.name, func(t *testing.T) {
				before := len(b.Proxy().Calls())
				_, err := run(tc.doc)
				if got := errorName(steperr.Map(err)); got != tc.want {
					t.Fatalf("error = %v (%s), want %s", err, got, tc.want)
				}
				if !strings.Contains(err.Error(), tc.field) {
					t.Errorf("error %q does not name %s", err, tc.field)
				}
				t.Logf("%s: %v (%d calls)", tc.want, err, len(b.Proxy().Calls())-before)
			})
		}
		if m := mutatingCalls(); len(m) > 0 {
			t.Errorf("mutating calls during the bad requests: %q", m)
		}
	})

	t.Run("samples", func(t *testing.T) {
		paths, err := filepath.Glob(filepath.Join("..", "..", "statemachine", "samples", "*.json"))
		if err != nil || len(paths) < 5 {
			t.Fatalf("samples: %q, %v", paths, err)
		}
		for _, p := range paths {
			t.Run(filepath.Base(p), func(t *testing.T) {
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				out, err := run(localize(string(data), fx))
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				s := out.Spec
				zoneID := ""
				if s.DNS.Provider == spec.ProviderRoute53 {
					zoneID = strings.TrimPrefix(env.HostedZoneID, "/hostedzone/")
				}
				if s.Region != b.Region() || s.Domain != env.Domain || s.DNS.HostedZoneID != zoneID ||
					s.Scheme == "" || s.IPAddressType == "" || len(s.SubnetIDs) != 2 {
					t.Errorf("normalized spec = %+v", s)
				}
				if err := s.Check(); err != nil {
					t.Errorf("normalized spec fails Check: %v", err)
				}
			})
		}
	})

	t.Run("good requests normalized", func(t *testing.T) {
		zoneID := strings.TrimPrefix(env.HostedZoneID, "/hostedzone/")
		// Default subnets: one per zone, the lowest ID where a zone has two.
		defaults := []string{min(env.SubnetIDs[0], fx.sameAZSubnet), env.SubnetIDs[1]}
		sort.Strings(defaults)

		tests := []struct {
			name  string
			doc   string
			check func(*testing.T, spec.LoadBalancerSpec)
		}{
			{
				name: "prefix, issued certificate, every default",
				doc:  `{"name":"autostop-new","vpcId":"` + env.VPCID + `","domain":"AutoStop","dns":{"provider":"route53","hostedZoneId":"` + env.HostedZoneID + `"},"certificate":{"issue":true}}`,
				check: func(t *testing.T, s spec.LoadBalancerSpec) {
					want := spec.LoadBalancerSpec{
						Name: "autostop-new", Region: b.Region(), Scheme: spec.SchemeInternetFacing, IPAddressType: spec.IPv4,
						VPCID: env.VPCID, SubnetIDs: defaults, Domain: env.Domain,
						DNS: spec.DNSSpec{Provider: spec.ProviderRoute53, HostedZoneID: zoneID}, Certificate: &spec.CertificateSpec{Issue: true},
					}
					if !equalSpec(s, want) {
						t.Errorf("normalized spec = %+v\nwant %+v", s, want)
					}
				},
			},
			{
				name: "name of an ALB autostop created for it",
				doc:  `{"name":"owned-alb","vpcId":"` + env.VPCID + `","domain":"autostop.example.test","dns":{"provider":"route53","hostedZoneId":"` + zoneID + `"},"certificate":{"arn":"` + env.CertificateARN + `"}}`,
			},
			{
				name: "wildcard record owned by this load balancer",
				doc:  `{"name":"autostop-mine","vpcId":"` + env.VPCID + `","domain":"mine","dns":{"provider":"route53","hostedZoneId":"` + zoneID + `"},"certificate":{"issue":true}}`,
				check: func(t *testing.T, s spec.LoadBalancerSpec) {
					if s.Domain != "mine."+localenv.ZoneName {
						t.Errorf("domain = %q", s.Domain)
					}
				},
			},
			{
				name: "other DNS, given network, internal dualstack",
				doc: `{"name":"autostop-internal","scheme":"internal","ipAddressType":"dualstack","vpcId":"` + env.VPCID + `","subnetIds":["` + env.SubnetIDs[1] + `","` + env.SubnetIDs[0] + `"],` +
					`"securityGroupIds":["` + env.WebSGID + `"],"domain":"apps.example.net","dns":{"provider":"other"}}`,
				check: func(t *testing.T, s spec.LoadBalancerSpec) {
					if s.Scheme != spec.SchemeInternal || s.IPAddressType != spec.DualStack || !slices.Equal(s.SubnetIDs, []string{env.SubnetIDs[1], env.SubnetIDs[0]}) ||
						!slices.Equal(s.SecurityGroupIDs, []string{env.WebSGID}) {
						t.Errorf("normalized spec = %+v", s)
					}
				},
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				out, err := run(tc.doc)
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if out.Execution != "kumo-test" {
					t.Errorf("execution = %q", out.Execution)
				}
				if tc.check != nil {
					tc.check(t, out.Spec)
				}
			})
		}
	})

	var reads int
	for _, c := range b.Proxy().Calls() {
		if c.Caller == "validate" {
			reads++
		}
	}
	if m := mutatingCalls(); len(m) > 0 {
		t.Errorf("mutating calls: %q", m)
	}
	t.Logf("validate made %d calls, 0 mutating", reads)
}

type badRequest struct {
	name  string
	doc   string
	want  string // the error's name
	field string // the field the message must name
}

// badRequests is the corpus: each must fail before anything is created.
func badRequests(fx kumoFixture) []badRequest {
	env := fx.env
	q := func(s string) string { return `"` + s + `"` }
	zone := q(env.HostedZoneID)
	// doc builds a request from the good one, with fields replaced (a value
	// "" drops the field).
	doc := func(replace map[string]string) string {
		fields := map[string]string{
			"name":        q("autostop-bad"),
			"vpcId":       q(env.VPCID),
			"subnetIds":   `[` + q(env.SubnetIDs[0]) + `,` + q(env.SubnetIDs[1]) + `]`,
			"domain":      q("autostop"),
			"dns":         `{"provider":"route53","hostedZoneId":` + zone + `}`,
			"certificate": `{"arn":` + q(env.CertificateARN) + `}`,
		}
		for k, v := range replace {
			fields[k] = v
		}
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			if fields[k] != "" {
				parts = append(parts, q(k)+":"+fields[k])
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	euCert := strings.Replace(env.CertificateARN, ":"+env.Region+":", ":eu-west-1:", 1)

	return []badRequest{
		{"invalid name", doc(map[string]string{"name": q("auto_stop!")}), "InvalidRequest", "name"},
		{"name starting with internal-", doc(map[string]string{"name": q("internal-lb")}), "InvalidRequest", "name"},
		{"name too long", doc(map[string]string{"name": q(strings.Repeat("n", 33))}), "InvalidRequest", "name"},
		{"domain syntax", doc(map[string]string{"domain": q("auto..stop.example.test")}), "InvalidRequest", "domain"},
		{"wildcard domain", doc(map[string]string{"domain": q("*.autostop.example.test")}), "InvalidRequest", "domain"},
		{"zone not authoritative for the domain", doc(map[string]string{"domain": q("autostop.example.com")}), "InvalidRequest", "not inside hosted zone"},
		{"domain delegated to another zone", doc(map[string]string{"domain": q("apps.sub.example.test"), "certificate": `{"issue":true}`}), "InvalidRequest", "not authoritative"},
		{"missing hosted zone", doc(map[string]string{"dns": `{"provider":"route53","hostedZoneId":"Z0123456789ABCDEFGHIJ"}`}), "InvalidRequest", "dns.hostedZoneId"},
		{"missing VPC", doc(map[string]string{"vpcId": q("vpc-0123456789abcdef0"), "subnetIds": ""}), "InvalidRequest", "vpcId"},
		{"foreign VPC for the subnets", doc(map[string]string{"vpcId": q(env.OtherVPCID)}), "InvalidRequest", "subnetIds[0]"},
		{"subnet of another VPC", doc(map[string]string{"subnetIds": `[` + q(env.SubnetIDs[0]) + `,` + q(env.OtherSubnetID) + `]`}), "InvalidRequest", "subnetIds[1]"},
		{"missing subnet", doc(map[string]string{"subnetIds": `[` + q(env.SubnetIDs[0]) + `,"subnet-0123456789abcdef0"]`}), "InvalidRequest", "subnetIds[1]"},
		{"one availability zone only", doc(map[string]string{"subnetIds": `[` + q(env.SubnetIDs[0]) + `,` + q(fx.sameAZSubnet) + `]`}), "InvalidRequest", "availability zone"},
		{"one subnet only", doc(map[string]string{"subnetIds": `[` + q(env.SubnetIDs[0]) + `]`}), "InvalidRequest", "subnetIds"},
		{"security group of another VPC", doc(map[string]string{"securityGroupIds": `[` + q(env.OtherSGID) + `]`}), "InvalidRequest", "securityGroupIds[0]"},
		{"missing security group", doc(map[string]string{"securityGroupIds": `["sg-0123456789abcdef0"]`}), "InvalidRequest", "securityGroupIds[0]"},
		{"certificate missing", doc(map[string]string{"certificate": `{"arn":"arn:aws:acm:us-east-1:000000000000:certificate/12345678-1234-1234-1234-123456789012"}`}), "InvalidRequest", "does not exist"},
		{"certificate not ISSUED", doc(map[string]string{"certificate": `{"arn":` + q(fx.pendingCert) + `}`}), "InvalidRequest", "PENDING_VALIDATION"},
		{"certificate not covering *.domain", doc(map[string]string{"certificate": `{"arn":` + q(env.OtherCertificateARN) + `}`}), "InvalidRequest", "does not cover"},
		{"certificate expired", doc(map[string]string{"certificate": `{"arn":` + q(env.ExpiredCertificateARN) + `}`}), "InvalidRequest", "EXPIRED"},
		{"certificate in another region", doc(map[string]string{"certificate": `{"arn":` + q(euCert) + `}`}), "InvalidRequest", "certificate.arn"},
		{"certificate both arn and issue", doc(map[string]string{"certificate": `{"arn":` + q(env.CertificateARN) + `,"issue":true}`}), "InvalidRequest", "certificate"},
		{"route53 without certificate", doc(map[string]string{"certificate": ""}), "InvalidRequest", "certificate"},
		{"unknown DNS provider", doc(map[string]string{"dns": `{"provider":"cloudflare"}`}), "InvalidRequest", "dns.provider"},
		{"route53 without zone", doc(map[string]string{"dns": `{"provider":"route53"}`}), "InvalidRequest", "dns.hostedZoneId"},
		{"unknown JSON field", doc(map[string]string{"subnet_ids": `["subnet-1"]`}), "InvalidRequest", `unknown field "subnet_ids"`},
		{"JSON field in another case", doc(map[string]string{"vpcId": "", "VpcId": q(env.VPCID)}), "InvalidRequest", `"VpcId"`},
		{"reserved tag key", doc(map[string]string{"tags": `{"autostop:execution":"x"}`}), "InvalidRequest", "tags"},
		{"name taken by a foreign ALB", doc(map[string]string{"name": q("foreign-alb")}), "Conflict", "name"},
		{"adopting an ALB of another name", doc(map[string]string{"name": q("autostop-x"), "arn": q(fx.foreignALB)}), "InvalidRequest", "arn"},
		{"existing foreign *.domain record", doc(map[string]string{"domain": q("foreign"), "certificate": `{"issue":true}`}), "Conflict", "*.foreign.example.test"},
	}
}

// setUpKumo adds to the seeded environment what the corpus needs, directly
// (not through the recording proxy).
func setUpKumo(ctx context.Context, t *testing.T, cfg aws.Config, env *localenv.Environment) kumoFixture {
	t.Helper()
	fx := kumoFixture{env: env}
	e := ec2.NewFromConfig(cfg)
	sn, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(env.VPCID), CidrBlock: aws.String("10.10.3.0/24"), AvailabilityZone: aws.String(env.SubnetAZs[0])})
	if err != nil {
		t.Fatalf("create subnet: %v", err)
	}
	fx.sameAZSubnet = aws.ToString(sn.Subnet.SubnetId)

	a := acm.NewFromConfig(cfg)
	req, err := a.RequestCertificate(ctx, &acm.RequestCertificateInput{
		DomainName: aws.String("*." + env.Domain), SubjectAlternativeNames: []string{env.Domain}, ValidationMethod: acmtypes.ValidationMethodDns,
	})
	if err != nil {
		t.Fatalf("request certificate: %v", err)
	}
	fx.pendingCert = aws.ToString(req.CertificateArn)

	l := elbv2.NewFromConfig(cfg)
	albs := []struct {
		name string
		arn  *string
		tags map[string]string
	}{
		{"foreign-alb", &fx.foreignALB, map[string]string{"Name": "someone else's"}},
		{"owned-alb", &fx.ownedALB, ownership.Tags("owned-alb", "earlier-execution", nil)},
		{"autostop-adopted", &fx.adoptALB, nil},
	}
	for _, alb := range albs {
		in := &elbv2.CreateLoadBalancerInput{Name: aws.String(alb.name), Subnets: env.SubnetIDs, SecurityGroups: []string{env.WebSGID}}
		for _, k := range ownership.Keys(alb.tags) {
			in.Tags = append(in.Tags, elbv2types.Tag{Key: aws.String(k), Value: aws.String(alb.tags[k])})
		}
		out, err := l.CreateLoadBalancer(ctx, in)
		if err != nil {
			t.Fatalf("create load balancer %s: %v", alb.name, err)
		}
		*alb.arn = aws.ToString(out.LoadBalancers[0].LoadBalancerArn)
	}

	r := route53.NewFromConfig(cfg)
	upsert := func(name string, typ r53types.RRType, value string) r53types.Change {
		return r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(name), Type: typ, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}},
		}}
	}
	if _, err := r.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(env.HostedZoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{
			upsert("*.foreign."+localenv.ZoneName, r53types.RRTypeA, "192.0.2.10"),
			upsert("*.mine."+localenv.ZoneName, r53types.RRTypeA, "192.0.2.11"),
			upsert("*.mine."+localenv.ZoneName, r53types.RRTypeTxt, ownership.TXTValue("autostop-mine", "earlier-execution")),
			upsert("sub."+localenv.ZoneName, r53types.RRTypeNs, "ns1.elsewhere.example.net."),
		}},
	}); err != nil {
		t.Fatalf("create records: %v", err)
	}

	// The seed's expired certificate expires 2 s after it was imported.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := a.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(env.ExpiredCertificateARN)})
		if err != nil {
			t.Fatalf("describe expired certificate: %v", err)
		}
		if out.Certificate.Status == acmtypes.CertificateStatusExpired {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("certificate %s is %s 30 s after seeding, want EXPIRED", env.ExpiredCertificateARN, out.Certificate.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}

	return fx
}

// localize replaces a sample's placeholder IDs with the local environment's.
func localize(doc string, fx kumoFixture) string {
	env := fx.env
	return strings.NewReplacer(
		"vpc-0123456789abcdef0", env.VPCID,
		"subnet-0123456789abcdef0", env.SubnetIDs[0],
		"subnet-0123456789abcdef1", env.SubnetIDs[1],
		"sg-0123456789abcdef0", env.WebSGID,
		"Z0123456789ABCDEFGHIJ", env.HostedZoneID,
		"autostop.example.com", env.Domain,
		"arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012", env.CertificateARN,
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/autostop-adopted/50dc6c495c0c9188", fx.adoptALB,
	).Replace(doc)
}
