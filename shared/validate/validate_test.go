package validate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// request is the base request: Route 53 prefix "autostop" in zone Z1, the
// good certificate, VPC vpc-a with defaults for everything else.
func request() step.Input {
	return step.Input{
		Spec: spec.LoadBalancerSpec{
			Name:        ourLB,
			VPCID:       "vpc-a",
			Domain:      "autostop",
			DNS:         spec.DNSSpec{Provider: spec.ProviderRoute53, HostedZoneID: "Z1"},
			Certificate: &spec.CertificateSpec{ARN: certGood},
		},
		Execution: "exec-1",
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*spec.LoadBalancerSpec)
		world  func(*world)
		want   string   // "" (valid), "InvalidRequest", "Conflict", "Throttled", "Internal": the mapped error's type
		fields []string // substrings the error message must hold
		check  func(*testing.T, spec.LoadBalancerSpec)
	}{
		{
			name: "prefix in zone, defaults filled in",
			check: func(t *testing.T, s spec.LoadBalancerSpec) {
				if s.Domain != "autostop.example.com" || s.Region != "us-east-1" || s.Scheme != spec.SchemeInternetFacing ||
					s.IPAddressType != spec.IPv4 || s.DNS.HostedZoneID != "Z1" {
					t.Errorf("normalized spec = %+v", s)
				}
				// zone a has subnet-a1 and subnet-a3 (public): an internet-facing ALB prefers the public one.
				if !slices.Equal(s.SubnetIDs, []string{"subnet-a2", "subnet-a3"}) {
					t.Errorf("default subnets = %q, want [subnet-a2 subnet-a3]", s.SubnetIDs)
				}
				if s.SecurityGroupIDs != nil {
					t.Errorf("security groups = %q, want none (the ensure step creates one)", s.SecurityGroupIDs)
				}
			},
		},
		{
			name:   "internal scheme prefers private subnets",
			mutate: func(s *spec.LoadBalancerSpec) { s.Scheme = spec.SchemeInternal },
			check: func(t *testing.T, s spec.LoadBalancerSpec) {
				if !slices.Equal(s.SubnetIDs, []string{"subnet-a1", "subnet-a2"}) {
					t.Errorf("default subnets = %q, want [subnet-a1 subnet-a2]", s.SubnetIDs)
				}
			},
		},
		{
			name: "full domain, prefixed zone ID, upper case, given network",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Domain, s.DNS.HostedZoneID = "AutoStop.Example.com.", "/hostedzone/Z1"
				s.SubnetIDs, s.SecurityGroupIDs = []string{"subnet-a2", "subnet-a1"}, []string{"sg-a", "sg-a2"}
				s.Region, s.IPAddressType = "us-east-1", spec.DualStack
			},
			check: func(t *testing.T, s spec.LoadBalancerSpec) {
				if s.Domain != "autostop.example.com" || s.DNS.HostedZoneID != "Z1" || s.IPAddressType != spec.DualStack {
					t.Errorf("normalized spec = %+v", s)
				}
				if !slices.Equal(s.SubnetIDs, []string{"subnet-a2", "subnet-a1"}) || !slices.Equal(s.SecurityGroupIDs, []string{"sg-a", "sg-a2"}) {
					t.Errorf("given network changed: %q %q", s.SubnetIDs, s.SecurityGroupIDs)
				}
			},
		},
		{
			name:   "domain equal to the zone",
			mutate: func(s *spec.LoadBalancerSpec) { s.Domain, s.Certificate.ARN = "example.com", certParent },
			check: func(t *testing.T, s spec.LoadBalancerSpec) {
				if s.Domain != "example.com" {
					t.Errorf("domain = %q", s.Domain)
				}
			},
		},
		{
			name:   "existing wildcard record owned by this load balancer",
			mutate: func(s *spec.LoadBalancerSpec) { s.Domain, s.Certificate = "mine", &spec.CertificateSpec{Issue: true} },
		},
		{
			name: "a TXT record alone is no conflict",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Domain, s.Certificate = "txtonly", &spec.CertificateSpec{Issue: true}
			},
		},
		{
			name:   "records read over several pages",
			mutate: func(s *spec.LoadBalancerSpec) { s.Domain, s.Certificate = "taken", &spec.CertificateSpec{Issue: true} },
			world:  func(w *world) { w.perPage = 2 },
			want:   "Conflict", fields: []string{"domain", "*.taken.example.com"},
		},
		{
			name: "other DNS, HTTP only",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Domain, s.DNS, s.Certificate = "Apps.Example.NET", spec.DNSSpec{Provider: spec.ProviderOther}, nil
			},
			check: func(t *testing.T, s spec.LoadBalancerSpec) {
				if s.Domain != "apps.example.net" || s.Certificate != nil {
					t.Errorf("normalized spec = %+v", s)
				}
			},
		},
		{
			name: "other DNS, certificate ARN",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Domain, s.DNS = "autostop.example.com", spec.DNSSpec{Provider: spec.ProviderOther}
			},
		},
		{
			name:   "name of an autostop load balancer: a re-run",
			mutate: func(s *spec.LoadBalancerSpec) { s.Name = "autostop-demo-old" },
		},
		{
			name: "adopt by ARN takes the load balancer's settings",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Name, s.ARN = "adopt-me", lbARNPrefix+"adopt-me/0123456789abcdef"
			},
			check: func(t *testing.T, s spec.LoadBalancerSpec) {
				if s.Scheme != spec.SchemeInternal || s.IPAddressType != spec.DualStack ||
					!slices.Equal(s.SubnetIDs, []string{"subnet-a1", "subnet-a2"}) || !slices.Equal(s.SecurityGroupIDs, []string{"sg-a"}) {
					t.Errorf("adopted settings = %+v", s)
				}
			},
		},
		{
			name: "adopt with matching settings given",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Name, s.ARN = "adopt-me", lbARNPrefix+"adopt-me/0123456789abcdef"
				s.Scheme, s.IPAddressType, s.SubnetIDs, s.SecurityGroupIDs = spec.SchemeInternal, spec.DualStack, []string{"subnet-a2", "subnet-a1"}, []string{"sg-a"}
			},
		},

		// Static problems: caught before any AWS call.
		{name: "bad name", mutate: func(s *spec.LoadBalancerSpec) { s.Name = "bad_name" }, want: "InvalidRequest", fields: []string{"name"}},
		{name: "route53 without zone", mutate: func(s *spec.LoadBalancerSpec) { s.DNS.HostedZoneID = "" }, want: "InvalidRequest", fields: []string{"dns.hostedZoneId"}},
		{
			name:   "certificate in another region than the default",
			mutate: func(s *spec.LoadBalancerSpec) { s.Certificate.ARN = certEU },
			want:   "InvalidRequest", fields: []string{"certificate.arn", "eu-west-1"},
		},
		{
			name: "adoption ARN in another region than the default",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.ARN = strings.Replace(lbARNPrefix, "us-east-1", "eu-west-1", 1) + ourLB + "/1"
			},
			want: "InvalidRequest", fields: []string{"arn", "eu-west-1"},
		},
		{name: "unknown provider", mutate: func(s *spec.LoadBalancerSpec) { s.DNS.Provider = "gandi" }, want: "InvalidRequest", fields: []string{"dns.provider"}},

		// Network.
		{name: "missing VPC", mutate: func(s *spec.LoadBalancerSpec) { s.VPCID = "vpc-f" }, want: "InvalidRequest", fields: []string{"vpcId", "vpc-f"}},
		{
			name:   "missing VPC does not repeat itself for every subnet",
			mutate: func(s *spec.LoadBalancerSpec) { s.VPCID, s.SubnetIDs = "vpc-f", []string{"subnet-a1", "subnet-a2"} },
			want:   "InvalidRequest", fields: []string{"vpcId"},
		},
		{
			name:   "subnets of another VPC",
			mutate: func(s *spec.LoadBalancerSpec) { s.SubnetIDs = []string{"subnet-b1", "subnet-b2"} },
			want:   "InvalidRequest", fields: []string{"subnetIds[0]", "subnetIds[1]", "vpc-b"},
		},
		{
			name:   "subnets of the VPC given with the other VPC",
			mutate: func(s *spec.LoadBalancerSpec) { s.VPCID, s.SubnetIDs = "vpc-b", []string{"subnet-a1", "subnet-a2"} },
			want:   "InvalidRequest", fields: []string{"subnetIds[0]", "not in vpcId vpc-b"},
		},
		{
			name:   "missing subnet",
			mutate: func(s *spec.LoadBalancerSpec) { s.SubnetIDs = []string{"subnet-a1", "subnet-f"} },
			want:   "InvalidRequest", fields: []string{"subnetIds[1]", "subnet-f does not exist"},
		},
		{
			name:   "one availability zone",
			mutate: func(s *spec.LoadBalancerSpec) { s.SubnetIDs = []string{"subnet-a1", "subnet-a3"} },
			want:   "InvalidRequest", fields: []string{"subnetIds", "us-east-1a", "one subnet per zone"},
		},
		{
			name:   "VPC with one availability zone and no subnets given",
			mutate: func(s *spec.LoadBalancerSpec) {},
			world: func(w *world) {
				w.subnets = slices.DeleteFunc(w.subnets, func(s ec2types.Subnet) bool { return *s.SubnetId == "subnet-a2" })
			},
			want: "InvalidRequest", fields: []string{"subnetIds", "1 availability zone"},
		},
		{
			name:   "security group of another VPC",
			mutate: func(s *spec.LoadBalancerSpec) { s.SecurityGroupIDs = []string{"sg-a", "sg-b"} },
			want:   "InvalidRequest", fields: []string{"securityGroupIds[1]", "vpc-b"},
		},
		{
			name:   "missing security group",
			mutate: func(s *spec.LoadBalancerSpec) { s.SecurityGroupIDs = []string{"sg-f", "sg-a"} },
			want:   "InvalidRequest", fields: []string{"securityGroupIds[0]", "sg-f does not exist"},
		},

		// DNS.
		{name: "missing zone", mutate: func(s *spec.LoadBalancerSpec) { s.DNS.HostedZoneID = "Z9" }, want: "InvalidRequest", fields: []string{"dns.hostedZoneId", "Z9"}},
		{name: "private zone", mutate: func(s *spec.LoadBalancerSpec) { s.DNS.HostedZoneID = "Z2" }, want: "InvalidRequest", fields: []string{"dns.hostedZoneId", "private"}},
		{
			name:   "domain outside the zone",
			mutate: func(s *spec.LoadBalancerSpec) { s.Domain = "autostop.example.org" },
			want:   "InvalidRequest", fields: []string{"domain", "not inside hosted zone"},
		},
		{
			name:   "domain that only ends like the zone",
			mutate: func(s *spec.LoadBalancerSpec) { s.Domain = "autostop.myexample.com" },
			want:   "InvalidRequest", fields: []string{"domain", "not inside hosted zone"},
		},
		{
			name: "domain delegated to other name servers",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Domain, s.Certificate = "apps.delegated.example.com", &spec.CertificateSpec{Issue: true}
			},
			want: "InvalidRequest", fields: []string{"domain", "not authoritative", "delegated.example.com"},
		},
		{
			name:   "foreign wildcard A record",
			mutate: func(s *spec.LoadBalancerSpec) { s.Domain, s.Certificate = "taken", &spec.CertificateSpec{Issue: true} },
			want:   "Conflict", fields: []string{"domain", "*.taken.example.com", "no autostop ownership"},
		},
		{
			name:   "foreign wildcard CNAME record",
			mutate: func(s *spec.LoadBalancerSpec) { s.Domain, s.Certificate = "cname", &spec.CertificateSpec{Issue: true} },
			want:   "Conflict", fields: []string{"*.cname.example.com", "CNAME"},
		},
		{
			name:   "wildcard record of another autostop load balancer",
			mutate: func(s *spec.LoadBalancerSpec) { s.Domain, s.Certificate = "theirs", &spec.CertificateSpec{Issue: true} },
			want:   "Conflict", fields: []string{"*.theirs.example.com", "other-lb"},
		},
		{
			name: "prefix too long for an issued certificate once full",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Domain, s.Certificate = strings.Repeat("a", 55), &spec.CertificateSpec{Issue: true}
			},
			want: "InvalidRequest", fields: []string{"domain", "64"},
		},

		// Certificate.
		{name: "missing certificate", mutate: func(s *spec.LoadBalancerSpec) { s.Certificate.ARN = certGood + "x" }, want: "InvalidRequest", fields: []string{"certificate.arn", "does not exist"}},
		{name: "pending certificate", mutate: func(s *spec.LoadBalancerSpec) { s.Certificate.ARN = certPending }, want: "InvalidRequest", fields: []string{"certificate.arn", "PENDING_VALIDATION", "ISSUED"}},
		{name: "certificate for another domain", mutate: func(s *spec.LoadBalancerSpec) { s.Certificate.ARN = certOther }, want: "InvalidRequest", fields: []string{"certificate.arn", "does not cover *.autostop.example.com"}},
		{name: "parent wildcard does not cover", mutate: func(s *spec.LoadBalancerSpec) { s.Certificate.ARN = certParent }, want: "InvalidRequest", fields: []string{"does not cover *.autostop.example.com"}},
		{name: "certificate expiring within 30 days", mutate: func(s *spec.LoadBalancerSpec) { s.Certificate.ARN = certExpiring }, want: "InvalidRequest", fields: []string{"certificate.arn", "expires"}},
		{
			// The proxy function exists in the deployment's region only.
			name:   "a load balancer in another region than the deployment",
			mutate: func(s *spec.LoadBalancerSpec) { s.Region, s.Certificate.ARN = "eu-west-1", certEU },
			want:   "InvalidRequest", fields: []string{"region", "eu-west-1", "us-east-1", "deploy the stack in eu-west-1"},
		},

		// Load balancer name.
		{name: "name taken by a foreign load balancer", mutate: func(s *spec.LoadBalancerSpec) { s.Name = "foreign" }, want: "Conflict", fields: []string{"name", "foreign", "arn"}},
		{name: "name taken by a network load balancer", mutate: func(s *spec.LoadBalancerSpec) { s.Name = "nlb" }, want: "Conflict", fields: []string{"name"}},
		{
			name:   "own load balancer in another VPC",
			mutate: func(s *spec.LoadBalancerSpec) { s.Name = "other-vpc-old" },
			want:   "Conflict", fields: []string{"name", "vpc-b"},
		},
		{
			name:   "own load balancer with another scheme",
			mutate: func(s *spec.LoadBalancerSpec) { s.Name, s.Scheme = "autostop-demo-old", spec.SchemeInternal },
			want:   "Conflict", fields: []string{"scheme"},
		},
		{
			name:   "conflict and invalid together: invalid wins, both listed",
			mutate: func(s *spec.LoadBalancerSpec) { s.Name, s.VPCID = "foreign", "vpc-f" },
			want:   "InvalidRequest", fields: []string{"vpcId", "name: a load balancer named foreign"},
		},
		{
			name:   "adopt a missing load balancer",
			mutate: func(s *spec.LoadBalancerSpec) { s.Name, s.ARN = "gone", lbARNPrefix+"gone/0123456789abcdef" },
			want:   "InvalidRequest", fields: []string{"arn", "does not exist"},
		},
		{
			name:   "adopt a network load balancer",
			mutate: func(s *spec.LoadBalancerSpec) { s.Name, s.ARN = "nlb", lbARNPrefix+"nlb/0123456789abcdef" },
			want:   "InvalidRequest", fields: []string{"arn", "network"},
		},
		{
			name: "adopt a load balancer of another VPC",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Name, s.ARN, s.VPCID = "adopt-me", lbARNPrefix+"adopt-me/0123456789abcdef", "vpc-b"
			},
			want: "InvalidRequest", fields: []string{"arn", "vpc-a", "not in vpcId vpc-b"},
		},
		{
			name: "adopt with other settings",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Name, s.ARN = "adopt-me", lbARNPrefix+"adopt-me/0123456789abcdef"
				s.Scheme, s.IPAddressType, s.SubnetIDs, s.SecurityGroupIDs = spec.SchemeInternetFacing, spec.IPv4, []string{"subnet-a3", "subnet-a2"}, []string{"sg-a2"}
			},
			want: "InvalidRequest", fields: []string{"scheme", "ipAddressType", "subnetIds", "securityGroupIds"},
		},
		{
			name: "adopt an ARN whose load balancer has another name",
			mutate: func(s *spec.LoadBalancerSpec) {
				s.Name, s.ARN = "renamed", lbARNPrefix+"renamed/0123456789abcdef"
			},
			world: func(w *world) { w.lbs[3].LoadBalancerArn = stringPtr(lbARNPrefix + "renamed/0123456789abcdef") },
			want:  "InvalidRequest", fields: []string{"arn", "named adopt-me"},
		},

		// AWS errors other than "not found" are not the request's fault.
		{name: "throttled", world: func(w *world) { w.fail["DescribeSubnets"] = apiErr("RequestLimitExceeded") }, want: "Throttled", fields: []string{"describe subnets"}},
		{name: "access denied", world: func(w *world) { w.fail["GetHostedZone"] = apiErr("AccessDenied") }, want: "AccessDenied", fields: []string{"hosted zone"}},
		{name: "internal", world: func(w *world) { w.fail["DescribeCertificate"] = errors.New("connection reset") }, want: "Internal", fields: []string{"describe certificate"}},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			if tc.world != nil {
				tc.world(w)
			}
			in := request()
			if tc.mutate != nil {
				tc.mutate(&in.Spec)
			}
			given := in.Spec.WithDefaults("")

			out, err := Validate(context.Background(), Clients{EC2: w, ELBv2: w, ACM: w, Route53: w, Now: func() time.Time { return now }}, in, "us-east-1")

			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if out.Execution != in.Execution {
					t.Errorf("execution = %q, want %q", out.Execution, in.Execution)
				}
				if err := out.Spec.Check(); err != nil {
					t.Errorf("normalized spec fails Check: %v", err)
				}
				if tc.check != nil {
					tc.check(t, out.Spec)
				}
				// Idempotent: the normalized request validates to itself.
				again, err := Validate(context.Background(), Clients{EC2: w, ELBv2: w, ACM: w, Route53: w, Now: func() time.Time { return now }}, out, "us-east-1")
				if err != nil {
					t.Fatalf("second Validate: %v", err)
				}
				if !equalSpec(again.Spec, out.Spec) {
					t.Errorf("second Validate = %+v, want %+v", again.Spec, out.Spec)
				}
			} else {
				t.Logf("error: %v", err)
				mapped := steperr.Map(err)
				if got := errorName(mapped); got != tc.want {
					t.Fatalf("Validate error = %v (%s), want %s", err, got, tc.want)
				}
				for _, f := range tc.fields {
					if !strings.Contains(err.Error(), f) {
						t.Errorf("error %q does not mention %q", err, f)
					}
				}
				if tc.name == "missing VPC does not repeat itself for every subnet" && strings.Contains(err.Error(), "subnetIds") {
					t.Errorf("error %q repeats the missing VPC for the subnets", err)
				}
			}

			// Only reads, each regional one for the spec's region.
			region := given.Region
			if region == "" {
				region = "us-east-1"
			}
			for _, c := range w.calls {
				op, r, _ := strings.Cut(c, "@")
				if !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") {
					t.Errorf("call %s is not read-only", op)
				}
				if r != "global" && r != region {
					t.Errorf("call %s went to region %q, want %q", op, r, region)
				}
			}
		})
	}
}

