package rule

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// Patterns of the rule's fields. The JSON Schema uses the same expressions;
// a test keeps them equal.
const (
	NamePattern         = `^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`
	InstanceIDPattern   = `^i-[0-9a-f]+(-[0-9a-f]+)*$`
	HealthPathPattern   = `^/[\x21-\x7e]*$`
	SuccessCodesPattern = `^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$`
)

// Limits of the rule's fields.
const (
	MaxHostLength       = 253
	MaxInstanceIDLength = 64
	MaxInstances        = 100
	MaxHealthPathLength = 1024
	MinIdleMinutes      = 1
	MaxIdleMinutes      = 1440
	MinIntervalSeconds  = 5
	MaxIntervalSeconds  = 300
	MinTimeoutSeconds   = 2
	MaxTimeoutSeconds   = 120
	MinThresholdCount   = 2
	MaxThresholdCount   = 10
	MaxPort             = 65535
	MaxGraceSeconds     = 600
	MinHoldSeconds      = 1
	// MaxHoldSeconds stays well under the ALB's default idle timeout of 60 s,
	// which would cut a held request off.
	MaxHoldSeconds     = 50
	MinMaxHeldRequests = 1
	// MaxMaxHeldRequests: every held request occupies one Lambda concurrent
	// execution, and an account starts with 1,000.
	MaxMaxHeldRequests = 1000
)

var (
	nameRE         = regexp.MustCompile(NamePattern)
	instanceIDRE   = regexp.MustCompile(InstanceIDPattern)
	healthPathRE   = regexp.MustCompile(HealthPathPattern)
	successCodesRE = regexp.MustCompile(SuccessCodesPattern)
	hostRE         = regexp.MustCompile(spec.DomainPattern)
)

// Check makes every check of the rule that needs no AWS call. It returns a
// steperr.InvalidRequest listing every problem, or nil.
func (r Rule) Check() error {
	if p := r.Problems("rule."); len(p) > 0 {
		return steperr.Invalid("invalid AutoStopping rule %q: %s", r.Name, strings.Join(p, "; "))
	}

	return nil
}

// Problems returns every problem of the rule that needs no AWS call, each as
// "<prefix><field path>: <reason>".
func (r Rule) Problems(prefix string) []string {
	p := problems{prefix: prefix}

	switch {
	case r.Name == "":
		p.add("name", "required")
	case !nameRE.MatchString(r.Name):
		p.add("name", "%q must be a DNS label: 1–63 letters, digits and hyphens, not starting or ending with a hyphen", r.Name)
	}

	if r.Host != "" && (strings.Contains(r.Host, "*") || len(r.Host) > MaxHostLength || !hostRE.MatchString(r.Host)) {
		p.add("host", "%q is not a host name", r.Host)
	}

	if len(r.InstanceIDs) == 0 {
		p.add("instanceIds", "at least one instance is required")
	}
	if len(r.InstanceIDs) > MaxInstances {
		p.add("instanceIds", "%d given, at most %d are allowed", len(r.InstanceIDs), MaxInstances)
	}
	seen := map[string]bool{}
	for i, id := range r.InstanceIDs {
		field := fmt.Sprintf("instanceIds[%d]", i)
		if len(id) > MaxInstanceIDLength || !instanceIDRE.MatchString(id) {
			p.add(field, "%q is not an instance ID (i-<lower-case hex>)", id)
		}
		if seen[id] {
			p.add(field, "%q is given twice", id)
		}
		seen[id] = true
	}

	p.between("port", r.Port, 1, MaxPort)
	p.between("idleMinutes", r.IdleMinutes, MinIdleMinutes, MaxIdleMinutes)
	p.between("graceSeconds", r.GraceSeconds, 0, MaxGraceSeconds)
	if r.HoldSeconds != 0 {
		p.between("holdSeconds", r.HoldSeconds, MinHoldSeconds, MaxHoldSeconds)
	}
	if r.MaxHeldRequests != 0 {
		p.between("maxHeldRequests", r.MaxHeldRequests, MinMaxHeldRequests, MaxMaxHeldRequests)
	}
	if hc := r.HealthCheck; hc != nil {
		hc.check(&p)
	}
	for _, t := range spec.TagProblems("tags", r.Tags) {
		p.list = append(p.list, prefix+t)
	}

	return p.list
}

func (h HealthCheck) check(p *problems) {
	const f = "healthCheck."
	if h.Path != "" && (len(h.Path) > MaxHealthPathLength || !healthPathRE.MatchString(h.Path)) {
		p.add(f+"path", "%q must start with / and hold printable ASCII only, at most %d characters", h.Path, MaxHealthPathLength)
	}
	if h.IntervalSeconds != 0 {
		p.between(f+"intervalSeconds", h.IntervalSeconds, MinIntervalSeconds, MaxIntervalSeconds)
	}
	if h.TimeoutSeconds != 0 {
		p.between(f+"timeoutSeconds", h.TimeoutSeconds, MinTimeoutSeconds, MaxTimeoutSeconds)
	}
	// Compare with the interval that will apply: a timeout of 30 s with the
	// default interval of 30 s is refused by the ALB too.
	d := h.withDefaults()
	if (h.IntervalSeconds != 0 || h.TimeoutSeconds != 0) && d.TimeoutSeconds >= d.IntervalSeconds {
		p.add(f+"timeoutSeconds", "%d must be less than intervalSeconds (%d)", d.TimeoutSeconds, d.IntervalSeconds)
	}
	if h.HealthyThresholdCount != 0 {
		p.between(f+"healthyThresholdCount", h.HealthyThresholdCount, MinThresholdCount, MaxThresholdCount)
	}
	if h.UnhealthyThresholdCount != 0 {
		p.between(f+"unhealthyThresholdCount", h.UnhealthyThresholdCount, MinThresholdCount, MaxThresholdCount)
	}
	if h.SuccessCodes != "" && !successCodesRE.MatchString(h.SuccessCodes) {
		p.add(f+"successCodes", "%q is not a list of HTTP codes or ranges like 200,302 or 200-399", h.SuccessCodes)
	}
}

// HostProblem says why host cannot be a rule's host on a load balancer whose
// rules answer "<label>.<domain>" ("" when it can): the wildcard record and
// certificate ("*.<domain>") cover one label only.
func HostProblem(host, domain string) string {
	h, d := NormalizeHost(host), spec.NormalizeDomain(domain)
	label, rest, ok := strings.Cut(h, ".")
	if !ok || rest != d || label == "" || !nameRE.MatchString(label) {
		return fmt.Sprintf("%q is not one label under the load balancer's domain %q (e.g. app.%s): its wildcard record and certificate cover *.%s only", host, d, d, d)
	}

	return ""
}

// NormalizeHost lower-cases a host name and drops a trailing dot, as the ALB
// compares host headers case-insensitively.
func NormalizeHost(h string) string { return spec.NormalizeDomain(h) }

type problems struct {
	prefix string
	list   []string
}

func (p *problems) add(field, format string, a ...any) {
	p.list = append(p.list, p.prefix+field+": "+fmt.Sprintf(format, a...))
}

func (p *problems) between(field string, v, lo, hi int) {
	if v < lo || v > hi {
		p.add(field, "%d is not within %d–%d", v, lo, hi)
	}
}
