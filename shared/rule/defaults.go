package rule

import "maps"

// WithDefaults returns the rule with every optional field filled for a load
// balancer whose rules answer "<label>.<domain>": the host (normalized), the
// whole health check, the hold time and the held-request cap. The instance
// list and the tags are copied, so the result shares nothing with r.
func (r Rule) WithDefaults(domain string) Rule {
	out := r
	out.InstanceIDs = append([]string(nil), r.InstanceIDs...)
	out.Tags = maps.Clone(r.Tags)

	if out.Host == "" {
		out.Host = r.Name + "." + domain
	}
	out.Host = NormalizeHost(out.Host)

	var hc HealthCheck
	if r.HealthCheck != nil {
		hc = *r.HealthCheck
	}
	hc = hc.withDefaults()
	out.HealthCheck = &hc

	if out.HoldSeconds == 0 {
		out.HoldSeconds = DefaultHoldSeconds
	}
	if out.MaxHeldRequests == 0 {
		out.MaxHeldRequests = DefaultMaxHeldRequests
	}

	return out
}

// withDefaults fills the zero fields with DefaultHealthCheck's.
func (h HealthCheck) withDefaults() HealthCheck {
	d := DefaultHealthCheck()
	if h.Path == "" {
		h.Path = d.Path
	}
	if h.IntervalSeconds == 0 {
		h.IntervalSeconds = d.IntervalSeconds
	}
	if h.TimeoutSeconds == 0 {
		h.TimeoutSeconds = d.TimeoutSeconds
	}
	if h.HealthyThresholdCount == 0 {
		h.HealthyThresholdCount = d.HealthyThresholdCount
	}
	if h.UnhealthyThresholdCount == 0 {
		h.UnhealthyThresholdCount = d.UnhealthyThresholdCount
	}
	if h.SuccessCodes == "" {
		h.SuccessCodes = d.SuccessCodes
	}

	return h
}
