// Package ruledoc defines the documents the AttachRule and DetachRule state
// machines pass from step to step, as shared/step does for
// ProvisionLoadBalancer: the event's detail, the execution's name, and each
// step's result under its own key (the state's ResultPath), so that the
// execution history reads as an audit log of what each step found, created,
// adopted or deleted.
//
// AttachRule's document:
//
//	{"detail": <eventstart.RuleCreated>, "execution": "evt-…", "stateMachine": "arn:…",
//	 "provisioned": <the nested ProvisionLoadBalancer execution, with a spec>,
//	 "validated": <ValidateRule>,
//	 "results": {"target": <EnsureRuleTarget>, "item": <WriteRule>},
//	 "error": <the error that started the rollback>}
//
// DetachRule's document:
//
//	{"detail": <eventstart.RuleDeleted>, "execution": "evt-…", "found": <FindRule>,
//	 "results": {"hostRule": …, "target": …, "item": …}, "error": …}
package ruledoc

import (
	"encoding/json"
	"strings"

	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/step"
)

// Resource kinds the rule workflows report, beside step's ("target-group",
// "target").
const (
	KindTargetGroup  = "target-group"
	KindTarget       = "target"       // ID: "<instance ID>:<port>"
	KindInstanceTag  = "instance-tag" // ID: "<instance ID>" (the tag autostop:rule=<host>)
	KindRuleItem     = "rule-item"    // ID: the host
	KindListenerRule = "listener-rule"
)

// Kept is the action reported for a resource a delete found and left alone
// because it is not autostop's (or not this rule's).
const Kept = "kept"

// AttachInput is what every AttachRule step receives.
type AttachInput struct {
	// Detail is the "AutoStopping Rule Created" event's detail: the
	// execution's input as the starter gave it. ValidateRule parses it
	// strictly (eventstart.ParseDetail); the later steps use Validated.
	Detail json.RawMessage `json:"detail"`
	// Execution is the Step Functions execution name: it goes into the
	// autostop:execution tag of what this run creates, and into the item's
	// attachedBy.
	Execution string `json:"execution"`
	// StateMachine is the ARN of AttachRule.
	StateMachine string `json:"stateMachine,omitempty"`
	// Provisioned is the nested ProvisionLoadBalancer execution's result,
	// present when the detail carried a load balancer spec.
	Provisioned *Provisioned `json:"provisioned,omitempty"`
	// Validated is ValidateRule's result; nil before it succeeded.
	Validated *Validated `json:"validated,omitempty"`
	// Results of the steps after ValidateRule.
	Results AttachResults `json:"results"`
	// Error is set on the rollback path.
	Error *step.Error `json:"error,omitempty"`
}

// Provisioned is the result of the Task that runs ProvisionLoadBalancer as a
// nested execution (arn:aws:states:::states:startExecution.sync:2): the
// child's DescribeExecution, its output parsed. AWS names these fields
// "ExecutionArn", "Status", "Output"; the local backend "executionArn", …:
// encoding/json matches names case-insensitively, so both decode.
type Provisioned struct {
	ExecutionARN string             `json:"ExecutionArn"`
	Status       string             `json:"Status"`
	Output       *ProvisionedOutput `json:"Output"`
}

// ProvisionedOutput is the part of ProvisionLoadBalancer's output (its
// state Provisioned) AttachRule uses.
type ProvisionedOutput struct {
	Name    string       `json:"name"`
	Domain  string       `json:"domain"`
	Results step.Results `json:"results"`
}

// LoadBalancerARN is the provisioned load balancer's ARN ("" when unknown).
func (p *Provisioned) LoadBalancerARN() string {
	if p == nil || p.Output == nil || p.Output.Results.LoadBalancer == nil {
		return ""
	}

	return p.Output.Results.LoadBalancer.ARN
}

// Validated is ValidateRule's result: the rule with its defaults, and
// everything the later steps need, found by read-only calls.
type Validated struct {
	// Rule with every default filled (rule.WithDefaults) and its host
	// normalized: what the item stores.
	Rule rule.Rule `json:"rule"`
	// LoadBalancer the rule is attached to.
	LoadBalancer LoadBalancer `json:"loadBalancer"`
	// Instances of the rule as ValidateRule found them.
	Instances []Instance `json:"instances"`
	// Existing says why an item already holding the host is no conflict:
	// ExistingThisExecution or ExistingIdenticalRule; "" when there is none.
	Existing string `json:"existing,omitempty"`
	// Rules is how many AutoStopping rules the load balancer holds with
	// this one (at most MaxRulesPerLoadBalancer).
	Rules int `json:"rules"`
}

