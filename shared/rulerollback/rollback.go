// Package rulerollback undoes a failed AttachRule execution: it deletes, in
// reverse order of creation, what this execution created — the rule item
// (only when its attachedBy is this execution), the autostop:rule tag on the
// instances (only where it names this host, and only when no item of this
// host remains: then no rule holds those instances), the targets and the
// target group (only when it carries this execution's tag) — treats "not
// found" as done, and reports what it deleted and what is left. When
// anything is left it fails with RollbackIncomplete naming it and the
// original error.
//
// A load balancer provisioned by the nested ProvisionLoadBalancer execution
// is not rolled back: that execution succeeded on its own (a failed one
// rolled itself back), and the load balancer is find-or-create, shared by
// every rule attached to it; running the event again finds it.
//
// Nothing is created before ValidateRule succeeds, so without its result
// there is nothing to delete.
package rulerollback

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/ruletarget"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// Store is the part of the rules table the rollback uses.
type Store interface {
	Get(ctx context.Context, host string, consistent bool) (rulestore.Item, error)
	Delete(ctx context.Context, host, attachedBy string) (bool, error)
}

// Deps are the rollback's dependencies.
type Deps struct {
	Store Store
	// Clients returns the AWS clients of a region (the load balancer's).
	Clients func(region string) ruletarget.Clients
	Config  ruletarget.Config
}

// Run is the rollback step (see the package comment).
func Run(ctx context.Context, d Deps, in ruledoc.AttachInput) (step.RollbackResult, error) {
	res := step.RollbackResult{Deleted: []step.Resource{}, Left: []step.Resource{}, State: step.RollbackDone, Attempts: 1}
	v := in.Validated
	if v == nil || in.Execution == "" {
		return res, nil
	}
	host, lb := v.Rule.Host, v.LoadBalancer.Name
	c := d.Clients(v.LoadBalancer.Region)
	var failures []string
	fail := func(what string, err error) { failures = append(failures, fmt.Sprintf("%s: %v", what, err)) }

	// 1. The item, when this execution wrote it (read first: no item, or
	// another execution's, is no call at all).
	item := step.Resource{Kind: ruledoc.KindRuleItem, ID: host}
	itemRemains := true
	switch it, err := d.Store.Get(ctx, host, true); {
	case errors.Is(err, rulestore.ErrNotFound):
		itemRemains = false
	case err != nil:
		fail("rule item (reading it)", err)
	case it.AttachedBy == in.Execution:
		switch deleted, err := d.Store.Delete(ctx, host, in.Execution); {
		case errors.Is(err, rulestore.ErrHostTaken): // replaced meanwhile: not ours any more
		case err != nil:
			res.Left = append(res.Left, item)
			fail("rule item", err)
		default:
			itemRemains = false
			if deleted {
				item.Action = step.Deleted
				res.Deleted = append(res.Deleted, item)
			}
		}
	}

	// 2. The instance tags, when no item of this host remains (an item of
	// another execution holds the host, and its instances).
	if !itemRemains {
		deleted, left, err := ruletarget.Untag(ctx, c.EC2, host, v.Rule.InstanceIDs)
		res.Deleted = append(res.Deleted, deleted...)
		res.Left = append(res.Left, left...)
		if err != nil {
			fail("instance tags", err)
		}
	}

	// 3. The targets and the target group this execution created.
	deleted, left, _, err := ruletarget.DeleteTargetGroup(ctx, c.ELBv2, d.Config,
		ruletarget.Ref{Name: ruletarget.TargetGroupName(v.Rule.Name, host)},
		ruletarget.Owner{Host: host, LoadBalancer: lb, Execution: in.Execution})
	res.Deleted = append(res.Deleted, deleted...)
	res.Left = append(res.Left, left...)
	if err != nil {
		fail("target group", err)
	}

	if len(res.Left) == 0 && len(failures) == 0 {
		return res, nil
	}

	var b strings.Builder
	fmt.Fprintf(&b, "rollback of execution %s (rule host %s) left resources behind", in.Execution, host)
	for _, r := range res.Left {
		fmt.Fprintf(&b, "; left %s %s", r.Kind, r.ID)
	}
	for _, f := range failures {
		fmt.Fprintf(&b, "; failed %s", f)
	}
	if in.Error != nil {
		fmt.Fprintf(&b, "; original error %s: %s", in.Error.Error, in.Error.Cause)
	}

	return res, &steperr.RollbackIncomplete{Message: b.String()}
}
