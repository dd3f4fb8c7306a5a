package targetgroup

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autostop/autostop/shared/ownership"
	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// KindTargetGroup is the Resource kind of a target group.
const KindTargetGroup = "target-group"

// Proxy target group names: "<lb>-proxy", cut to fit.
const (
	proxySuffix  = "-proxy"
	maxGroupName = 32
)

// ProxyName is the proxy target group's name for load balancer lb:
// "<lb>-proxy". Target group names are at most 32 characters while load
// balancer names may have 32 too, so a name longer than 26 characters is
// cut to its first 26 (trailing hyphens dropped) before the suffix
// (proxytarget.TargetGroupName is this).
func ProxyName(lb string) string {
	base := lb
	if limit := maxGroupName - len(proxySuffix); len(base) > limit {
		base = strings.TrimRight(base[:limit], "-")
	}

	return base + proxySuffix
}

// OwnedDeleter is what DeleteOwnedBy calls: it lists target groups and
// their tags, deregisters targets and deletes target groups.
type OwnedDeleter interface {
	Finder
	TagReader
	Deregisterer
	Deleter
}

// DeleteOwnedBy's attempts while AWS answers ResourceInUse (a listener rule
// still forwards to the group, or released it a moment ago): 1+2+4 s of
// waits at most, for the first group still in use only.
const (
	ownedDeleteAttempts = 4
	ownedDeleteBackoff  = time.Second
)

// DeleteOwnedBy deletes every target group of the region carrying load
// balancer lbName's ownership tags (ownership.OwnedByLoadBalancer,
// whichever execution created it) except its proxy target group
// (ProxyName: shared/proxytarget deletes it, with the invoke permission):
// the rules' target groups a partial detach left behind. It is part of the
// DeleteLoadBalancer workflow. Each group's targets are deregistered
// (DeregisterAll), then the group is deleted (Delete). Another load
// balancer's target groups and those without autostop's tags are never
// touched.
//
// deleted lists the groups removed (action "deleted"); left the ones still
// there (action "created"), and err says why: a group AWS still holds after
// the attempts (ResourceInUse) is a steperr.StillInUse, so the workflow
// waits and calls again; once one group stayed in use, the next ones get a
// single attempt each, which bounds the time spent waiting here. A group
// whose targets could not be deregistered is left and not deleted. A group
// gone meanwhile counts as done.
func DeleteOwnedBy(ctx context.Context, e OwnedDeleter, lbName string) (deleted, left []step.Resource, err error) {
	return deleteOwnedBy(ctx, e, lbName, ownedDeleteAttempts, ownedDeleteBackoff)
}

func deleteOwnedBy(ctx context.Context, e OwnedDeleter, lbName string, attempts int, backoff time.Duration) (deleted, left []step.Resource, err error) {
	if lbName == "" {
		return nil, nil, steperr.Invalid("delete the target groups of a load balancer: the load balancer name is required")
	}

	arns, err := ownedBy(ctx, e, lbName)
	if err != nil {
		return nil, nil, err
	}

	var errs []error
	for _, arn := range arns {
		res := step.Resource{Kind: KindTargetGroup, ID: arn, Action: step.Created}
		if _, err := DeregisterAll(ctx, e, arn); err != nil {
			left = append(left, res)
			errs = append(errs, err)

			continue
		}
		inUse, err := Delete(ctx, e, arn, attempts, backoff)
		switch {
		case err != nil:
			left = append(left, res)
			errs = append(errs, err)
		case inUse:
			left = append(left, res)
			errs = append(errs, steperr.InUse(KindTargetGroup, arn, "delete target group %s of load balancer %s: still in use", arn, lbName))
			attempts = 1
		default:
			res.Action = step.Deleted
			deleted = append(deleted, res)
		}
	}

	return deleted, left, errors.Join(errs...)
}

// ownedBy lists the ARNs of the target groups carrying lbName's ownership
// tags, its proxy target group excepted, in listing order.
func ownedBy(ctx context.Context, e OwnedDeleter, lbName string) ([]string, error) {
	proxy := ProxyName(lbName)
	groups, err := ListTagged(ctx, e, func(g elbtypes.TargetGroup) bool { return aws.ToString(g.TargetGroupName) != proxy })
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range groups {
		if ownership.OwnedByLoadBalancer(g.Tags, lbName) {
			out = append(out, g.ARN())
		}
	}

	return out, nil
}
