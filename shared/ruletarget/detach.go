package ruletarget

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// Detach is DetachRule's DeleteRuleTarget step: it deletes the rule's
// target group (deregistering its targets first) when it carries
// autostop's tags for the item's host and load balancer, and removes the
// tag autostop:rule=<host> from the rule's instances where it has this
// value. The instances themselves are never started, stopped or
// terminated: whatever state they are in, they stay in.
//
// A second run finds nothing and makes no mutating call. A target group
// still in use after the retries (a host rule added meanwhile by a wake in
// flight) fails the step with the list of what is left, so the state
// machine retries it and a later DetachRule finishes the job.
func Detach(ctx context.Context, c Clients, cfg Config, in ruledoc.DetachInput) (ruledoc.Deleted, error) {
	res := ruledoc.Deleted{Resources: []step.Resource{}}
	if in.Found == nil || in.Found.Item == nil {
		return res, steperr.Invalid("delete rule target: FindRule found no item (it runs first)")
	}
	it := in.Found.Item

	deleted, left, kept, err := DeleteTargetGroup(ctx, c.ELBv2, cfg,
		Ref{ARN: it.TargetGroupARN, Name: TargetGroupName(it.Rule.Name, it.Host)},
		Owner{Host: it.Host, LoadBalancer: it.LoadBalancer})
	res.Resources = append(append(res.Resources, deleted...), kept...)
	errs := []error{err}

	untagged, notUntagged, err := Untag(ctx, c.EC2, it.Host, it.Rule.InstanceIDs)
	res.Resources = append(res.Resources, untagged...)
	left = append(left, notUntagged...)
	errs = append(errs, err)

	if err := errors.Join(errs...); err != nil || len(left) > 0 {
		var ids []string
		for _, r := range left {
			ids = append(ids, r.Kind+" "+r.ID)
		}
		msg := fmt.Sprintf("detach rule %s: left %s", it.Host, strings.Join(ids, ", "))
		if err != nil {
			return res, fmt.Errorf("%s: %w", msg, err)
		}
		return res, errors.New(msg + " (still in use)")
	}

	return res, nil
}
