// Package ruledetach is DetachRule's DeleteHostRule step: the first thing a
// detach removes is the rule's host listener rule, so the host's traffic
// returns to the proxy at once (which answers 404 once the item is gone).
//
// The host rule is found and deleted by shared/hostrule: on the listener the
// item names, the rule whose only condition is the host and which carries
// autostop's tags for it (autostop:managed-by, autostop:rule=<host>). A
// rule for the host without those tags is never deleted. No host rule (a
// stopped rule has none), or no listener any more, is nothing to do.
package ruledetach

import (
	"context"
	"errors"

	"github.com/autostop/autostop/shared/hostrule"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// DeleteHostRule is the step (see the package comment).
func DeleteHostRule(ctx context.Context, elb hostrule.Deleter, in ruledoc.DetachInput) (ruledoc.Deleted, error) {
	res := ruledoc.Deleted{Resources: []step.Resource{}}
	if in.Found == nil || in.Found.Item == nil {
		return res, steperr.Invalid("delete host rule: FindRule found no item (it runs first)")
	}
	it := in.Found.Item
	if it.ListenerARN == "" {
		return res, nil
	}

	arn, err := hostrule.Delete(ctx, elb, it.ListenerARN, it.Host)
	var nf *steperr.NotFound
	if errors.As(err, &nf) {
		return res, nil // the listener is gone, and its rules with it
	}
	if err != nil {
		return res, err
	}
	if arn != "" {
		res.Resources = append(res.Resources, step.Resource{Kind: ruledoc.KindListenerRule, ID: arn, Action: step.Deleted})
	}

	return res, nil
}
