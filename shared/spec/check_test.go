package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/autostop/autostop/shared/steperr"
)

// valid returns a spec that passes Check: Route 53 with a certificate ARN.
func valid() LoadBalancerSpec {
	return LoadBalancerSpec{
		Name:             "autostop-demo",
		Region:           "us-east-1",
		Scheme:           SchemeInternetFacing,
		IPAddressType:    IPv4,
		VPCID:            "vpc-0123456789abcdef0",
		SubnetIDs:        []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"},
		SecurityGroupIDs: []string{"sg-0123456789abcdef0"},
		Domain:           "autostop.example.com",
		DNS:              DNSSpec{Provider: ProviderRoute53, HostedZoneID: "Z0123456789ABCDEFGHIJ"},
		Certificate:      &CertificateSpec{ARN: "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"},
		Tags:             map[string]string{"team": "platform", "cost-center": "42"},
	}
}

func TestCheck(t *testing.T) {
	long := func(n int, c string) string { return strings.Repeat(c, n) }
	manyTags := map[string]string{}
	for i := 0; i < MaxUserTags+1; i++ {
		manyTags["k"+strings.Repeat("x", i)] = "v"
	}

	tests := []struct {
		name   string
		mutate func(*LoadBalancerSpec)
		want   []string // field paths expected among the problems; none: valid
	}{
		{name: "valid route53 with certificate ARN", mutate: func(*LoadBalancerSpec) {}},
		{name: "valid minimal other HTTP only", mutate: func(s *LoadBalancerSpec) {
			*s = LoadBalancerSpec{Name: "a", VPCID: "vpc-1", Domain: "a.example.com", DNS: DNSSpec{Provider: ProviderOther}}
		}},
		{name: "valid issue", mutate: func(s *LoadBalancerSpec) { s.Certificate = &CertificateSpec{Issue: true} }},
		{name: "valid route53 prefix", mutate: func(s *LoadBalancerSpec) { s.Domain = "autostop" }},
		{name: "valid hosted zone with prefix", mutate: func(s *LoadBalancerSpec) { s.DNS.HostedZoneID = "/hostedzone/Z0123456789ABCDEFGHIJ" }},
		{name: "valid local backend IDs", mutate: func(s *LoadBalancerSpec) {
			s.VPCID, s.SubnetIDs, s.SecurityGroupIDs = "vpc-45544f8d-68ad-40a", []string{"subnet-4309ab74-f79f-41c", "subnet-bb5036dc-fa75-4cf"}, []string{"sg-8e9b1fec-e92c-464"}
			s.DNS.HostedZoneID = "/hostedzone/127a3084-aa7b-4efc-ae5e-e56851a5a935"
		}},
		{name: "valid upper-case domain with trailing dot", mutate: func(s *LoadBalancerSpec) { s.Domain = "AutoStop.Example.COM." }},
		{name: "valid 32-character name", mutate: func(s *LoadBalancerSpec) { s.Name = long(32, "a") }},
		{name: "valid adoption ARN", mutate: func(s *LoadBalancerSpec) {
			s.ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/autostop-demo/50dc6c495c0c9188"
		}},
		{name: "valid no region with certificate in any region", mutate: func(s *LoadBalancerSpec) {
			s.Region = ""
			s.Certificate.ARN = strings.Replace(s.Certificate.ARN, "us-east-1", "eu-west-1", 1)
		}},
		{name: "valid tag characters", mutate: func(s *LoadBalancerSpec) { s.Tags = map[string]string{"Name": "web tier: a/b=c+d-e@f_g.h", "é": ""} }},
		{name: "valid 47 tags", mutate: func(s *LoadBalancerSpec) {
			s.Tags = map[string]string{}
			for i := 0; i < MaxUserTags; i++ {
				s.Tags[long(i+1, "t")] = "v"
			}
		}},
		{name: "valid govcloud region", mutate: func(s *LoadBalancerSpec) {
			s.Region = "us-gov-west-1"
			s.Certificate.ARN = "arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/abc"
		}},

		{name: "name missing", mutate: func(s *LoadBalancerSpec) { s.Name = "" }, want: []string{"name"}},
		{name: "name 33 characters", mutate: func(s *LoadBalancerSpec) { s.Name = long(33, "a") }, want: []string{"name"}},
		{name: "name leading hyphen", mutate: func(s *LoadBalancerSpec) { s.Name = "-demo" }, want: []string{"name"}},
		{name: "name trailing hyphen", mutate: func(s *LoadBalancerSpec) { s.Name = "demo-" }, want: []string{"name"}},
		{name: "name underscore", mutate: func(s *LoadBalancerSpec) { s.Name = "auto_stop" }, want: []string{"name"}},
		{name: "name dot", mutate: func(s *LoadBalancerSpec) { s.Name = "auto.stop" }, want: []string{"name"}},
		{name: "name internal-", mutate: func(s *LoadBalancerSpec) { s.Name = "internal-demo" }, want: []string{"name"}},
		{name: "name INTERNAL-", mutate: func(s *LoadBalancerSpec) { s.Name = "INTERNAL-demo" }, want: []string{"name"}},
		{name: "arn not an ALB ARN", mutate: func(s *LoadBalancerSpec) {
			s.ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/autostop-demo/50dc6c495c0c9188"
		}, want: []string{"arn"}},
		{name: "arn names another load balancer", mutate: func(s *LoadBalancerSpec) {
			s.ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/other/50dc6c495c0c9188"
		}, want: []string{"arn"}},
		{name: "arn in another region", mutate: func(s *LoadBalancerSpec) {
			s.ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/autostop-demo/50dc6c495c0c9188"
		}, want: []string{"arn"}},
		{name: "region syntax", mutate: func(s *LoadBalancerSpec) { s.Region = "US-EAST-1" }, want: []string{"region"}},
		{name: "region without number", mutate: func(s *LoadBalancerSpec) { s.Region = "us-east" }, want: []string{"region"}},
		{name: "scheme unknown", mutate: func(s *LoadBalancerSpec) { s.Scheme = "public" }, want: []string{"scheme"}},
		{name: "ipAddressType unknown", mutate: func(s *LoadBalancerSpec) { s.IPAddressType = "ipv6" }, want: []string{"ipAddressType"}},
		{name: "vpc missing", mutate: func(s *LoadBalancerSpec) { s.VPCID = "" }, want: []string{"vpcId"}},
		{name: "vpc wrong prefix", mutate: func(s *LoadBalancerSpec) { s.VPCID = "subnet-0123456789abcdef0" }, want: []string{"vpcId"}},
		{name: "vpc upper-case", mutate: func(s *LoadBalancerSpec) { s.VPCID = "vpc-0123456789ABCDEF0" }, want: []string{"vpcId"}},
		{name: "vpc not hex", mutate: func(s *LoadBalancerSpec) { s.VPCID = "vpc-xyz" }, want: []string{"vpcId"}},
		{name: "vpc too long", mutate: func(s *LoadBalancerSpec) { s.VPCID = "vpc-" + long(61, "a") }, want: []string{"vpcId"}},
		{name: "subnet wrong prefix", mutate: func(s *LoadBalancerSpec) { s.SubnetIDs[1] = "sn-0123" }, want: []string{"subnetIds[1]"}},
		{name: "subnet duplicate", mutate: func(s *LoadBalancerSpec) { s.SubnetIDs[1] = s.SubnetIDs[0] }, want: []string{"subnetIds[1]"}},
		{name: "one subnet only", mutate: func(s *LoadBalancerSpec) { s.SubnetIDs = s.SubnetIDs[:1] }, want: []string{"subnetIds"}},
		{name: "empty subnet list", mutate: func(s *LoadBalancerSpec) { s.SubnetIDs = []string{} }, want: []string{"subnetIds"}},
		{name: "empty security group list", mutate: func(s *LoadBalancerSpec) { s.SecurityGroupIDs = []string{} }, want: []string{"securityGroupIds"}},
		{name: "security group wrong prefix", mutate: func(s *LoadBalancerSpec) { s.SecurityGroupIDs = []string{"vpc-1"} }, want: []string{"securityGroupIds[0]"}},
		{name: "security group duplicate", mutate: func(s *LoadBalancerSpec) { s.SecurityGroupIDs = []string{"sg-1", "sg-1"} }, want: []string{"securityGroupIds[1]"}},
		{name: "six security groups", mutate: func(s *LoadBalancerSpec) {
			s.SecurityGroupIDs = []string{"sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6"}
		}, want: []string{"securityGroupIds"}},
		{name: "domain missing", mutate: func(s *LoadBalancerSpec) { s.Domain = "" }, want: []string{"domain"}},
		{name: "domain wildcard", mutate: func(s *LoadBalancerSpec) { s.Domain = "*.autostop.example.com" }, want: []string{"domain"}},
		{name: "domain empty label", mutate: func(s *LoadBalancerSpec) { s.Domain = "autostop..example.com" }, want: []string{"domain"}},
		{name: "domain leading dot", mutate: func(s *LoadBalancerSpec) { s.Domain = ".example.com" }, want: []string{"domain"}},
		{name: "domain label hyphen last", mutate: func(s *LoadBalancerSpec) { s.Domain = "autostop-.example.com" }, want: []string{"domain"}},
		{name: "domain underscore", mutate: func(s *LoadBalancerSpec) { s.Domain = "auto_stop.example.com" }, want: []string{"domain"}},
		{name: "domain space", mutate: func(s *LoadBalancerSpec) { s.Domain = "auto stop.example.com" }, want: []string{"domain"}},
		{name: "domain URL", mutate: func(s *LoadBalancerSpec) { s.Domain = "https://autostop.example.com" }, want: []string{"domain"}},
		{name: "domain label 64 characters", mutate: func(s *LoadBalancerSpec) { s.Domain = long(64, "a") + ".example.com" }, want: []string{"domain"}},
		{name: "domain 252 characters", mutate: func(s *LoadBalancerSpec) {
			s.Domain = long(63, "a") + "." + long(63, "b") + "." + long(63, "c") + "." + long(56, "d") + ".com"
		}, want: []string{"domain"}},
		{name: "domain single label with other", mutate: func(s *LoadBalancerSpec) {
			s.Domain, s.DNS, s.Certificate = "autostop", DNSSpec{Provider: ProviderOther}, nil
		}, want: []string{"domain"}},
		{name: "domain too long for an issued certificate", mutate: func(s *LoadBalancerSpec) {
			s.Domain, s.Certificate = long(60, "a")+".example.com", &CertificateSpec{Issue: true}
		}, want: []string{"domain"}},
		{name: "provider missing", mutate: func(s *LoadBalancerSpec) { s.DNS = DNSSpec{} }, want: []string{"dns.provider"}},
		{name: "provider unknown", mutate: func(s *LoadBalancerSpec) { s.DNS.Provider = "cloudflare" }, want: []string{"dns.provider"}},
		{name: "provider case", mutate: func(s *LoadBalancerSpec) { s.DNS.Provider = "Route53" }, want: []string{"dns.provider"}},
		{name: "route53 without zone", mutate: func(s *LoadBalancerSpec) { s.DNS.HostedZoneID = "" }, want: []string{"dns.hostedZoneId"}},
		{name: "route53 zone syntax", mutate: func(s *LoadBalancerSpec) { s.DNS.HostedZoneID = "example.com" }, want: []string{"dns.hostedZoneId"}},
		{name: "other with zone", mutate: func(s *LoadBalancerSpec) { s.DNS.Provider = ProviderOther }, want: []string{"dns.hostedZoneId"}},
		{name: "route53 without certificate", mutate: func(s *LoadBalancerSpec) { s.Certificate = nil }, want: []string{"certificate"}},
		{name: "certificate both", mutate: func(s *LoadBalancerSpec) { s.Certificate.Issue = true }, want: []string{"certificate"}},
		{name: "certificate neither", mutate: func(s *LoadBalancerSpec) { s.Certificate = &CertificateSpec{} }, want: []string{"certificate"}},
		{name: "certificate ARN syntax", mutate: func(s *LoadBalancerSpec) {
			s.Certificate.ARN = "arn:aws:iam::123456789012:server-certificate/x"
		}, want: []string{"certificate.arn"}},
		{name: "certificate in another region", mutate: func(s *LoadBalancerSpec) {
			s.Certificate.ARN = strings.Replace(s.Certificate.ARN, "us-east-1", "eu-west-1", 1)
		}, want: []string{"certificate.arn"}},
		{name: "48 tags", mutate: func(s *LoadBalancerSpec) { s.Tags = manyTags }, want: []string{"tags"}},
		{name: "tag key aws:", mutate: func(s *LoadBalancerSpec) { s.Tags = map[string]string{"aws:cloudformation:stack-name": "x"} }, want: []string{`tags["aws:cloudformation:stack-name"]`}},
		{name: "tag key AWS:", mutate: func(s *LoadBalancerSpec) { s.Tags = map[string]string{"AWS:x": "x"} }, want: []string{`tags["AWS:x"]`}},
		{name: "tag key autostop:", mutate: func(s *LoadBalancerSpec) { s.Tags = map[string]string{"autostop:load-balancer": "x"} }, want: []string{`tags["autostop:load-balancer"]`}},
		{name: "tag key empty", mutate: func(s *LoadBalancerSpec) { s.Tags = map[string]string{"": "x"} }, want: []string{`tags[""]`}},
		{name: "tag key 129 characters", mutate: func(s *LoadBalancerSpec) { s.Tags = map[string]string{long(129, "k"): "x"} }, want: []string{"tags["}},
		{name: "tag value 257 characters", mutate: func(s *LoadBalancerSpec) { s.Tags = map[string]string{"k": long(257, "v")} }, want: []string{`tags["k"]`}},
		{name: "tag key character", mutate: func(s *LoadBalancerSpec) { s.Tags = map[string]string{"a&b": "x"} }, want: []string{`tags["a&b"]`}},
		{name: "tag value character", mutate: func(s *LoadBalancerSpec) { s.Tags = map[string]string{"k": "<script>"} }, want: []string{`tags["k"]`}},
		{name: "every problem is listed", mutate: func(s *LoadBalancerSpec) {
			s.Name, s.VPCID, s.Domain, s.DNS.Provider = "", "", "", "x"
		}, want: []string{"name", "vpcId", "domain", "dns.provider"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			tc.mutate(&s)
			err := s.Check()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Check() = %v, want nil", err)
				}
				return
			}
			var inv *steperr.InvalidRequest
			if !errors.As(err, &inv) {
				t.Fatalf("Check() = %v (%T), want *steperr.InvalidRequest", err, err)
			}
			problems := s.Problems()
			for _, field := range tc.want {
				found := false
				for _, p := range problems {
					if strings.HasPrefix(p, field) {
						found = true
					}
				}
				if !found {
					t.Errorf("problems %q lack one for %s", problems, field)
				}
				if !strings.Contains(err.Error(), field) {
					t.Errorf("error %q does not name %s", err, field)
				}
			}
			if len(tc.want) == 1 && len(problems) != 1 {
				t.Errorf("problems = %q, want exactly one for %s", problems, tc.want[0])
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	in := LoadBalancerSpec{
		Name: "a", VPCID: "vpc-1", Domain: "AutoStop.Example.com.",
		DNS:         DNSSpec{Provider: ProviderRoute53, HostedZoneID: "/hostedzone/Z1"},
		Certificate: &CertificateSpec{Issue: true}, Tags: map[string]string{"k": "v"},
	}
	got := in.WithDefaults("eu-west-1")
	if got.Region != "eu-west-1" || got.Scheme != SchemeInternetFacing || got.IPAddressType != IPv4 ||
		got.DNS.HostedZoneID != "Z1" || got.Domain != "autostop.example.com" {
		t.Errorf("WithDefaults = %+v", got)
	}
	if got.SubnetIDs != nil || got.SecurityGroupIDs != nil {
		t.Errorf("absent lists became %q %q, want nil (omitted in JSON)", got.SubnetIDs, got.SecurityGroupIDs)
	}
	got.Certificate.Issue, got.Tags["k"] = false, "changed"
	if !in.Certificate.Issue || in.Tags["k"] != "v" {
		t.Error("WithDefaults shares the certificate or tags with its receiver")
	}

	kept := LoadBalancerSpec{Region: "ap-south-1", Scheme: SchemeInternal, IPAddressType: DualStack}.WithDefaults("eu-west-1")
	if kept.Region != "ap-south-1" || kept.Scheme != SchemeInternal || kept.IPAddressType != DualStack {
		t.Errorf("WithDefaults overrode given values: %+v", kept)
	}
}

func TestARNHelpers(t *testing.T) {
	arn := "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-lb/50dc6c495c0c9188"
	if got := ARNRegion(arn); got != "eu-west-1" {
		t.Errorf("ARNRegion = %q", got)
	}
	if got := LoadBalancerARNName(arn); got != "my-lb" {
		t.Errorf("LoadBalancerARNName = %q", got)
	}
	if ARNRegion("nope") != "" || LoadBalancerARNName("arn:aws:acm:x:1:certificate/y") != "" {
		t.Error("helpers found fields in ARNs that lack them")
	}
}
