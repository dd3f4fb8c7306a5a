package ruletarget

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/rule"
	"github.com/autostop/autostop/shared/ruledoc"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// DescribeInstances describes the instances by ID. EC2 fails the whole call
// when one ID does not exist (InvalidInstanceID.NotFound): then each is
// described on its own, and the missing ones are returned in missing
// (malformed IDs too). Every other error is returned as it is.
func DescribeInstances(ctx context.Context, c InstanceDescriber, ids []string) (found map[string]ec2types.Instance, missing []string, err error) {
	found = map[string]ec2types.Instance{}
	if len(ids) == 0 {
		return found, nil, nil
	}
	err = describeInto(ctx, c, ids, found)
	if !steperr.HasCode(err, codeInstanceNotFound, codeInstanceMalformed) {
		return found, nil, err
	}
	for _, id := range ids {
		err := describeInto(ctx, c, []string{id}, found)
		switch {
		case steperr.HasCode(err, codeInstanceNotFound, codeInstanceMalformed):
			missing = append(missing, id)
		case err != nil:
			return nil, nil, err
		}
	}

	return found, missing, nil
}

func describeInto(ctx context.Context, c InstanceDescriber, ids []string, found map[string]ec2types.Instance) error {
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{InstanceIds: ids})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe instances %s: %w", strings.Join(ids, ", "), err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				found[aws.ToString(inst.InstanceId)] = inst
			}
		}
	}

	return nil
}

// instanceTag returns the value of an instance's tag ("" when absent).
func instanceTag(inst ec2types.Instance, key string) string {
	for _, t := range inst.Tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}

	return ""
}

// RuleTag returns the host an instance's autostop:rule tag names ("" when
// untagged).
func RuleTag(inst ec2types.Instance) string { return instanceTag(inst, ownership.RuleKey) }

// Untag removes the tag autostop:rule=<host> from those of the instances
// that carry it with this value, and reports each one removed (or, when
// the call failed, left). Instances tagged for another host, untagged or
// gone are left alone (the value is also in the DeleteTags call: EC2
// deletes a tag only when its value matches). Nothing to remove makes no
// mutating call.
func Untag(ctx context.Context, c EC2, host string, ids []string) (deleted, left []step.Resource, err error) {
	host = rule.NormalizeHost(host)
	instances, _, err := DescribeInstances(ctx, c, ids)
	if err != nil {
		return nil, nil, err
	}
	var tagged []string
	for _, id := range ids {
		if inst, ok := instances[id]; ok && RuleTag(inst) == host {
			tagged = append(tagged, id)
		}
	}
	if len(tagged) == 0 {
		return nil, nil, nil
	}

	_, err = c.DeleteTags(ctx, &ec2.DeleteTagsInput{
		Resources: tagged,
		Tags:      []ec2types.Tag{{Key: aws.String(ownership.RuleKey), Value: aws.String(host)}},
	})
	for _, id := range tagged {
		r := step.Resource{Kind: ruledoc.KindInstanceTag, ID: id}
		if err != nil {
			left = append(left, r)
			continue
		}
		r.Action = step.Deleted
		deleted = append(deleted, r)
	}
	if err != nil {
		return deleted, left, fmt.Errorf("remove tag %s=%s from instances %s: %w", ownership.RuleKey, host, strings.Join(tagged, ", "), err)
	}

	return deleted, nil, nil
}
