package proxytarget

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/targetgroup"
)

// DeleteCreatedBy undoes, for the rollback, what execution created for load
// balancer lbName: when the proxy target group carries this execution's
// tags, it deregisters its targets, removes the statement autostop-<lbName>
// from the alias's policy (only when it grants that target group) and
// deletes the target group. The function, its alias and versions are shared
// by every load balancer and never deleted. A target group of another
// execution or owner is left alone and not reported.
//
// "Not found" counts as done, so a second call after a partial failure
// finishes the job. While a listener still forwards to the target group AWS
// answers ResourceInUse: the delete is retried cfg.DeleteAttempts times
// with a doubling backoff, then the target group is reported under left
// (err stays nil: nothing unexpected happened). Any other failure also puts
// the resource under left and is returned in err; the other deletions are
// still attempted.
func DeleteCreatedBy(ctx context.Context, c Clients, cfg Config, lbName, execution string) (deleted, left []step.Resource, err error) {
	cfg = cfg.withDefaults()
	if lbName == "" || execution == "" {
		return nil, nil, errors.New("delete proxy target: load balancer name and execution are required")
	}

	tg, err := targetgroup.Find(ctx, c.ELBv2, TargetGroupName(lbName))
	if err != nil || tg == nil {
		return nil, nil, err
	}
	arn := aws.ToString(tg.TargetGroupArn)
	tags, err := targetgroup.Tags(ctx, c.ELBv2, arn)
	if steperr.HasCode(err, codeTGNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !ownership.CreatedBy(tags, lbName, execution) {
		return nil, nil, nil
	}

	var errs []error
	fail := func(r step.Resource, err error) {
		left = append(left, r)
		errs = append(errs, err)
	}

	targets, err := deregisterAll(ctx, c.ELBv2, arn)
	for _, id := range targets {
		r := step.Resource{Kind: KindTarget, ID: id}
		if err != nil {
			fail(r, err)
			continue
		}
		r.Action = step.Deleted
		deleted = append(deleted, r)
	}
	if err != nil && len(targets) == 0 {
		errs = append(errs, err)
	}

	switch resource, err := removePermission(ctx, c.Lambda, cfg.FunctionName, StatementID(lbName), arn); {
	case err != nil:
		fail(step.Resource{Kind: KindPermission, ID: cfg.FunctionName + ":" + AliasName + "#" + StatementID(lbName)}, err)
	case resource != "":
		deleted = append(deleted, step.Resource{Kind: KindPermission, ID: resource + "#" + StatementID(lbName), Action: step.Deleted})
	}

	tgRes := step.Resource{Kind: KindTargetGroup, ID: arn}
	inUse, err := targetgroup.Delete(ctx, c.ELBv2, arn, cfg.DeleteAttempts, cfg.DeleteBackoff)
	switch {
	case err != nil:
		fail(tgRes, err)
	case inUse:
		left = append(left, tgRes)
	default:
		tgRes.Action = step.Deleted
		deleted = append(deleted, tgRes)
	}

	return deleted, left, errors.Join(errs...)
}

// deregisterAll deregisters every target of the target group and returns
// their IDs (with err set when the deregistration failed).
func deregisterAll(ctx context.Context, e ELBv2, tgARN string) ([]string, error) {
	targets, err := targetgroup.DeregisterAll(ctx, e, tgARN)
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = aws.ToString(t.Id)
	}

	return ids, err
}

// removePermission removes statement sid from the alias's policy when it
// grants target group tgARN (a statement granting another target group is
// not this execution's). It returns the ARN the statement was on (the
// alias's), "" when there was nothing to remove.
func removePermission(ctx context.Context, l Lambda, function, sid, tgARN string) (resource string, err error) {
	stmt, err := findStatement(ctx, l, function, sid)
	if err != nil || stmt == nil || stmt.sourceARN() != tgARN {
		return "", err
	}
	resource = function + ":" + AliasName
	if r := stringsOf(stmt.Resource); len(r) == 1 && r[0] != "" {
		resource = r[0]
	}

	_, err = l.RemovePermission(ctx, &lambda.RemovePermissionInput{
		FunctionName: aws.String(function), Qualifier: aws.String(AliasName), StatementId: aws.String(sid),
	})
	if steperr.HasCode(err, codeLambdaNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("remove permission %s from %s:%s: %w", sid, function, AliasName, err)
	}

	return resource, nil
}
