package ruletarget

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/targetgroup"
)

// Ref names a target group: by ARN when known (the item has it), else by
// name (the rollback derives it from the rule).
type Ref struct {
	ARN  string
	Name string
}

// DeleteTargetGroup deletes the rule's target group when owner owns it
// (Owner.Owns): it deregisters every target, then deletes the target group,
// retrying while AWS answers ResourceInUse (cfg.DeleteAttempts, doubling
// backoff). A target group that does not exist is done (nothing reported);
// one that is not the owner's is reported kept and left alone; one still
// in use after the last attempt is reported left (err nil: nothing
// unexpected happened, but it is still there).
func DeleteTargetGroup(ctx context.Context, e ELBv2, cfg Config, ref Ref, owner Owner) (deleted, left, kept []step.Resource, err error) {
	cfg = cfg.withDefaults()
	arn := ref.ARN
	if arn == "" {
		tg, err := targetgroup.Find(ctx, e, ref.Name)
		if err != nil || tg == nil {
			return nil, nil, nil, err
		}
		arn = aws.ToString(tg.TargetGroupArn)
	}

	tags, err := targetgroup.Tags(ctx, e, arn)
	if steperr.HasCode(err, codeTGNotFound) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	tgRes := step.Resource{Kind: ruledoc.KindTargetGroup, ID: arn}
	if !owner.Owns(tags) {
		tgRes.Action = ruledoc.Kept
		return nil, nil, []step.Resource{tgRes}, nil
	}

	var errs []error
	targets, err := deregisterAll(ctx, e, arn)
	for _, id := range targets {
		r := step.Resource{Kind: ruledoc.KindTarget, ID: id}
		if err != nil {
			left = append(left, r)
			continue
		}
		r.Action = step.Deleted
		deleted = append(deleted, r)
	}
	if err != nil {
		errs = append(errs, err)
	}

	inUse, err := targetgroup.Delete(ctx, e, arn, cfg.DeleteAttempts, cfg.DeleteBackoff)
	switch {
	case err != nil:
		left = append(left, tgRes)
		errs = append(errs, err)
	case inUse:
		left = append(left, tgRes)
	default:
		tgRes.Action = step.Deleted
		deleted = append(deleted, tgRes)
	}

	return deleted, left, nil, errors.Join(errs...)
}

// deregisterAll deregisters every target of the target group and returns
// them as "<id>:<port>" (with err set when the deregistration failed).
func deregisterAll(ctx context.Context, e ELBv2, tgARN string) ([]string, error) {
	targets, err := targetgroup.DeregisterAll(ctx, e, tgARN)
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = targetID(aws.ToString(t.Id), aws.ToInt32(t.Port))
	}

	return ids, err
}
