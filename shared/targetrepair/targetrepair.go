// Package targetrepair holds the step of the RepairTargets workflow
// (statemachine/repair-targets.asl.json), which the idle watcher starts when
// instances of a running rule are missing from its target group
// (deregistered outside autostop): the load balancer sends the rule's
// traffic only to registered targets, so they are registered again.
//
// Only the rule's own instances are registered, on the rule's port, in the
// rule's target group; a rule that no longer runs (asleep, detached) is
// left alone: its next wake checks its targets anyway.
package targetrepair

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// Input is the document the step receives, built by the state machine's
// Init state.
type Input struct {
	// Host of the rule to repair.
	Host string `json:"host"`
	// InstanceIDs the idle watcher found missing from the target group.
	InstanceIDs []string `json:"instanceIds"`
	// Execution is this execution's name and ExecutionARN its ID.
	Execution    string `json:"execution"`
	ExecutionARN string `json:"executionArn"`
}

// Result is the RegisterTargets step's output.
type Result struct {
	// Skipped: nothing was registered, for Reason.
	Skipped bool   `json:"skipped"`
	Reason  string `json:"reason,omitempty"`
	// TargetGroupARN is the rule's target group.
	TargetGroupARN string `json:"targetGroupArn,omitempty"`
	// Registered are the targets registered, as "<instance>:<port>".
	Registered []string `json:"registered,omitempty"`
	// NotRuleMembers are the instances asked for that are not the rule's:
	// never registered.
	NotRuleMembers []string `json:"notRuleMembers,omitempty"`
}

// Rules is the part of the rules table the step uses (rulestore.Store).
type Rules interface {
	Get(ctx context.Context, host string, consistent bool) (rulestore.Item, error)
}

// ELBv2 is the part of the Elastic Load Balancing client the step uses.
type ELBv2 interface {
	RegisterTargets(ctx context.Context, in *elbv2.RegisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error)
}

// Deps are the step's clients; the ELBv2 client is made for the rule's
// region (its load balancer's).
type Deps struct {
	Rules Rules
	ELBv2 func(region string) ELBv2
}

// NewDeps builds the step's clients from a function's SDK configuration.
func NewDeps(cfg aws.Config, rules Rules) Deps {
	return Deps{
		Rules: rules,
		ELBv2: func(region string) ELBv2 {
			return elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.Region = region })
		},
	}
}

// RegisterTargets registers the given instances of a running rule with its
// target group on the rule's port (registering a registered target changes
// nothing). Instances that are not the rule's are ignored; a rule that is
// not running, or no longer exists, is skipped.
func RegisterTargets(ctx context.Context, d Deps, in Input) (Result, error) {
	var res Result
	it, err := d.Rules.Get(ctx, in.Host, true)
	if errors.Is(err, rulestore.ErrNotFound) {
		res.Skipped, res.Reason = true, "the host has no rule any more"
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("read rule %s: %w", in.Host, err)
	}
	if it.State != rulestore.Running {
		res.Skipped, res.Reason = true, fmt.Sprintf("the rule is %s, not running", it.State)
		return res, nil
	}
	res.TargetGroupARN = it.TargetGroupARN

	var ids []string
	for _, id := range in.InstanceIDs {
		switch {
		case !slices.Contains(it.Rule.InstanceIDs, id):
			res.NotRuleMembers = append(res.NotRuleMembers, id)
		case !slices.Contains(ids, id):
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		res.Skipped, res.Reason = true, "none of the instances is the rule's"
		return res, nil
	}

	port := int32(it.Rule.Port)
	targets := make([]elbtypes.TargetDescription, len(ids))
	registered := make([]string, len(ids))
	for i, id := range ids {
		targets[i] = elbtypes.TargetDescription{Id: aws.String(id), Port: aws.Int32(port)}
		registered[i] = id + ":" + strconv.Itoa(int(port))
	}
	_, err = d.ELBv2(spec.ARNRegion(it.LoadBalancerARN)).RegisterTargets(ctx, &elbv2.RegisterTargetsInput{
		TargetGroupArn: aws.String(it.TargetGroupARN), Targets: targets,
	})
	switch {
	case steperr.HasCode(err, "TargetGroupNotFound"):
		return res, steperr.Missing("the target group %s of rule %s does not exist: detach and attach the rule again", it.TargetGroupARN, it.Rule.Name)
	case steperr.HasCode(err, "InvalidTarget"):
		return res, steperr.Invalid("register %v with the target group %s of rule %s: %v", registered, it.TargetGroupARN, it.Rule.Name, err)
	case err != nil:
		return res, fmt.Errorf("register %v with the target group %s of rule %s: %w", registered, it.TargetGroupARN, it.Rule.Name, err)
	}
	res.Registered = registered

	return res, nil
}
