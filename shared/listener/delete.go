package listener

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/targetgroup"
)

// DeleteCreatedBy undoes execution's listener changes on the load balancer
// lbARN, for the rollback path: first it puts back the listeners execution
// modified (ModifiedByKey: an HTTP listener turned into a redirect to HTTPS
// forwards again), then it deletes the listeners execution created for load
// balancer lbName (by their ownership tags). A listener or load balancer
// that is already gone counts as done. deleted lists what it removed or
// restored (action "updated"); left lists this execution's listeners it
// could not delete or restore, and err says why.
func DeleteCreatedBy(ctx context.Context, api ELBv2, lbARN, lbName, execution string) (deleted, left []step.Resource, err error) {
	if lbARN == "" {
		return nil, nil, nil
	}

	listeners, err := listLoadBalancerListeners(ctx, api, lbARN)
	if isLoadBalancerNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("describe listeners of %s: %w", lbARN, err)
	}
	arns := make([]string, 0, len(listeners))
	for _, l := range listeners {
		arns = append(arns, aws.ToString(l.ListenerArn))
	}
	// A listener that vanished since the describe has no tags: skipped.
	tags, err := targetgroup.TagsOf(ctx, api, arns)
	if err != nil {
		return nil, nil, err
	}

	var errs []error
	restored, failed := restoreModifiedBy(ctx, api, listeners, tags, execution)
	for _, arn := range restored {
		deleted = append(deleted, step.Resource{Kind: Kind, ID: arn, Action: step.Updated})
	}
	for _, arn := range arns {
		if err, ok := failed[arn]; ok {
			left = append(left, step.Resource{Kind: Kind, ID: arn, Action: step.Updated})
			errs = append(errs, err)
		}
	}
	for _, arn := range arns {
		if t, ok := tags[arn]; !ok || !ownership.CreatedBy(t, lbName, execution) {
			continue
		}
		_, err := api.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(arn)})
		switch {
		case err == nil:
			deleted = append(deleted, step.Resource{Kind: Kind, ID: arn, Action: step.Deleted})
		case isListenerNotFound(err):
			// Already gone: done.
		default:
			left = append(left, step.Resource{Kind: Kind, ID: arn, Action: step.Created})
			errs = append(errs, fmt.Errorf("delete listener %s: %w", arn, err))
		}
	}

	return deleted, left, errors.Join(errs...)
}
