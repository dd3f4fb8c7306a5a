package loadbalancer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// Bounded waits of DeleteCreatedBy (variables so tests can shorten them).
var (
	// lbGoneDelays space the checks that a deleted ALB is gone.
	lbGoneDelays = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	// groupDeleteDelays space the retries of a security group delete that
	// fails with DependencyViolation: on AWS the ALB's network interfaces
	// take a while to go after DeleteLoadBalancer. About 90 s in all.
	groupDeleteDelays = []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 15 * time.Second,
		15 * time.Second, 15 * time.Second, 15 * time.Second, 15 * time.Second}
)

// DeleteCreatedBy deletes the ALB named lbName and its default security
// group autostop-<lbName>, each only if its tags say execution created it:
// never an adopted ALB, never one another execution created, never anything
// that is not autostop's. "Not found" counts as done, so a second call is a
// no-op. It is the rollback of Ensure.
//
// deleted lists what this call removed; left lists what this execution
// created and is still there. err joins every failure (so steperr can tell
// throttling from the rest); left is non-empty only with a non-nil err.
func DeleteCreatedBy(ctx context.Context, c Clients, lbName, execution string) (deleted, left []step.Resource, err error) {
	var errs []error

	lb, err := findByName(ctx, c.ELBv2, lbName)
	if err != nil {
		return nil, nil, err
	}
	lbLeft := false
	if lb != nil {
		arn := aws.ToString(lb.LoadBalancerArn)
		res := step.Resource{Kind: KindLoadBalancer, ID: arn}
		tags, err := lbTags(ctx, c.ELBv2, arn)
		switch {
		case steperr.ErrorCode(err) == codeLBNotFound:
			// Gone since we looked.
		case err != nil:
			return nil, nil, err
		case ownership.CreatedBy(tags, lbName, execution):
			if err := deleteLoadBalancer(ctx, c.ELBv2, arn); err != nil {
				lbLeft = true
				left = append(left, res)
				errs = append(errs, err)
			} else {
				res.Action = step.Deleted
				deleted = append(deleted, res)
			}
		}
	}

	name := DefaultSecurityGroupName(lbName)
	groups, err := findGroups(ctx, c.EC2, name, "",
		ec2types.Filter{Name: aws.String("tag:" + ownership.ExecutionKey), Values: []string{execution}})
	if err != nil {
		return deleted, left, errors.Join(append(errs, err)...)
	}
	for _, g := range groups {
		if !ownership.CreatedBy(groupTags(g), lbName, execution) {
			continue
		}
		id := aws.ToString(g.GroupId)
		res := step.Resource{Kind: KindSecurityGroup, ID: id}
		if lbLeft {
			left = append(left, res)
			errs = append(errs, fmt.Errorf("delete security group %s: load balancer %s is still there", id, lbName))

			continue
		}
		if err := deleteGroup(ctx, c.EC2, id); err != nil {
			left = append(left, res)
			errs = append(errs, err)

			continue
		}
		res.Action = step.Deleted
		deleted = append(deleted, res)
	}

	return deleted, left, errors.Join(errs...)
}

// deleteLoadBalancer deletes arn and waits, within bounds, until it is gone.
func deleteLoadBalancer(ctx context.Context, e ELBv2, arn string) error {
	_, err := e.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
	if err != nil && steperr.ErrorCode(err) != codeLBNotFound {
		return fmt.Errorf("delete load balancer %s: %w", arn, err)
	}

	for i := 0; ; i++ {
		out, err := e.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
		if steperr.ErrorCode(err) == codeLBNotFound || (err == nil && len(out.LoadBalancers) == 0) {
			return nil
		}
		// Still there (or the check failed): the security group delete
		// retries on DependencyViolation anyway, so stop waiting at the bound.
		if i == len(lbGoneDelays) {
			return nil
		}
		if err := sleep(ctx, lbGoneDelays[i]); err != nil {
			return nil
		}
	}
}

// deleteGroup deletes the security group id, retrying DependencyViolation
// with the bounded backoff groupDeleteDelays.
func deleteGroup(ctx context.Context, e EC2, id string) error {
	for i := 0; ; i++ {
		_, err := e.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
		code := steperr.ErrorCode(err)
		if err == nil || code == codeGroupNotFound {
			return nil
		}
		if code != codeDependency || i == len(groupDeleteDelays) {
			return fmt.Errorf("delete security group %s: %w", id, err)
		}
		if serr := sleep(ctx, groupDeleteDelays[i]); serr != nil {
			return fmt.Errorf("delete security group %s: %w (gave up: %w)", id, err, serr)
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
