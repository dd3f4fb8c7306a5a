package eventstart

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// RuleCreated is the detail of an "AutoStopping Rule Created" event: the
// rule, and the load balancer it belongs to. SchemaFile describes the same
// document; a test keeps both in agreement.
type RuleCreated struct {
	// Rule is the AutoStopping rule that was created.
	Rule Rule `json:"rule"`
	// LoadBalancer the rule belongs to: an existing one by name, or a spec
	// to provision it.
	LoadBalancer LoadBalancerRef `json:"loadBalancer"`
}

// Rule is an AutoStopping rule: which instances serve which host, and when
// they stop.
type Rule struct {
	// Name of the rule: a DNS label (1–63 letters, digits and hyphens, not
	// starting or ending with a hyphen).
	Name string `json:"name"`
	// Host the rule answers, a full host name such as
	// "app.autostop.example.com" (usually <name>.<domain>).
	Host string `json:"host"`
	// InstanceIDs of the EC2 instances behind the rule (at least one).
	InstanceIDs []string `json:"instanceIds"`
	// Port the instances serve on (1–65535).
	Port int `json:"port"`
	// HealthCheck of the instance target group. Default: the ALB's
	// defaults (GET / on the traffic port).
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	// IdleMinutes without requests after which the instances are stopped
	// (1–1440).
	IdleMinutes int `json:"idleMinutes"`
	// HideProgressPage: while the instances start, hold requests and
	// redirect instead of showing the progress page.
	HideProgressPage bool `json:"hideProgressPage,omitempty"`
}

// HealthCheck configures the instance target group's health check; a zero
// field takes the ALB's default.
type HealthCheck struct {
	// Path requested, starting with "/" (default "/").
	Path string `json:"path,omitempty"`
	// IntervalSeconds between checks, 5–300 (default 30).
	IntervalSeconds int `json:"intervalSeconds,omitempty"`
	// TimeoutSeconds of one check, 2–120, less than IntervalSeconds
	// (default 5).
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// HealthyThresholdCount: successes before healthy, 2–10 (default 5).
	HealthyThresholdCount int `json:"healthyThresholdCount,omitempty"`
	// UnhealthyThresholdCount: failures before unhealthy, 2–10 (default 2).
	UnhealthyThresholdCount int `json:"unhealthyThresholdCount,omitempty"`
	// SuccessCodes: HTTP codes meaning healthy, e.g. "200", "200,302" or
	// "200-399" (default "200").
	SuccessCodes string `json:"successCodes,omitempty"`
}

// LoadBalancerRef names the rule's load balancer: exactly one of Name (an
// existing load balancer) or Spec (the load balancer to provision, or to
// find when it exists: provisioning is find-or-create).
type LoadBalancerRef struct {
	// Name of an existing autostop load balancer.
	Name string `json:"name,omitempty"`
	// Spec of the load balancer to provision (a LoadBalancerSpec, the
	// ProvisionLoadBalancer execution's input).
	Spec *spec.LoadBalancerSpec `json:"spec,omitempty"`
}

// LoadBalancerName is the load balancer's name, from Spec or Name.
func (r LoadBalancerRef) LoadBalancerName() string {
	if r.Spec != nil {
		return r.Spec.Name
	}

	return r.Name
}

// UnmarshalJSON decodes the reference strictly and the spec with
// spec.Parse (unknown fields rejected at every depth).
func (r *LoadBalancerRef) UnmarshalJSON(data []byte) error {
	var wire struct {
		Name string          `json:"name"`
		Spec json.RawMessage `json:"spec"`
	}
	if err := strictDecode(data, &wire); err != nil {
		return err
	}

	out := LoadBalancerRef{Name: wire.Name}
	if len(wire.Spec) > 0 && !bytes.Equal(bytes.TrimSpace(wire.Spec), []byte("null")) {
		s, err := spec.Parse(wire.Spec)
		if err != nil {
			return err
		}
		out.Spec = &s
	}
	*r = out

	return nil
}

// Patterns and limits of the detail's fields. The schema uses the same
// expressions; a test keeps them equal.
const (
	RuleNamePattern     = `^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`
	InstanceIDPattern   = `^i-[0-9a-f]+(-[0-9a-f]+)*$`
	HealthPathPattern   = `^/[\x21-\x7e]*$`
	SuccessCodesPattern = `^[0-9]{3}(-[0-9]{3})?(,[0-9]{3}(-[0-9]{3})?)*$`

	MaxHostLength         = 253
	MaxInstanceIDLength   = 64
	MaxInstances          = 100
	MaxHealthPathLength   = 1024
	MinIdleMinutes        = 1
	MaxIdleMinutes        = 1440
	MinIntervalSeconds    = 5
	MaxIntervalSeconds    = 300
	MinTimeoutSeconds     = 2
	MaxTimeoutSeconds     = 120
	MinThresholdCount     = 2
	MaxThresholdCount     = 10
	MaxPort               = 65535
	invalidEventMsgPrefix = "invalid " + DetailTypeRuleCreated + " event"
)

var (
	ruleNameRE     = regexp.MustCompile(RuleNamePattern)
	instanceIDRE   = regexp.MustCompile(InstanceIDPattern)
	healthPathRE   = regexp.MustCompile(HealthPathPattern)
	successCodesRE = regexp.MustCompile(SuccessCodesPattern)
	hostRE         = regexp.MustCompile(spec.DomainPattern)
	lbNameRE       = regexp.MustCompile(spec.NamePattern)
)

