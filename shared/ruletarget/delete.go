package ruletarget

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
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
		tg, err := findTargetGroup(ctx, e, ref.Name)
		if err != nil || tg == nil {
			return nil, nil, nil, err
		}
		arn = aws.ToString(tg.TargetGroupArn)
	}

	tags, err := resourceTags(ctx, e, arn)
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

	inUse, err := deleteTargetGroup(ctx, e, cfg, arn)
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
	health, err := e.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if steperr.HasCode(err, codeTGNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe targets of %s: %w", tgARN, err)
	}

	var (
		ids     []string
		targets []elbtypes.TargetDescription
	)
	for _, d := range health.TargetHealthDescriptions {
		if d.Target == nil || isLeaving(d) {
			continue
		}
		ids = append(ids, targetID(aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)))
		targets = append(targets, elbtypes.TargetDescription{Id: d.Target.Id, Port: d.Target.Port})
	}
	if len(targets) == 0 {
		return nil, nil
	}

	_, err = e.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: targets})
	if err != nil && !steperr.HasCode(err, codeTGNotFound) {
		return ids, fmt.Errorf("deregister targets from %s: %w", tgARN, err)
	}

	return ids, nil
}

// deleteTargetGroup deletes the target group, retrying while AWS says it is
// in use; inUse reports that it still was after the last attempt.
func deleteTargetGroup(ctx context.Context, e ELBv2, cfg Config, arn string) (inUse bool, err error) {
	wait := cfg.DeleteBackoff
	for attempt := 1; ; attempt++ {
		_, err := e.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
		switch {
		case err == nil, steperr.HasCode(err, codeTGNotFound):
			return false, nil
		case !steperr.HasCode(err, codeResourceInUse):
			return false, fmt.Errorf("delete target group %s: %w", arn, err)
		case attempt >= cfg.DeleteAttempts:
			return true, nil
		}

		select {
		case <-ctx.Done():
			return false, fmt.Errorf("delete target group %s: %w", arn, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}
