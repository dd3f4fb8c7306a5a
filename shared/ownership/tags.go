// Package ownership decides what autostop owns. Every resource the system
// creates carries, in its create call, the tags built here; every delete goes
// through the checks here. "It exists" never means "I created it": AWS's
// create calls are idempotent for the same name and settings.
package ownership

import (
	"fmt"
	"sort"
	"strings"
)

// Tag keys.
const (
	// LoadBalancerKey marks everything that belongs to one autostop load
	// balancer; teardown deletes only what carries it.
	LoadBalancerKey = "autostop:load-balancer"
	// ExecutionKey names the workflow execution that created a resource;
	// rollback deletes only what carries its own execution's value.
	ExecutionKey = "autostop:execution"
	// ManagedByKey is "autostop" on everything autostop created.
	ManagedByKey   = "autostop:managed-by"
	ManagedByValue = "autostop"
	// RuleKey names the AutoStopping rule (by host) a resource belongs to:
	// its target group, its host listener rule, and the instances it serves
	// (the one tag autostop puts on customer resources; it scopes
	// ec2:StartInstances in IAM, and an instance serves one rule).
	RuleKey = "autostop:rule"
	// DomainKey, on a load balancer's proxy target group, names the
	// load balancer's domain: its rules answer "<label>.<domain>".
	DomainKey = "autostop:domain"
)

// Tags returns the tags for a resource created for load balancer lb by
// execution, merged with the user's tags (which cannot override autostop's).
func Tags(lb, execution string, user map[string]string) map[string]string {
	out := make(map[string]string, len(user)+3)
	for k, v := range user {
		out[k] = v
	}
	out[LoadBalancerKey] = lb
	out[ExecutionKey] = execution
	out[ManagedByKey] = ManagedByValue

	return out
}

// Keys returns the tag keys in a stable order (for SDK tag lists).
func Keys(tags map[string]string) []string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	return keys
}

// OwnedByLoadBalancer reports whether tags mark a resource of lb.
func OwnedByLoadBalancer(tags map[string]string, lb string) bool {
	return tags[ManagedByKey] == ManagedByValue && tags[LoadBalancerKey] == lb
}

// CreatedBy reports whether tags mark a resource that execution created for lb.
func CreatedBy(tags map[string]string, lb, execution string) bool {
	return OwnedByLoadBalancer(tags, lb) && tags[ExecutionKey] == execution
}

// Owns reports whether tags mark a resource autostop created for lb by
// execution, or, when execution is "", by any execution: the load
// balancer's deletion (the DeleteLoadBalancer workflow) deletes everything
// of lb, a rollback only what its own execution created. An empty lb owns
// nothing (a scope of "any load balancer" is never meant).
func Owns(tags map[string]string, lb, execution string) bool {
	switch {
	case lb == "":
		return false
	case execution == "":
		return OwnedByLoadBalancer(tags, lb)
	default:
		return CreatedBy(tags, lb, execution)
	}
}

// OwnsTXT is Owns for a DNS ownership record's value (TXTValue): it names
// lb and execution, or lb and any execution when execution is "". A value
// that is not autostop's (ParseTXT) is never owned.
func OwnsTXT(value, lb, execution string) bool {
	owner, exec, ok := ParseTXT(value)

	return ok && owner == lb && (execution == "" || exec == execution)
}

// TXTValue is the ownership record autostop writes beside each DNS record
// it manages (Route 53 records carry no tags), in external-dns's style.
func TXTValue(lb, execution string) string {
	return fmt.Sprintf(`"heritage=autostop,%s=%s,%s=%s"`, LoadBalancerKey, lb, ExecutionKey, execution)
}

// ParseTXT reads an ownership record's value; ok is false when the record is
// not autostop's.
func ParseTXT(value string) (lb, execution string, ok bool) {
	v := strings.Trim(value, `"`)
	fields := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		k, val, found := strings.Cut(part, "=")
		if !found {
			return "", "", false
		}
		fields[k] = val
	}
	if fields["heritage"] != "autostop" || fields[LoadBalancerKey] == "" {
		return "", "", false
	}

	return fields[LoadBalancerKey], fields[ExecutionKey], true
}
