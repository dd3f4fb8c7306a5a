// Package lbdelete is the DeleteLoadBalancer workflow's logic: find
// everything autostop created for one load balancer (by the
// autostop:load-balancer tag, and for DNS records by autostop's TXT
// ownership record), then delete it step by step in reverse dependency
// order — DNS records, listeners (a listener autostop changed on an
// adopted ALB gets its previous configuration back), the ALB and its
// security group, certificates autostop requested, target groups and the
// proxy's invoke permission. It reuses the provisioning rollback's
// deleters with the whole load balancer as their scope (an empty
// execution), so what one deletes the other deletes the same way. An
// adopted ALB stays; nothing without autostop's tags is touched. A
// re-run after a partial failure finds what is left and finishes. It works
// in the region autostop is deployed in (a load balancer provisioned with
// another spec.region is deleted by the deployment of that region).
package lbdelete

import (
	"fmt"
	"strings"

	"github.com/autostop/autostop/shared/step"
)

// Request is the DeleteLoadBalancer execution's input.
type Request struct {
	// Name of the load balancer (as in its spec).
	Name string `json:"name"`
	// Force detaches the load balancer's AutoStopping rules first
	// (through DetachRule); without it the deletion refuses while rules
	// use the load balancer.
	Force bool `json:"force,omitempty"`
}

// Input is what every step receives: the Init state builds it.
type Input struct {
	Request   Request `json:"request"`
	Execution string  `json:"execution"`
	// Found is FindLoadBalancer's result.
	Found   *Found  `json:"found,omitempty"`
	Results Results `json:"results"`
	Timing  Timing  `json:"timing"`
	// Error is set on the failure path (ListLeft): the error that stopped
	// the deletion.
	Error *step.Error `json:"error,omitempty"`
}

// Timing bounds the wait loops of the steps AWS holds up (a security group
// the deleted ALB's network interfaces still use, a certificate a deleted
// listener released moments ago).
type Timing struct {
	WaitSeconds int `json:"waitSeconds"`
	MaxAttempts int `json:"maxAttempts"`
}

// Results are the deletion steps' results, by step.
type Results struct {
	DNS          *Result `json:"dns,omitempty"`
	Listeners    *Result `json:"listeners,omitempty"`
	LoadBalancer *Result `json:"loadBalancer,omitempty"`
	Certificates *Result `json:"certificates,omitempty"`
	TargetGroups *Result `json:"targetGroups,omitempty"`
}

// Rule is an AutoStopping rule of the load balancer.
type Rule struct {
	Host string `json:"host"`
	Name string `json:"name"`
	// DetachExecution names the DetachRule execution that detaches it
	// (with force): "<this execution>-detach-<n>".
	DetachExecution string `json:"detachExecution"`
}

// Found is what autostop has for the load balancer.
type Found struct {
	Name string `json:"name"`
	// Exists: anything of the load balancer is left (resources or rules).
	Exists bool `json:"exists"`
	// LoadBalancerARN is the ALB's ARN; empty when it is gone.
	LoadBalancerARN string `json:"loadBalancerArn,omitempty"`
	// Adopted: the ALB existed before autostop; it stays.
	Adopted bool `json:"adopted"`
	// Domain is the load balancer's domain (from its proxy target group);
	// empty when that is gone.
	Domain string `json:"domain,omitempty"`
	// HostedZoneID is the Route 53 zone holding autostop's "*.<domain>"
	// records for it; empty with another DNS provider (or when gone).
	HostedZoneID string `json:"hostedZoneId,omitempty"`
	// Rules using the load balancer.
	Rules []Rule `json:"rules"`
	// Refuse: rules use the load balancer and the request does not force
	// the deletion; DetachRules: they do and it does (the state machine
	// detaches them first).
	Refuse      bool `json:"refuse"`
	DetachRules bool `json:"detachRules"`
	// RulesMessage says which rules are attached (for the RulesAttached
	// failure).
	RulesMessage string `json:"rulesMessage,omitempty"`
	// Present is everything found that carries the load balancer's tag
	// (an adopted ALB does not: it stays). Not step.Resources: finding is
	// no action, and the audit timeline reads those as what a step did.
	Present []Present `json:"present"`
	// LeftMessage lists Resources in one sentence; on the failure path it
	// starts with the error's cause (the execution's failure cause).
	LeftMessage string `json:"leftMessage"`
}

// Present is a resource of the load balancer that exists.
type Present struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Result is one deletion step's result.
type Result struct {
	Deleted []step.Resource `json:"deleted"`
	// Waiting lists what AWS still holds: the state machine waits and runs
	// the step again (State "waiting").
	Waiting  []step.Resource `json:"waiting,omitempty"`
	State    string          `json:"state"`
	Attempts int             `json:"attempts"`
}

// States of a step's result.
const (
	StateDone    = "done"
	StateWaiting = "waiting"
)

// describe lists resources as "kind id, kind id".
func describe(rs []step.Resource) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Kind + " " + r.ID
	}

	return strings.Join(parts, ", ")
}

// leftMessage says what is left of the load balancer.
func leftMessage(name string, present []Present) string {
	if len(present) == 0 {
		return fmt.Sprintf("nothing autostop created for load balancer %s is left", name)
	}
	parts := make([]string, len(present))
	for i, p := range present {
		parts[i] = p.Kind + " " + p.ID
	}

	return fmt.Sprintf("left of load balancer %s (%d): %s; run the deletion again once the cause is fixed", name, len(present), strings.Join(parts, ", "))
}