// ParseEvent checks the envelope of an EventBridge event (source,
// detail-type, id) and parses its detail with ParseDetail. Every problem is
// a steperr.InvalidRequest.
func ParseEvent(ev events.EventBridgeEvent) (RuleCreated, error) {
	var p []string
	if ev.ID == "" {
		p = append(p, "id: required")
	}
	if ev.Source != Source {
		p = append(p, fmt.Sprintf("source: %q, want %q", ev.Source, Source))
	}
	if ev.DetailType != DetailTypeRuleCreated {
		p = append(p, fmt.Sprintf("detail-type: %q, want %q", ev.DetailType, DetailTypeRuleCreated))
	}
	if len(p) > 0 {
		return RuleCreated{}, steperr.Invalid("%s %s: %s", invalidEventMsgPrefix, ev.ID, strings.Join(p, "; "))
	}

	d, err := ParseDetail(ev.Detail)
	if err != nil {
		return RuleCreated{}, steperr.Invalid("%s %s: %s", invalidEventMsgPrefix, ev.ID, err.Error())
	}

	return d, nil
}

// ParseDetail decodes a detail document, rejecting unknown fields at every
// depth and trailing data, then checks it (the spec with spec's Check).
// Errors are steperr.InvalidRequest listing every problem.
func ParseDetail(data []byte) (RuleCreated, error) {
	if t := bytes.TrimSpace(data); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return RuleCreated{}, steperr.Invalid("detail: required")
	}

	var d RuleCreated
	if err := strictDecode(data, &d); err != nil {
		return RuleCreated{}, steperr.Invalid("detail: %s", err.Error())
	}
	if p := d.Problems(); len(p) > 0 {
		return RuleCreated{}, steperr.Invalid("detail: %s", strings.Join(p, "; "))
	}

	return d, nil
}

// strictDecode decodes one JSON value, rejecting unknown fields and
// trailing data.
func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON object")
	}

	return nil
}

// Problems returns every problem of the detail that needs no AWS call, each
// as "<field path>: <reason>".
func (d RuleCreated) Problems() []string {
	var p problems
	d.Rule.check(&p)

	lb := d.LoadBalancer
	switch {
	case lb.Name == "" && lb.Spec == nil:
		p.add("loadBalancer", "give exactly one of name (an existing load balancer) or spec (to provision it)")
	case lb.Name != "" && lb.Spec != nil:
		p.add("loadBalancer", "give exactly one of name or spec, not both")
	case lb.Spec != nil:
		for _, s := range lb.Spec.Problems() {
			p = append(p, "loadBalancer.spec."+s)
		}
	case len(lb.Name) > 32 || !lbNameRE.MatchString(lb.Name):
		p.add("loadBalancer.name", "%q is not a load balancer name (1–32 letters, digits and hyphens)", lb.Name)
	}

	return p
}

type problems []string

func (p *problems) add(field, format string, a ...any) {
	*p = append(*p, field+": "+fmt.Sprintf(format, a...))
}

func (p *problems) between(field string, v, lo, hi int) {
	if v < lo || v > hi {
		p.add(field, "%d is not within %d–%d", v, lo, hi)
	}
}

func (r Rule) check(p *problems) {
	switch {
	case r.Name == "":
		p.add("rule.name", "required")
	case !ruleNameRE.MatchString(r.Name):
		p.add("rule.name", "%q must be a DNS label: 1–63 letters, digits and hyphens, not starting or ending with a hyphen", r.Name)
	}

	switch {
	case r.Host == "":
		p.add("rule.host", "required")
	case strings.Contains(r.Host, "*") || len(r.Host) > MaxHostLength || !hostRE.MatchString(r.Host):
		p.add("rule.host", "%q is not a host name", r.Host)
	}

	if len(r.InstanceIDs) == 0 {
		p.add("rule.instanceIds", "at least one instance is required")
	}
	if len(r.InstanceIDs) > MaxInstances {
		p.add("rule.instanceIds", "%d given, at most %d are allowed", len(r.InstanceIDs), MaxInstances)
	}
	seen := map[string]bool{}
	for i, id := range r.InstanceIDs {
		field := fmt.Sprintf("rule.instanceIds[%d]", i)
		if len(id) > MaxInstanceIDLength || !instanceIDRE.MatchString(id) {
			p.add(field, "%q is not an instance ID (i-<lower-case hex>)", id)
		}
		if seen[id] {
			p.add(field, "%q is given twice", id)
		}
		seen[id] = true
	}

	p.between("rule.port", r.Port, 1, MaxPort)
	p.between("rule.idleMinutes", r.IdleMinutes, MinIdleMinutes, MaxIdleMinutes)

	if hc := r.HealthCheck; hc != nil {
		hc.check(p)
	}
}

func (h HealthCheck) check(p *problems) {
	const f = "rule.healthCheck."
	if h.Path != "" && (len(h.Path) > MaxHealthPathLength || !healthPathRE.MatchString(h.Path)) {
		p.add(f+"path", "%q must start with / and hold printable ASCII only, at most %d characters", h.Path, MaxHealthPathLength)
	}
	if h.IntervalSeconds != 0 {
		p.between(f+"intervalSeconds", h.IntervalSeconds, MinIntervalSeconds, MaxIntervalSeconds)
	}
	if h.TimeoutSeconds != 0 {
		p.between(f+"timeoutSeconds", h.TimeoutSeconds, MinTimeoutSeconds, MaxTimeoutSeconds)
	}
	if h.IntervalSeconds != 0 && h.TimeoutSeconds != 0 && h.TimeoutSeconds >= h.IntervalSeconds {
		p.add(f+"timeoutSeconds", "%d must be less than intervalSeconds (%d)", h.TimeoutSeconds, h.IntervalSeconds)
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
