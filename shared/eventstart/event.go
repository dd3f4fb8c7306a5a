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

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// RuleCreated is the detail of an "AutoStopping Rule Created" event: the
// rule, and the load balancer it belongs to. SchemaFile describes the same
// document; a test keeps both in agreement.
type RuleCreated struct {
	// Rule is the AutoStopping rule that was created.
	Rule rule.Rule `json:"rule"`
	// LoadBalancer the rule belongs to: an existing one by name, or a spec
	// to provision it.
	LoadBalancer LoadBalancerRef `json:"loadBalancer"`
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

var lbNameRE = regexp.MustCompile(spec.NamePattern)

// Event is a parsed event of the bus: exactly one of Created and Deleted is
// set, by its detail-type.
type Event struct {
	ID         string
	DetailType string
	Created    *RuleCreated
	Deleted    *RuleDeleted
}

// ParseEvent checks the envelope of an EventBridge event (source,
// detail-type, id) and parses its detail by detail-type: ParseDetail for
// "AutoStopping Rule Created", ParseDeletedDetail for "AutoStopping Rule
// Deleted". Every problem is a steperr.InvalidRequest naming the event.
func ParseEvent(ev events.EventBridgeEvent) (Event, error) {
	out := Event{ID: ev.ID, DetailType: ev.DetailType}
	var p []string
	if ev.ID == "" {
		p = append(p, "id: required")
	}
	if ev.Source != Source {
		p = append(p, fmt.Sprintf("source: %q, want %q", ev.Source, Source))
	}
	if ev.DetailType != DetailTypeRuleCreated && ev.DetailType != DetailTypeRuleDeleted {
		p = append(p, fmt.Sprintf("detail-type: %q, want %q or %q", ev.DetailType, DetailTypeRuleCreated, DetailTypeRuleDeleted))
	}
	if len(p) > 0 {
		return out, steperr.Invalid("invalid event %s: %s", ev.ID, strings.Join(p, "; "))
	}

	var err error
	if ev.DetailType == DetailTypeRuleCreated {
		var d RuleCreated
		d, err = ParseDetail(ev.Detail)
		out.Created = &d
	} else {
		var d RuleDeleted
		d, err = ParseDeletedDetail(ev.Detail)
		out.Deleted = &d
	}
	if err != nil {
		return Event{ID: ev.ID, DetailType: ev.DetailType}, steperr.Invalid("invalid %s event %s: %s", ev.DetailType, ev.ID, err.Error())
	}

	return out, nil
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
	p := d.Rule.Problems("rule.")

	lb := d.LoadBalancer
	switch {
	case lb.Name == "" && lb.Spec == nil:
		p = append(p, "loadBalancer: give exactly one of name (an existing load balancer) or spec (to provision it)")
	case lb.Name != "" && lb.Spec != nil:
		p = append(p, "loadBalancer: give exactly one of name or spec, not both")
	case lb.Spec != nil:
		for _, s := range lb.Spec.Problems() {
			p = append(p, "loadBalancer.spec."+s)
		}
		// A domain with a dot is the full domain (a single label is a
		// prefix inside the hosted zone, known only to Validate).
		if dom := lb.Spec.Domain; d.Rule.Host != "" && strings.Contains(strings.TrimSuffix(dom, "."), ".") {
			if msg := rule.HostProblem(d.Rule.Host, dom); msg != "" {
				p = append(p, "rule.host: "+msg)
			}
		}
	case len(lb.Name) > 32 || !lbNameRE.MatchString(lb.Name):
		p = append(p, fmt.Sprintf("loadBalancer.name: %q is not a load balancer name (1–32 letters, digits and hyphens)", lb.Name))
	}

	return p
}
