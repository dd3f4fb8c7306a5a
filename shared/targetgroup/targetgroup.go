// Package targetgroup holds the target-group operations the proxy target
// (shared/proxytarget) and the rules' instance targets (shared/ruletarget)
// share: find by name, read tags (of any Elastic Load Balancing resource), deregister every target, delete with
// retries while the group is still in use; and, for the DeleteLoadBalancer
// workflow, the deletion of every target group a load balancer owns
// (DeleteOwnedBy).
package targetgroup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/steperr"
)

// AWS error codes.
const (
	CodeNotFound      = "TargetGroupNotFound"
	CodeResourceInUse = "ResourceInUse"
)

// Finder describes target groups by name.
type Finder interface {
	DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error)
}

// TagReader reads resource tags.
type TagReader interface {
	DescribeTags(ctx context.Context, in *elbv2.DescribeTagsInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error)
}

// Deregisterer lists and deregisters targets.
type Deregisterer interface {
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
	DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput, optFns ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error)
}

// Deleter deletes target groups.
type Deleter interface {
	DeleteTargetGroup(ctx context.Context, in *elbv2.DeleteTargetGroupInput, optFns ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error)
}

// Find returns the target group called name, nil when there is none.
func Find(ctx context.Context, e Finder, name string) (*elbtypes.TargetGroup, error) {
	out, err := e.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
	if steperr.HasCode(err, CodeNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe target group %s: %w", name, err)
	}
	for i := range out.TargetGroups {
		if aws.ToString(out.TargetGroups[i].TargetGroupName) == name {
			return &out.TargetGroups[i], nil
		}
	}

	return nil, nil
}

// Tags returns an Elastic Load Balancing resource's tags as a map.
func Tags(ctx context.Context, e TagReader, arn string) (map[string]string, error) {
	out, err := e.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("describe tags of %s: %w", arn, err)
	}
	tags := map[string]string{}
	for _, d := range out.TagDescriptions {
		if aws.ToString(d.ResourceArn) != arn {
			continue
		}
		for _, t := range d.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}

	return tags, nil
}

// MaxTagARNs is how many resources one DescribeTags call may name.
const MaxTagARNs = 20

// TagsOf reads the tags of Elastic Load Balancing resources, MaxTagARNs a
// call, by ARN. A resource deleted since it was listed fails its whole call
// with a *NotFound error (TargetGroupNotFound, ListenerNotFound, …): that
// call's resources are then read one by one, and the missing one has no
// entry.
func TagsOf(ctx context.Context, e TagReader, arns []string) (map[string]map[string]string, error) {
	out := make(map[string]map[string]string, len(arns))
	read := func(arns []string) error {
		res, err := e.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: arns})
		if err != nil {
			return err
		}
		for _, d := range res.TagDescriptions {
			tags := make(map[string]string, len(d.Tags))
			for _, t := range d.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			out[aws.ToString(d.ResourceArn)] = tags
		}
		return nil
	}
	gone := func(err error) bool { return strings.HasSuffix(steperr.ErrorCode(err), "NotFound") }

	for chunk := range slices.Chunk(arns, MaxTagARNs) {
		err := read(chunk)
		if err == nil || (gone(err) && len(chunk) == 1) {
			continue
		}
		if !gone(err) {
			return nil, fmt.Errorf("describe tags of %s: %w", strings.Join(chunk, ", "), err)
		}
		for _, arn := range chunk {
			if err := read([]string{arn}); err != nil && !gone(err) {
				return nil, fmt.Errorf("describe tags of %s: %w", arn, err)
			}
		}
	}

	return out, nil
}

// IsLeaving reports whether a listed target is on its way out (draining) or
// not registered at all.
func IsLeaving(d elbtypes.TargetHealthDescription) bool {
	if d.TargetHealth == nil {
		return false
	}
	s := d.TargetHealth.State

	return s == elbtypes.TargetHealthStateEnumDraining ||
		s == elbtypes.TargetHealthStateEnumUnused && d.TargetHealth.Reason == elbtypes.TargetHealthReasonEnumNotRegistered
}

// DeregisterAll deregisters every registered target of the target group and
// returns them (also when the deregistration failed, with the error). A
// target group that is gone has none.
func DeregisterAll(ctx context.Context, e Deregisterer, tgARN string) ([]elbtypes.TargetDescription, error) {
	health, err := e.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tgARN)})
	if steperr.HasCode(err, CodeNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe targets of %s: %w", tgARN, err)
	}

	var targets []elbtypes.TargetDescription
	for _, d := range health.TargetHealthDescriptions {
		if d.Target == nil || IsLeaving(d) {
			continue
		}
		t := elbtypes.TargetDescription{Id: d.Target.Id}
		if aws.ToInt32(d.Target.Port) > 0 { // Lambda targets have none
			t.Port = d.Target.Port
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		return nil, nil
	}

	_, err = e.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tgARN), Targets: targets})
	if err != nil && !steperr.HasCode(err, CodeNotFound) {
		return targets, fmt.Errorf("deregister targets from %s: %w", tgARN, err)
	}

	return targets, nil
}

// Delete deletes the target group, retrying with doubling waits from
// backoff, up to attempts times, while AWS says it is in use; inUse reports
// that it still was after the last attempt. A group that is gone is done.
func Delete(ctx context.Context, e Deleter, arn string, attempts int, backoff time.Duration) (inUse bool, err error) {
	wait := backoff
	for attempt := 1; ; attempt++ {
		_, err := e.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
		switch {
		case err == nil, steperr.HasCode(err, CodeNotFound):
			return false, nil
		case !steperr.HasCode(err, CodeResourceInUse):
			return false, fmt.Errorf("delete target group %s: %w", arn, err)
		case attempt >= attempts:
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
