package spec

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/autostop/autostop/shared/steperr"
)

// Patterns of the spec's fields. The JSON Schema
// (statemachine/schema/load-balancer-spec.schema.json) uses the same
// expressions; a test keeps them equal. AWS IDs are lower-case hex after
// their prefix; hyphens are accepted too, as the local backend's IDs look
// like "sg-8e9b1fec-e92c-464".
const (
	// NamePattern: 1–32 letters, digits and hyphens, no hyphen first or last.
	NamePattern = `^[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`
	// ReservedNamePrefix may not start an ALB name (AWS reserves it for
	// internal load balancers' DNS names).
	ReservedNamePrefix = "internal-"

	LoadBalancerARNPattern = `^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:loadbalancer/app/[A-Za-z0-9-]{1,32}/[A-Za-z0-9-]+$`
	CertificateARNPattern  = `^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]+$`
	RegionPattern          = `^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`
	VPCIDPattern           = `^vpc-[0-9a-f]+(-[0-9a-f]+)*$`
	SubnetIDPattern        = `^subnet-[0-9a-f]+(-[0-9a-f]+)*$`
	SecurityGroupIDPattern = `^sg-[0-9a-f]+(-[0-9a-f]+)*$`
	// HostedZoneIDPattern accepts Route 53's "Z…" IDs with or without the
	// "/hostedzone/" prefix Route 53 itself returns.
	HostedZoneIDPattern = `^(/hostedzone/)?[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`
	// DomainPattern: dot-separated labels of 1–63 letters, digits and
	// hyphens, no hyphen first or last in a label, one optional trailing
	// dot. Case does not matter: the validate step lower-cases the domain.
	DomainPattern = `^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`
	// TagPattern: the characters AWS allows in tag keys and values.
	TagPattern = `^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`
	// ReservedTagKeyPattern: keys AWS or autostop own (any case).
	ReservedTagKeyPattern = `^([aA][wW][sS]|[aA][uU][tT][oO][sS][tT][oO][pP]):`
)

// Limits.
const (
	MaxIDLength            = 64
	MaxSecurityGroups      = 5   // per ALB
	MinSubnets             = 2   // an ALB spans at least two availability zones
	MaxDomainLength        = 251 // 253 for a name, minus the "*." autostop puts in front
	MaxIssuedCommonNameLen = 64  // ACM: the certificate's first name ("*.<domain>") is its CN
	MaxTagKeyLength        = 128
	MaxTagValueLength      = 256
	MaxUserTags            = 47 // AWS allows 50 tags per resource; autostop adds 3 of its own
)

const (
	hostedZonePrefix        = "/hostedzone/"
	issuedCommonNamePrefix  = "*."
	arnRegionField          = 3
	loadBalancerARNNameSkip = "loadbalancer/app/"
	problemSeparator        = "; "
	invalidSpecPrefix       = "invalid load balancer spec: "
)

var (
	nameRE           = regexp.MustCompile(NamePattern)
	lbARNRE          = regexp.MustCompile(LoadBalancerARNPattern)
	certARNRE        = regexp.MustCompile(CertificateARNPattern)
	regionRE         = regexp.MustCompile(RegionPattern)
	vpcRE            = regexp.MustCompile(VPCIDPattern)
	subnetRE         = regexp.MustCompile(SubnetIDPattern)
	sgRE             = regexp.MustCompile(SecurityGroupIDPattern)
	zoneRE           = regexp.MustCompile(HostedZoneIDPattern)
	domainRE         = regexp.MustCompile(DomainPattern)
	tagRE            = regexp.MustCompile(TagPattern)
	reservedTagKeyRE = regexp.MustCompile(ReservedTagKeyPattern)
	schemes          = []string{SchemeInternetFacing, SchemeInternal}
	ipAddressTypes   = []string{IPv4, DualStack}
	providers        = []string{ProviderRoute53, ProviderOther}
)

// Schemes, IPAddressTypes and Providers list the allowed values of the
// enumerated fields (the schema's enums must equal them).
func Schemes() []string        { return append([]string(nil), schemes...) }
func IPAddressTypes() []string { return append([]string(nil), ipAddressTypes...) }
func Providers() []string      { return append([]string(nil), providers...) }

// Check makes every check of the spec that needs no AWS call. It returns a
// steperr.InvalidRequest listing every problem found, each as
// "<field path>: <reason>", or nil.
func (s LoadBalancerSpec) Check() error {
	problems := s.Problems()
	if len(problems) == 0 {
		return nil
	}

	return steperr.Invalid("%s%s", invalidSpecPrefix, strings.Join(problems, problemSeparator))
}

