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
// balancer lbName (by their ownership tags, ownership.Owns).
//
// An empty execution means every execution of lbName, for the
// DeleteLoadBalancer workflow, which removes everything autostop did to the
// load balancer whichever execution did it: every listener of lbARN that
// carries ModifiedByKey (whatever execution it names) is put back as its
// previous-* tags recorded it, so an adopted ALB gets its listeners back as
// they were before autostop, and
// every listener carrying lbName's ownership tags is deleted. A listener of
// another load balancer or without autostop's tags is never deleted.
//
// A listener or load balancer that is already gone counts as done. deleted
// lists what it removed or restored (action "updated"); left lists the
// listeners in scope it could not delete or restore, and err says why. A
// listener whose restore failed but which is then deleted is not left: its
// previous configuration no longer matters.
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

	restored, failed := restoreModifiedBy(ctx, api, listeners, tags, execution)
	for _, arn := range restored {
		deleted = append(deleted, step.Resource{Kind: Kind, ID: arn, Action: step.Updated})
	}

	var (
		deleteLeft []step.Resource
		deleteErrs []error
		gone       = map[string]bool{} // deleted now, or already gone
	)
	for _, arn := range arns {
		if t, ok := tags[arn]; !ok || !ownership.Owns(t, lbName, execution) {
			continue
		}
		_, err := api.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(arn)})
		switch {
		case err == nil:
			gone[arn] = true
			deleted = append(deleted, step.Resource{Kind: Kind, ID: arn, Action: step.Deleted})
		case isListenerNotFound(err):
			gone[arn] = true // already gone: done
		default:
			deleteLeft = append(deleteLeft, step.Resource{Kind: Kind, ID: arn, Action: step.Created})
			deleteErrs = append(deleteErrs, fmt.Errorf("delete listener %s: %w", arn, err))
		}
	}

	var errs []error
	for _, arn := range arns {
		if err, ok := failed[arn]; ok && !gone[arn] {
			left = append(left, step.Resource{Kind: Kind, ID: arn, Action: step.Updated})
			errs = append(errs, err)
		}
	}
	left = append(left, deleteLeft...)
	errs = append(errs, deleteErrs...)

	return deleted, left, errors.Join(errs...)
}
