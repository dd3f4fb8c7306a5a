package validate

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"

	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// checkCertificate checks a certificate to attach: it exists in the ALB's
// region (the spec check already compared the ARN's region), is ISSUED,
// covers *.<domain> and stays valid for MinCertificateValidity. A
// certificate to issue needs no AWS check here.
func (v *validation) checkCertificate(ctx context.Context) error {
	c := v.s.Certificate
	if c == nil || c.ARN == "" {
		return nil
	}

	out, err := v.c.ACM.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(c.ARN)}, v.acmRegion)
	switch {
	case steperr.HasCode(err, "ResourceNotFoundException", "InvalidArnException", "ValidationException"):
		v.invalidf("certificate.arn", "certificate %s does not exist in %s", c.ARN, v.s.Region)
		return nil
	case err != nil:
		return fmt.Errorf("describe certificate %s: %w", c.ARN, err)
	}
	cert := out.Certificate

	if cert.Status != acmtypes.CertificateStatusIssued {
		v.invalidf("certificate.arn", "certificate %s is %s, it must be ISSUED", c.ARN, cert.Status)
	}
	// With Route 53 the domain is known only once the zone was read; if the
	// zone check failed there is nothing to compare with.
	if v.domainKnown {
		names := append([]string{aws.ToString(cert.DomainName)}, cert.SubjectAlternativeNames...)
		if !Covers(names, v.s.Domain) {
			v.invalidf("certificate.arn", "certificate %s is for %s and does not cover *.%s (a *.<d> certificate covers one label under <d> only)",
				c.ARN, strings.Join(dedupe(names), ", "), v.s.Domain)
		}
	}
	if cert.NotAfter != nil {
		if left := cert.NotAfter.Sub(v.c.Now()); left < MinCertificateValidity {
			v.invalidf("certificate.arn", "certificate %s expires at %s, less than %d days from now",
				c.ARN, cert.NotAfter.UTC().Format("2006-01-02 15:04:05Z"), int(MinCertificateValidity.Hours()/24))
		}
	}

	return nil
}

// Covers reports whether a certificate for names serves every host
// <label>.<domain>: it must name "*.<domain>" itself. A wildcard matches one
// label only, so "*.<parent>" does not cover the hosts under <domain>, and
// "<domain>" alone covers only <domain>.
func Covers(names []string, domain string) bool {
	want := "*." + spec.NormalizeDomain(domain)
	for _, n := range names {
		if spec.NormalizeDomain(n) == want {
			return true
		}
	}

	return false
}

func dedupe(names []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}

	return out
}