// Problems returns what Check reports, one "<field path>: <reason>" each.
func (s LoadBalancerSpec) Problems() []string {
	var p problems
	s.checkName(&p)
	s.checkRegion(&p)
	p.enum("scheme", s.Scheme, schemes)
	p.enum("ipAddressType", s.IPAddressType, ipAddressTypes)
	s.checkNetwork(&p)
	s.checkDNS(&p)
	s.checkCertificate(&p)
	s.checkTags(&p)

	return p
}

type problems []string

func (p *problems) add(field, format string, a ...any) {
	*p = append(*p, field+": "+fmt.Sprintf(format, a...))
}

// enum checks an optional enumerated field.
func (p *problems) enum(field, value string, allowed []string) {
	if value != "" && !contains(allowed, value) {
		p.add(field, "%q is not one of %s", value, strings.Join(allowed, ", "))
	}
}

func (s LoadBalancerSpec) checkName(p *problems) {
	switch {
	case s.Name == "":
		p.add("name", "required")
	case len(s.Name) > 32:
		p.add("name", "%q is %d characters long, at most 32 are allowed", s.Name, len(s.Name))
	case !nameRE.MatchString(s.Name):
		p.add("name", "%q must be letters, digits and hyphens, not starting or ending with a hyphen", s.Name)
	case strings.HasPrefix(strings.ToLower(s.Name), ReservedNamePrefix):
		p.add("name", "%q must not start with %q", s.Name, ReservedNamePrefix)
	}

	if s.ARN == "" {
		return
	}
	if !lbARNRE.MatchString(s.ARN) {
		p.add("arn", "%q is not an Application Load Balancer ARN (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)", s.ARN)
		return
	}
	if name := LoadBalancerARNName(s.ARN); name != s.Name {
		p.add("arn", "names load balancer %q, but name is %q: they must be equal", name, s.Name)
	}
	if r := ARNRegion(s.ARN); s.regionValid() && r != s.Region {
		p.add("arn", "is in region %s, but region is %s", r, s.Region)
	}
}

func (s LoadBalancerSpec) checkRegion(p *problems) {
	if s.Region != "" && !regionRE.MatchString(s.Region) {
		p.add("region", "%q is not a region name like us-east-1", s.Region)
	}
}

// regionValid: a region is given and well-formed, so ARNs can be compared
// with it (an absent region is compared by the validate step, after the
// default is known).
func (s LoadBalancerSpec) regionValid() bool { return regionRE.MatchString(s.Region) }

func (s LoadBalancerSpec) checkNetwork(p *problems) {
	switch {
	case s.VPCID == "":
		p.add("vpcId", "required")
	default:
		p.id("vpcId", s.VPCID, vpcRE, "vpc-")
	}

	// An empty list (not an absent one) is a mistake: leave it out for the
	// default. The schema says the same with minItems.
	p.ids("subnetIds", s.SubnetIDs, subnetRE, "subnet-")
	if s.SubnetIDs != nil && len(s.SubnetIDs) < MinSubnets {
		p.add("subnetIds", "give at least %d subnets in different availability zones, or leave subnetIds out for one per zone", MinSubnets)
	}

	p.ids("securityGroupIds", s.SecurityGroupIDs, sgRE, "sg-")
	switch n := len(s.SecurityGroupIDs); {
	case s.SecurityGroupIDs != nil && n == 0:
		p.add("securityGroupIds", "give at least one, or leave securityGroupIds out for a security group allowing 80 and 443")
	case n > MaxSecurityGroups:
		p.add("securityGroupIds", "%d given, an ALB takes at most %d", n, MaxSecurityGroups)
	}
}

// id checks one resource ID's syntax.
func (p *problems) id(field, id string, re *regexp.Regexp, prefix string) {
	if len(id) > MaxIDLength || !re.MatchString(id) {
		p.add(field, "%q is not an ID of the form %s<lower-case hex>", id, prefix)
	}
}

// ids checks a list of IDs: syntax and duplicates.
func (p *problems) ids(field string, ids []string, re *regexp.Regexp, prefix string) {
	seen := map[string]bool{}
	for i, id := range ids {
		p.id(fmt.Sprintf("%s[%d]", field, i), id, re, prefix)
		if seen[id] {
			p.add(fmt.Sprintf("%s[%d]", field, i), "%q is given twice", id)
		}
		seen[id] = true
	}
}