// Why an existing item does not conflict.
const (
	// ExistingThisExecution: this execution wrote it (a retried step).
	ExistingThisExecution = "this-execution"
	// ExistingIdenticalRule: another execution attached the same rule to
	// the same load balancer (a second event for the same rule).
	ExistingIdenticalRule = "identical-rule"
)

// LoadBalancer is the autostop load balancer a rule is attached to.
type LoadBalancer struct {
	Name   string `json:"name"`
	ARN    string `json:"arn"`
	Region string `json:"region"`
	VPCID  string `json:"vpcId"`
	// Domain its rules answer under ("<label>.<domain>"), from the proxy
	// target group's autostop:domain tag.
	Domain string `json:"domain"`
	// ListenerARN is where host rules go: HTTPS 443 when the load balancer
	// has it, HTTP 80 otherwise.
	ListenerARN string `json:"listenerArn"`
	// ProxyTargetGroupARN is the listener's default target: the proxy.
	ProxyTargetGroupARN string `json:"proxyTargetGroupArn"`
}

// Instance is one of the rule's instances.
type Instance struct {
	ID    string `json:"id"`
	State string `json:"state"` // pending | running | stopping | stopped
}

// AttachResults holds each AttachRule step's result after ValidateRule.
type AttachResults struct {
	Target *TargetResult `json:"target,omitempty"`
	Item   *ItemResult   `json:"item,omitempty"`
}

// TargetResult is EnsureRuleTarget's result.
type TargetResult struct {
	TargetGroupARN  string `json:"targetGroupArn"`
	TargetGroupName string `json:"targetGroupName"`
	// Resources: the target group, each target and each instance tag,
	// created or adopted (a target that is not the rule's: deleted).
	Resources []step.Resource `json:"resources"`
}

// ItemResult is WriteRule's result.
type ItemResult struct {
	Host       string          `json:"host"`
	State      rulestore.State `json:"state"`
	Version    int64           `json:"version"`
	AttachedBy string          `json:"attachedBy"`
	// Action is step.Created when this execution wrote the item,
	// step.Adopted when it existed (this execution's, or an identical rule).
	Action string `json:"action"`
	// InstancesRunning is true when every instance of the rule was running
	// when ValidateRule looked: the rule is written stopped, and a wake can
	// switch it at once.
	InstancesRunning bool `json:"instancesRunning"`
}

// DetachInput is what every DetachRule step receives.
type DetachInput struct {
	// Detail is the "AutoStopping Rule Deleted" event's detail: FindRule
	// parses it strictly (eventstart.ParseDeletedDetail); the later steps
	// use Found.
	Detail json.RawMessage `json:"detail"`
	// Execution is the Step Functions execution name.
	Execution string `json:"execution"`
	// Found is FindRule's result.
	Found *Found `json:"found,omitempty"`
	// Results of the steps after FindRule.
	Results DetachResults `json:"results"`
	// Error is set on the failure path.
	Error *step.Error `json:"error,omitempty"`
}

// Found is FindRule's result: the host's item, when there is one.
type Found struct {
	// Found is false when no rule holds the host: nothing to detach.
	Found bool `json:"found"`
	// Host, normalized.
	Host string `json:"host"`
	// Item as FindRule read it (strongly consistent).
	Item *rulestore.Item `json:"item,omitempty"`
}

// DetachResults holds each DetachRule step's result.
type DetachResults struct {
	HostRule *Deleted `json:"hostRule,omitempty"`
	Target   *Deleted `json:"target,omitempty"`
	Item     *Deleted `json:"item,omitempty"`
}

// Deleted is what a DetachRule step removed, and what it found and kept
// because it is not autostop's (Action Kept).
type Deleted struct {
	Resources []step.Resource `json:"resources"`
}

// SameRule reports whether two rules are the same as stored: their JSON
// documents are equal (so an empty and an absent map are the same).
func SameRule(a, b rule.Rule) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)

	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// RegionOf returns the region of an ARN ("" when it has none).
func RegionOf(arn string) string {
	if f := strings.SplitN(arn, ":", 5); len(f) == 5 {
		return f[3]
	}

	return ""
}
