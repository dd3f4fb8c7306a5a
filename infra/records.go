package main

import (
	"fmt"
	"regexp"
	"strings"
)

// dnsLabel is one label of a domain as Route 53 normalizes record names
// (lower case; a–z, 0–9, hyphen and underscore need no escape), so that
// "*.<domain>" matches the normalized names under it.
var dnsLabel = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)

// readDNSDomain reads the dnsDomain context: "" (unset), or a domain name,
// returned in Route 53's normalized form (lower case, no trailing dot).
func readDNSDomain(s string) (string, error) {
	d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if d == "" {
		return "", nil
	}
	if len(d) > 253 {
		return "", fmt.Errorf("context %s=%q: longer than a domain name (253 characters)", ContextDNSDomain, s)
	}
	for _, label := range strings.Split(d, ".") {
		if !dnsLabel.MatchString(label) {
			return "", fmt.Errorf("context %s=%q: %q is not a DNS label (letters, digits, hyphens, underscores; no wildcard: the names below the domain are allowed)", ContextDNSDomain, s, label)
		}
	}

	return d, nil
}

// RecordNamesUnder is the pattern (StringLike) of the normalized record
// names below domain. The steps write "*.<domain>" (normalized
// "\052.<domain>"), its TXT ownership record, and ACM's validation records
// "_<hash>.<domain>", all strictly below the request's domain, itself the
// context's domain or below it.
func RecordNamesUnder(domain string) string { return "*." + domain }
