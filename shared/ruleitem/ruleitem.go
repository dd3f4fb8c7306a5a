// Package ruleitem holds the steps that read and write a rule's item in the
// rules table (shared/rulestore):
//
//   - Write is AttachRule's WriteRule step: it creates the item, state
//     stopped, naming the load balancer, the listener host rules go on and
//     the rule's target group, attached by this execution. An item this
//     execution wrote already (a retried step), or an identical rule
//     another execution attached, is adopted; any other item holding the
//     host is a Conflict (it was written since ValidateRule looked). When
//     ValidateRule found such an item, Write reads it instead of writing,
//     so that attaching an identical rule again makes no mutating call.
//     The result says whether every instance was running, for the wake
//     that may follow.
//   - Find is DetachRule's FindRule step: the host's item, when there is
//     one (no item: nothing to detach, the workflow ends there).
//   - Remove is DetachRule's last step, DeleteRuleItem: it deletes the item
//     FindRule found, only if it is still the one that attach wrote.
//
// The item is written last by AttachRule and deleted last by DetachRule:
// while it exists, everything it names exists, so a DetachRule that fails
// midway is finished by running it again.
package ruleitem

import (
	"context"
	"errors"

	"github.com/autostop/autostop/shared/eventstart"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// Store is the part of the rules table the steps use (*rulestore.Store).
type Store interface {
	Create(ctx context.Context, it rulestore.Item) (rulestore.Item, error)
	Get(ctx context.Context, host string, consistent bool) (rulestore.Item, error)
	Delete(ctx context.Context, host, attachedBy string) (bool, error)
	MarkDetaching(ctx context.Context, host string) (rulestore.Item, error)
}

// Write is the WriteRule step (see the package comment).
func Write(ctx context.Context, s Store, in ruledoc.AttachInput) (ruledoc.ItemResult, error) {
	v, tg := in.Validated, in.Results.Target
	if v == nil || tg == nil || in.Execution == "" {
		return ruledoc.ItemResult{}, steperr.Invalid("write rule: the validated rule, its target group and the execution are required (ValidateRule and EnsureRuleTarget run first)")
	}
	it := rulestore.Item{
		Host:            v.Rule.Host,
		Rule:            v.Rule,
		LoadBalancer:    v.LoadBalancer.Name,
		LoadBalancerARN: v.LoadBalancer.ARN,
		ListenerARN:     v.LoadBalancer.ListenerARN,
		TargetGroupARN:  tg.TargetGroupARN,
		State:           rulestore.Stopped,
		AttachedBy:      in.Execution,
	}

	ours := func(got rulestore.Item) bool {
		return got.AttachedBy == in.Execution || got.LoadBalancer == it.LoadBalancer && ruledoc.SameRule(got.Rule, it.Rule)
	}
	taken := func(got rulestore.Item) error {
		return steperr.Conflicting("host %s was given to the AutoStopping rule %q (load balancer %s, attached by %s) while this rule was being attached: detach it first, or pick another host",
			it.Host, got.Rule.Name, got.LoadBalancer, got.AttachedBy)
	}

	var (
		got    rulestore.Item
		err    error
		action = step.Created
	)
	if v.Existing != "" {
		// ValidateRule found the item (a retry, or an identical rule): read
		// it rather than attempt a write, so a re-run makes no mutating call.
		got, err = s.Get(ctx, it.Host, true)
		switch {
		case err == nil && ours(got):
			action = step.Adopted
		case err == nil:
			return ruledoc.ItemResult{}, taken(got)
		case !errors.Is(err, rulestore.ErrNotFound):
			return ruledoc.ItemResult{}, err
		}
	}
	if action == step.Created {
		got, err = s.Create(ctx, it)
		if errors.Is(err, rulestore.ErrHostTaken) {
			if !ours(got) {
				return ruledoc.ItemResult{}, taken(got)
			}
			action, err = step.Adopted, nil
		}
		if err != nil {
			return ruledoc.ItemResult{}, err
		}
	}

	running := len(v.Instances) > 0
	for _, i := range v.Instances {
		running = running && i.State == "running"
	}

	return ruledoc.ItemResult{
		Host: got.Host, State: got.State, Version: got.Version, AttachedBy: got.AttachedBy,
		Action: action, InstancesRunning: running,
	}, nil
}

// Find is the FindRule step: it parses the event's detail strictly and
// reads the host's item (strongly consistent). No item is no error: Found
// false. When the detail names the rule, an item of another name is a
// Conflict: nothing is detached.
func Find(ctx context.Context, s Store, in ruledoc.DetachInput) (ruledoc.Found, error) {
	d, err := eventstart.ParseDeletedDetail(in.Detail)
	if err != nil {
		return ruledoc.Found{}, steperr.Invalid("DetachRule input: %s", err.Error())
	}
	it, err := s.Get(ctx, d.Host, true)
	if errors.Is(err, rulestore.ErrNotFound) {
		return ruledoc.Found{Host: d.Host}, nil
	}
	if err != nil {
		return ruledoc.Found{}, err
	}
	if d.Name != "" && it.Rule.Name != d.Name {
		return ruledoc.Found{}, steperr.Conflicting("host %s holds the AutoStopping rule %q, not %q: nothing detached (check the host)", d.Host, it.Rule.Name, d.Name)
	}
	// From here on nothing wakes the rule, and a wake in flight adds no
	// host rule behind the detach's back.
	it, err = s.MarkDetaching(ctx, d.Host)
	if errors.Is(err, rulestore.ErrNotFound) {
		return ruledoc.Found{Host: d.Host}, nil
	}
	if err != nil {
		return ruledoc.Found{}, err
	}

	return ruledoc.Found{Found: true, Host: d.Host, Item: &it}, nil
}

// Remove is the DeleteRuleItem step: it deletes the item FindRule found, if
// it is still the one the same attach wrote (an item attached again since
// is left alone: Conflict). Gone already is done.
func Remove(ctx context.Context, s Store, in ruledoc.DetachInput) (ruledoc.Deleted, error) {
	res := ruledoc.Deleted{Resources: []step.Resource{}}
	if in.Found == nil || in.Found.Item == nil {
		return res, steperr.Invalid("delete rule item: FindRule found no item (it runs first)")
	}
	it := in.Found.Item
	deleted, err := s.Delete(ctx, it.Host, it.AttachedBy)
	if errors.Is(err, rulestore.ErrHostTaken) {
		return res, steperr.Conflicting("host %s was attached again while it was being detached: %s", it.Host, err.Error())
	}
	if err != nil {
		return res, err
	}
	if deleted {
		res.Resources = append(res.Resources, step.Resource{Kind: ruledoc.KindRuleItem, ID: it.Host, Action: step.Deleted})
	}

	return res, nil
}
