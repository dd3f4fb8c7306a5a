package targetgroup

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TaggedLister lists target groups and reads their tags.
type TaggedLister interface {
	Finder
	TagReader
}

// Tagged is a target group with its tags.
type Tagged struct {
	Group elbtypes.TargetGroup
	Tags  map[string]string
}

// ARN is the group's ARN.
func (t Tagged) ARN() string { return aws.ToString(t.Group.TargetGroupArn) }

// ListTagged lists the region's target groups (every page) that keep
// accepts (nil: all) and reads their tags (TagsOf: only theirs, so a
// filter on the name or type saves DescribeTags calls), in listing order.
// A group deleted between the listing and its tags is left out.
func ListTagged(ctx context.Context, e TaggedLister, keep func(elbtypes.TargetGroup) bool) ([]Tagged, error) {
	var groups []elbtypes.TargetGroup
	pages := elbv2.NewDescribeTargetGroupsPaginator(e, &elbv2.DescribeTargetGroupsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list target groups: %w", err)
		}
		for _, g := range page.TargetGroups {
			if keep == nil || keep(g) {
				groups = append(groups, g)
			}
		}
	}
	arns := make([]string, len(groups))
	for i, g := range groups {
		arns[i] = aws.ToString(g.TargetGroupArn)
	}
	tags, err := TagsOf(ctx, e, arns)
	if err != nil {
		return nil, err
	}
	var out []Tagged
	for _, g := range groups {
		if t, ok := tags[aws.ToString(g.TargetGroupArn)]; ok {
			out = append(out, Tagged{Group: g, Tags: t})
		}
	}

	return out, nil
}