// TestValidateStaticProblemsMakeNoCall: a request with a syntax problem is
// rejected before any AWS call.
func TestValidateStaticProblemsMakeNoCall(t *testing.T) {
	w := newWorld()
	in := request()
	in.Spec.Name, in.Spec.Domain = "-bad", "*.x"
	_, err := Validate(context.Background(), Clients{EC2: w, ELBv2: w, ACM: w, Route53: w}, in, "us-east-1")
	var inv *steperr.InvalidRequest
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "name") || !strings.Contains(err.Error(), "domain") {
		t.Fatalf("Validate = %v, want InvalidRequest naming name and domain", err)
	}
	if len(w.calls) != 0 {
		t.Errorf("calls = %q, want none", w.calls)
	}
}

// TestValidateExecutionName: an execution name the tagging APIs refuse is
// an InvalidRequest before any AWS call; names Step Functions and the tags
// both accept pass.
func TestValidateExecutionName(t *testing.T) {
	for name, ok := range map[string]bool{
		"evt-0123": true, "my-first-alb": true, "Provision_2026.12.02": true, "café-1": true,
		"deploy(1)": false, "it's-mine": false, "a!b": false,
	} {
		w := newWorld()
		in := request()
		in.Execution = name
		_, err := Validate(context.Background(), Clients{EC2: w, ELBv2: w, ACM: w, Route53: w, Now: time.Now}, in, "us-east-1")
		var inv *steperr.InvalidRequest
		refused := errors.As(err, &inv) && strings.Contains(err.Error(), "execution name")
		if refused == ok {
			t.Errorf("execution %q: %v, want refused %v", name, err, !ok)
		}
		if refused && len(w.calls) != 0 {
			t.Errorf("execution %q refused after %d AWS calls, want none", name, len(w.calls))
		}
	}
}

