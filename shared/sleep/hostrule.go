package sleep

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/steperr"
)

// HostRuleResult is the RemoveHostRule step's output: what became of the
// host listener rule the rule had (one field set, unless superseded before
// anything was done).
type HostRuleResult struct {
	// Superseded: the rule is no longer in this sleep.
	Superseded bool `json:"superseded"`
	// DeletedListenerRule is the host rule this step deleted (ARN).
	DeletedListenerRule string `json:"deletedListenerRule,omitempty"`
	// ListenerRuleAlreadyGone is the host rule the rule named, found
	// deleted already (outside autostop, or by an earlier try of this step).
	ListenerRuleAlreadyGone string `json:"listenerRuleAlreadyGone,omitempty"`
	// NoListenerRule: the rule named no host rule; nothing to delete.
	NoListenerRule bool `json:"noListenerRule,omitempty"`
}

// RemoveHostRule records this execution on the rule, deletes the rule's
// host listener rule (the one its wake recorded, by ARN; "not found" counts
// as deleted) and records it gone: from now on the host's traffic reaches
// the proxy, and the instances can be stopped.
func RemoveHostRule(ctx context.Context, d Deps, in Input) (HostRuleResult, error) {
	var res HostRuleResult
	it, at, ok, err := current(ctx, d, in)
	if err != nil || !ok {
		res.Superseded = err == nil
		return res, err
	}
	if in.ExecutionARN != "" {
		changed, err := d.Rules.RecordSleepExecution(ctx, in.Host, at, in.ExecutionARN)
		if err != nil {
			return res, err
		}
		if !changed { // superseded since the read: delete nothing
			res.Superseded = true
			return res, nil
		}
	}
	arn := it.ListenerRuleARN
	if arn == "" {
		res.NoListenerRule = true
		return res, nil
	}

	_, err = d.ELBv2(region(it)).DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(arn)})
	switch {
	case steperr.HasCode(err, "RuleNotFound"):
		res.ListenerRuleAlreadyGone = arn
	case err != nil:
		return res, fmt.Errorf("delete host rule %s of rule %s: %w", arn, it.Rule.Name, err)
	default:
		res.DeletedListenerRule = arn
	}

	changed, err := d.Rules.ClearHostRule(ctx, in.Host, at)
	if err != nil {
		return res, fmt.Errorf("record host rule %s of rule %s deleted: %w", arn, it.Rule.Name, err)
	}
	// Superseded since the read (a detach took over): the host rule is
	// gone all the same, which is what every later owner wants of it.
	res.Superseded = !changed

	return res, nil
}
