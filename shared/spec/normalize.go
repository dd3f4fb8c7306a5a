package spec

// WithDefaults returns the spec with the defaults that need no AWS call
// filled in and its fields in canonical form: region (defaultRegion when
// absent), scheme internet-facing, ipAddressType ipv4, the hosted zone ID
// without its "/hostedzone/" prefix, the domain lower-cased without a
// trailing dot. The validate step completes the rest (a Route 53 prefix
// made a full domain, default subnets). Slices and maps are copied.
func (s LoadBalancerSpec) WithDefaults(defaultRegion string) LoadBalancerSpec {
	out := s
	if out.Region == "" {
		out.Region = defaultRegion
	}
	if out.Scheme == "" {
		out.Scheme = SchemeInternetFacing
	}
	if out.IPAddressType == "" {
		out.IPAddressType = IPv4
	}
	out.DNS.HostedZoneID = TrimHostedZoneID(out.DNS.HostedZoneID)
	out.Domain = NormalizeDomain(out.Domain)
	out.SubnetIDs = append([]string(nil), s.SubnetIDs...)
	out.SecurityGroupIDs = append([]string(nil), s.SecurityGroupIDs...)
	if s.Certificate != nil {
		c := *s.Certificate
		out.Certificate = &c
	}
	if s.Tags != nil {
		out.Tags = make(map[string]string, len(s.Tags))
		for k, v := range s.Tags {
			out.Tags[k] = v
		}
	}

	return out
}