func (s LoadBalancerSpec) checkDNS(p *problems) {
	switch s.DNS.Provider {
	case "":
		p.add("dns.provider", "required: %s", strings.Join(providers, " or "))
	case ProviderRoute53:
		switch {
		case s.DNS.HostedZoneID == "":
			p.add("dns.hostedZoneId", "required with provider %s", ProviderRoute53)
		case len(s.DNS.HostedZoneID) > MaxIDLength+len(hostedZonePrefix) || !zoneRE.MatchString(s.DNS.HostedZoneID):
			p.add("dns.hostedZoneId", "%q is not a hosted zone ID like Z0123456789ABCDEFGHIJ", s.DNS.HostedZoneID)
		}
	case ProviderOther:
		if s.DNS.HostedZoneID != "" {
			p.add("dns.hostedZoneId", "only allowed with provider %s", ProviderRoute53)
		}
	default:
		p.add("dns.provider", "%q is not one of %s", s.DNS.Provider, strings.Join(providers, ", "))
	}

	d := NormalizeDomain(s.Domain)
	switch {
	case s.Domain == "":
		p.add("domain", "required")
	case strings.Contains(s.Domain, "*"):
		p.add("domain", "%q must not contain a wildcard: autostop serves *.<domain> itself", s.Domain)
	case !domainRE.MatchString(s.Domain):
		p.add("domain", "%q is not a domain name (labels of 1–63 letters, digits and hyphens, separated by dots)", s.Domain)
	case len(d) > MaxDomainLength:
		p.add("domain", "is %d characters long, at most %d are allowed (the record *.<domain> must fit in 253)", len(d), MaxDomainLength)
	case s.DNS.Provider == ProviderOther && !strings.Contains(d, "."):
		p.add("domain", "%q must be a full domain name with provider %s", s.Domain, ProviderOther)
	}
}

func (s LoadBalancerSpec) checkCertificate(p *problems) {
	c := s.Certificate
	if c == nil {
		if s.DNS.Provider == ProviderRoute53 {
			p.add("certificate", "required with dns.provider %s (HTTP only is allowed with provider %s)", ProviderRoute53, ProviderOther)
		}
		return
	}

	switch {
	case c.ARN != "" && c.Issue:
		p.add("certificate", "give exactly one of arn or issue, not both")
	case c.ARN == "" && !c.Issue:
		p.add("certificate", "give exactly one of arn or issue:true (or leave certificate out for HTTP only)")
	case c.ARN != "" && !certARNRE.MatchString(c.ARN):
		p.add("certificate.arn", "%q is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)", c.ARN)
	case c.ARN != "" && s.regionValid() && ARNRegion(c.ARN) != s.Region:
		p.add("certificate.arn", "is in region %s, but the ALB is in %s: an ALB takes certificates of its own region only", ARNRegion(c.ARN), s.Region)
	}

	// The requested certificate's common name is "*.<domain>": ACM limits it
	// to 64 characters. A Route 53 prefix is checked once it is a full name.
	d := NormalizeDomain(s.Domain)
	if c.Issue && strings.Contains(d, ".") && len(issuedCommonNamePrefix+d) > MaxIssuedCommonNameLen {
		p.add("domain", "%q is too long for an issued certificate: ACM limits %q to %d characters", d, issuedCommonNamePrefix+d, MaxIssuedCommonNameLen)
	}
}

func (s LoadBalancerSpec) checkTags(p *problems) {
	*p = append(*p, TagProblems("tags", s.Tags)...)
}

// TagProblems checks user tags that autostop adds to what it creates (at
// most MaxUserTags, AWS's characters and lengths, no reserved key); each
// problem is "<field>[\"<key>\"]: <reason>", in key order. The rule model
// checks its tags with it too.
func TagProblems(field string, tags map[string]string) []string {
	var p problems
	if len(tags) > MaxUserTags {
		p.add(field, "%d given, at most %d are allowed (AWS allows 50 per resource, autostop adds 3)", len(tags), MaxUserTags)
	}

	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := tags[k]
		f := fmt.Sprintf("%s[%q]", field, k)
		switch n := utf8.RuneCountInString(k); {
		case n == 0 || n > MaxTagKeyLength:
			p.add(f, "a key is 1–%d characters long", MaxTagKeyLength)
		case reservedTagKeyRE.MatchString(k):
			p.add(f, "keys starting with aws: or autostop: are reserved")
		case !tagRE.MatchString(k):
			p.add(f, "a key may hold letters, digits, spaces and _ . : / = + - @ only")
		}
		switch {
		case utf8.RuneCountInString(v) > MaxTagValueLength:
			p.add(f, "a value is at most %d characters long", MaxTagValueLength)
		case !tagRE.MatchString(v):
			p.add(f, "a value may hold letters, digits, spaces and _ . : / = + - @ only")
		}
	}

	return p
}

// NormalizeDomain lower-cases a domain name and drops a trailing dot.
func NormalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// TrimHostedZoneID drops the "/hostedzone/" prefix of a hosted zone ID.
func TrimHostedZoneID(id string) string { return strings.TrimPrefix(id, hostedZonePrefix) }

// ARNRegion returns an ARN's region field ("" when it has none).
func ARNRegion(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}

	return parts[arnRegionField]
}

// LoadBalancerARNName returns the name inside an ALB ARN
// (…:loadbalancer/app/<name>/<id>), "" when it has none.
func LoadBalancerARNName(arn string) string {
	_, rest, ok := strings.Cut(arn, loadBalancerARNNameSkip)
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")

	return name
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}

	return false
}