func TestValidateNeedsARegion(t *testing.T) {
	w := newWorld()
	_, err := Validate(context.Background(), Clients{EC2: w, ELBv2: w, ACM: w, Route53: w}, request(), "")
	var inv *steperr.InvalidRequest
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), "region") {
		t.Fatalf("Validate = %v, want InvalidRequest naming region", err)
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		names  []string
		domain string
		want   bool
	}{
		{[]string{"*.autostop.example.com"}, "autostop.example.com", true},
		{[]string{"autostop.example.com", "*.AutoStop.example.com."}, "autostop.example.com", true},
		{[]string{"autostop.example.com"}, "autostop.example.com", false},
		{[]string{"*.example.com"}, "autostop.example.com", false},
		{[]string{"*.*.example.com"}, "autostop.example.com", false},
		{[]string{"*.a.autostop.example.com"}, "autostop.example.com", false},
		{[]string{"x.autostop.example.com"}, "autostop.example.com", false},
		{nil, "autostop.example.com", false},
	}
	for _, tc := range tests {
		if got := Covers(tc.names, tc.domain); got != tc.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.names, tc.domain, got, tc.want)
		}
	}
}

func errorName(err error) string {
	switch err.(type) {
	case nil:
		return ""
	case *steperr.InvalidRequest:
		return "InvalidRequest"
	case *steperr.Conflict:
		return "Conflict"
	case *steperr.NotFound:
		return "NotFound"
	case *steperr.Throttled:
		return "Throttled"
	case *steperr.AccessDenied:
		return "AccessDenied"
	case *steperr.Internal:
		return "Internal"
	}

	return "?"
}

func equalSpec(a, b spec.LoadBalancerSpec) bool {
	ca, cb := a.Certificate, b.Certificate
	a.Certificate, b.Certificate = nil, nil
	ta, tb := a.Tags, b.Tags
	a.Tags, b.Tags = nil, nil
	return ((ca == nil) == (cb == nil)) && (ca == nil || *ca == *cb) && len(ta) == len(tb) &&
		a.Name == b.Name && a.ARN == b.ARN && a.Region == b.Region && a.Scheme == b.Scheme && a.IPAddressType == b.IPAddressType &&
		a.VPCID == b.VPCID && slices.Equal(a.SubnetIDs, b.SubnetIDs) && slices.Equal(a.SecurityGroupIDs, b.SecurityGroupIDs) &&
		a.Domain == b.Domain && a.DNS == b.DNS
}

func stringPtr(s string) *string { return &s }
