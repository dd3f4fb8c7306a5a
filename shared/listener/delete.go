package listener

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
)

// DeleteCreatedBy deletes the listeners of the load balancer lbARN that
// execution created for load balancer lbName (by their ownership tags), for
// the rollback path. A listener or load balancer that is already gone counts
// as done. deleted lists what it removed; left lists this execution's
// listeners it could not delete, and err says why.
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
	tags, err := tagsSkippingMissing(ctx, api, arns)
	if err != nil {
		return nil, nil, err
	}

	var errs []error
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

// tagsSkippingMissing reads the listeners' tags; when a listener vanished
// between the describe and the tag read (ListenerNotFound), it reads them
// one by one and leaves the vanished ones out.
func tagsSkippingMissing(ctx context.Context, api ELBv2, arns []string) (map[string]map[string]string, error) {
	if len(arns) == 0 {
		return nil, nil
	}
	tags, err := listenerTags(ctx, api, arns)
	if err == nil {
		return tags, nil
	}
	if !isListenerNotFound(err) {
		return nil, err
	}

	tags = make(map[string]map[string]string, len(arns))
	for _, arn := range arns {
		one, err := listenerTags(ctx, api, []string{arn})
		switch {
		case isListenerNotFound(err):
			continue
		case err != nil:
			return nil, err
		}
		tags[arn] = one[arn]
	}

	return tags, nil
}
