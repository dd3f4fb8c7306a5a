package proxytarget

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
	"github.com/autostop/autostop/shared/targetgroup"
)

// DeleteCreatedBy undoes, for the rollback, what execution created for load
// balancer lbName: when the proxy target group carries this execution's
// tags (ownership.Owns), it deregisters its targets and deletes the target
// group, then tidies the alias's resource policy as below. An empty
// execution means any execution of lbName: the DeleteLoadBalancer workflow
// deletes the load balancer's proxy target group whichever execution
// created it (a rollback always names its own execution); lbName is
// required either way. The policy rules are the same in both cases:
//
//   - the load balancer's legacy statement (LegacyStatementID, made by
//     earlier versions) is removed when present: the target group it was
//     for is this execution's, so it is gone now (or left), and the id is
//     this load balancer's alone;
//   - the shared statement (SharedStatementID) is removed only when no
//     autostop proxy target group is left in the region (listed, and told
//     apart by autostop's ownership tags). Otherwise it stays and is
//     reported with the action ActionKept in deleted (not in left: nothing
//     failed); when it was created by another execution that is the usual
//     case.
//
// The function, its alias and versions are shared by every load balancer
// and never deleted (by the rollback or by the load balancer's deletion).
// A target group of another execution (for a rollback), of another load
// balancer, or without autostop's tags is left alone and not reported, and
// then the policy is not touched either.
//
// The race with a concurrent execution of another load balancer: that
// execution creates its target group before it reads the policy (Ensure),
// and the removal here happens after the list that found no target group.
// So that execution's target group can appear between the list and the
// removal, and its run may have read the statement as present: its
// RegisterTargets then fails (Ensure ensures the statement once more when
// AccessDenied outlasts the propagation wait, and puts it back) or, worse,
// succeeded just before the removal and its load balancer would be left
// unable to invoke the proxy. So after removing the statement the target
// groups are listed again: one that appeared meanwhile (created before the
// removal, so this second list sees it) gets the statement back, reported
// kept. A target group created after the removal belongs to a run that
// reads the policy after it and adds the statement itself. Both sides
// tolerate the other's add (ResourceConflictException with the same
// statement is success). What is left is a window of a few calls in which
// that load balancer, not serving yet, cannot invoke the proxy, and
// Elastic Load Balancing listing target groups with a delay (not seen in
// practice).
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
	if lbName == "" {
		return nil, nil, steperr.Invalid("delete proxy target: the load balancer name is required")
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
	if !ownership.Owns(tags, lbName, execution) {
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

	// The target group before the shared statement: a target group that is
	// still there (in use, or its delete failed) keeps the statement.
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

	function := cfg.FunctionName
	aliasID := function + ":" + AliasName
	pol, err := readPolicy(ctx, c.Lambda, function)
	if err != nil {
		fail(step.Resource{Kind: KindPermission, ID: aliasID + "#" + SharedStatementID}, err)
		return deleted, left, errors.Join(errs...)
	}

	if legacy := pol.find(LegacyStatementID(lbName)); legacy != nil {
		r := step.Resource{Kind: KindLegacyPermission, ID: legacy.resourceOr(aliasID) + "#" + LegacyStatementID(lbName)}
		if err := removeStatement(ctx, c.Lambda, function, LegacyStatementID(lbName)); err != nil {
			fail(r, err)
		} else {
			r.Action = step.Deleted
			deleted = append(deleted, r)
		}
	}

	if shared := pol.find(SharedStatementID); shared != nil {
		r := step.Resource{Kind: KindPermission, ID: shared.resourceOr(aliasID) + "#" + SharedStatementID}
		action, err := releaseShared(ctx, c, function, arn)
		if err != nil {
			fail(r, err)
		} else {
			r.Action = action
			deleted = append(deleted, r)
		}
	}

	return deleted, left, errors.Join(errs...)
}

// releaseShared removes the shared statement when no autostop proxy target
// group is left in the region and returns Deleted, or ActionKept when one
// is (see DeleteCreatedBy for the second look after the removal). tgARN
// is the deleted target group's: its region and account are the
// statement's.
func releaseShared(ctx context.Context, c Clients, function, tgARN string) (string, error) {
	other, err := anyProxyTargetGroup(ctx, c.ELBv2)
	if err != nil {
		return "", fmt.Errorf("keep or remove permission %s: %w", SharedStatementID, err)
	}
	if other != "" {
		return ActionKept, nil
	}
	if err := removeStatement(ctx, c.Lambda, function, SharedStatementID); err != nil {
		return "", err
	}

	other, err = anyProxyTargetGroup(ctx, c.ELBv2)
	if err != nil {
		return "", fmt.Errorf("removed permission %s, then could not check that no proxy target group appeared meanwhile: %w", SharedStatementID, err)
	}
	if other == "" {
		return step.Deleted, nil
	}
	pattern, account, err := SourceARNPattern(tgARN)
	if err == nil {
		err = addShared(ctx, c.Lambda, function, pattern, account)
	}
	if err != nil && !steperr.HasCode(err, codeLambdaConflict) {
		return "", fmt.Errorf("put permission %s back for target group %s, created while it was removed: %w", SharedStatementID, other, err)
	}

	return ActionKept, nil
}

// anyProxyTargetGroup returns the ARN of an autostop proxy target group of
// the region (isProxyTargetGroup), "" when there is none. Target groups
// whose name lacks the suffix, or that are not Lambda target groups, are
// not even asked for their tags.
func anyProxyTargetGroup(ctx context.Context, e ELBv2) (string, error) {
	names := map[string]string{} // ARN -> name
	var arns []string
	pages := elbv2.NewDescribeTargetGroupsPaginator(e, &elbv2.DescribeTargetGroupsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list target groups: %w", err)
		}
		for _, tg := range page.TargetGroups {
			name, arn := aws.ToString(tg.TargetGroupName), aws.ToString(tg.TargetGroupArn)
			if tg.TargetType == elbtypes.TargetTypeEnumLambda && strings.HasSuffix(name, targetGroupSuffix) {
				names[arn] = name
				arns = append(arns, arn)
			}
		}
	}

	// A batch at a time: the first proxy target group found ends the search.
	for batch := range slices.Chunk(arns, targetgroup.MaxTagARNs) {
		tags, err := targetgroup.TagsOf(ctx, e, batch)
		if err != nil {
			return "", err
		}
		for _, arn := range batch {
			if isProxyTargetGroup(names[arn], tags[arn]) {
				return arn, nil
			}
		}
	}

	return "", nil
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
