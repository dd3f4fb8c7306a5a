package localenv

import (
	"testing"

	"github.com/autostop/autostop/shared/spec"
)

func TestFill(t *testing.T) {
	env := &Environment{
		Region: "us-east-1", VPCID: "vpc-local", SubnetIDs: []string{"subnet-a", "subnet-b"}, WebSGID: "sg-web",
		HostedZoneID: "Z-local", Domain: Domain, CertificateARN: "arn:cert",
	}
	tests := []struct {
		name  string
		in    spec.LoadBalancerSpec
		check func(t *testing.T, got spec.LoadBalancerSpec)
	}{
		{
			name: "route53 with explicit network and certificate",
			in: spec.LoadBalancerSpec{Name: "web", Region: "eu-west-1", VPCID: "vpc-0123", SubnetIDs: []string{"subnet-1", "subnet-2"},
				SecurityGroupIDs: []string{"sg-1"}, Domain: "autostop.example.com",
				DNS: spec.DNSSpec{Provider: spec.ProviderRoute53, HostedZoneID: "Z0123"}, Certificate: &spec.CertificateSpec{ARN: "arn:placeholder"}},
			check: func(t *testing.T, got spec.LoadBalancerSpec) {
				if got.Region != "" || got.VPCID != "vpc-local" || len(got.SubnetIDs) != 2 || got.SubnetIDs[0] != "subnet-a" ||
					got.SecurityGroupIDs[0] != "sg-web" || got.Domain != Domain || got.DNS.HostedZoneID != "Z-local" || got.Certificate.ARN != "arn:cert" {
					t.Errorf("filled = %+v", got)
				}
			},
		},
		{
			name: "defaults stay defaults, other DNS keeps no zone, issue stays issue",
			in:   spec.LoadBalancerSpec{Name: "web", VPCID: "vpc-0123", Domain: "x.example.com", DNS: spec.DNSSpec{Provider: spec.ProviderOther}, Certificate: &spec.CertificateSpec{Issue: true}},
			check: func(t *testing.T, got spec.LoadBalancerSpec) {
				if got.SubnetIDs != nil || got.SecurityGroupIDs != nil || got.DNS.HostedZoneID != "" || !got.Certificate.Issue || got.Certificate.ARN != "" {
					t.Errorf("filled = %+v", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := tt.in
			tt.check(t, env.Fill(tt.in))
			if orig.Certificate != nil && orig.Certificate.ARN == "arn:cert" {
				t.Error("Fill changed the caller's certificate")
			}
		})
	}
}
