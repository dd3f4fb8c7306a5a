package loadbalancer

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// DeleteCreatedBy deletes the ALB named lbName and its default security
// group autostop-<lbName>, each only if its tags say execution created it
// (ownership.Owns): never an adopted ALB, never one another execution
// created, never anything that is not autostop's. "Not found" counts as
// done, so a second call is a no-op. It is the rollback of Ensure.
//
// An empty execution means any execution of lbName: the DeleteLoadBalancer
// workflow deletes the ALB and group autostop created for the load
// balancer, whichever execution created them (the security groups are then
// looked up by the load balancer's tag instead of the execution's). An
// adopted ALB carries no autostop tags and is never deleted, nor is
// anything of another load balancer's.
//
// deleted lists what this call removed; left lists what this execution
// created and is still there. err joins every failure (so steperr can tell
// throttling from the rest); left is non-empty only with a non-nil err. A
// security group AWS still holds (DependencyViolation: the deleted ALB's
// network interfaces linger for minutes) is a steperr.StillInUse, so the
// rollback waits in the state machine and calls again, never here.
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
		case ownership.Owns(tags, lbName, execution):
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
	groups, err := findGroups(ctx, c.EC2, name, "", scopeFilter(lbName, execution))
	if err != nil {
		return deleted, left, errors.Join(append(errs, err)...)
	}
	for _, g := range groups {
		if !ownership.Owns(groupTags(g), lbName, execution) {
			continue
		}
		id := aws.ToString(g.GroupId)
		res := step.Resource{Kind: KindSecurityGroup, ID: id}
		if lbLeft {
			left = append(left, res)
			errs = append(errs, steperr.InUse(KindSecurityGroup, id, "delete security group %s: load balancer %s is still there", id, lbName))

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

// scopeFilter narrows a security group listing to execution's groups, or,
// for an empty execution, to the load balancer's (the tags are checked
// again on the results).
func scopeFilter(lbName, execution string) ec2types.Filter {
	if execution == "" {
		return ec2types.Filter{Name: aws.String("tag:" + ownership.LoadBalancerKey), Values: []string{lbName}}
	}

	return ec2types.Filter{Name: aws.String("tag:" + ownership.ExecutionKey), Values: []string{execution}}
}

// deleteLoadBalancer deletes arn. The ALB may take a while to go; its
// security group's delete then answers DependencyViolation, which waits.
func deleteLoadBalancer(ctx context.Context, e ELBv2, arn string) error {
	_, err := e.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
	if err != nil && steperr.ErrorCode(err) != codeLBNotFound {
		return fmt.Errorf("delete load balancer %s: %w", arn, err)
	}

	return nil
}

// deleteGroup deletes the security group id. DependencyViolation (the ALB's
// network interfaces are still there) is a StillInUse.
func deleteGroup(ctx context.Context, e EC2, id string) error {
	_, err := e.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	switch code := steperr.ErrorCode(err); {
	case err == nil || code == codeGroupNotFound:
		return nil
	case code == codeDependency:
		return steperr.InUse(KindSecurityGroup, id, "delete security group %s: still in use (%v)", id, err)
	default:
		return fmt.Errorf("delete security group %s: %w", id, err)
	}
}
