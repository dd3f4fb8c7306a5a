package localenv

import "github.com/autostop/autostop/shared/spec"

// Fill replaces a sample spec's placeholder IDs with this environment's: the
// VPC, its subnets and web security group where the sample names any, the
// hosted zone, and the valid certificate where the sample attaches one. The
// domain becomes the environment's (autostop.example.test). Samples double as
// console inputs for real accounts, where the user replaces the same fields.
func (e *Environment) Fill(s spec.LoadBalancerSpec) spec.LoadBalancerSpec {
	s.Region = ""
	s.VPCID = e.VPCID
	if len(s.SubnetIDs) > 0 {
		s.SubnetIDs = append([]string(nil), e.SubnetIDs...)
	}
	if len(s.SecurityGroupIDs) > 0 {
		s.SecurityGroupIDs = []string{e.WebSGID}
	}
	s.Domain = e.Domain
	if s.DNS.Provider == spec.ProviderRoute53 {
		s.DNS.HostedZoneID = e.HostedZoneID
	}
	if s.Certificate != nil && s.Certificate.ARN != "" {
		c := *s.Certificate
		c.ARN = e.CertificateARN
		s.Certificate = &c
	}

	return s
}
