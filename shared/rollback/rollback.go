// Package rollback undoes a failed provisioning execution: it deletes, in
// reverse dependency order, only what carries this execution's ownership tag
// (DNS records only when their TXT record says so), treats "not found" as
// done, and reports what it deleted and what is left. It never deletes an
// adopted resource or anything autostop did not create.
package rollback

import (
	"context"
	"fmt"
	"strings"

	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// Deleter removes one kind of resource created by an execution.
type Deleter struct {
	// Name says what it deletes ("dns records", "listeners", …).
	Name string
	// Delete removes what in.Execution created for in.Spec.Name and returns
	// what it deleted and what it had to leave.
	Delete func(ctx context.Context, in step.Input) (deleted, left []step.Resource, err error)
}

// Run calls every deleter in order — DNS records, listeners, load balancer
// and security group, target group and permission, certificate — and keeps
// going after a failure, so one stuck resource does not strand the others.
// When anything is left it returns the result together with a
// RollbackIncomplete error naming the leftovers and the original error.
func Run(ctx context.Context, in step.Input, deleters []Deleter) (step.RollbackResult, error) {
	res := step.RollbackResult{Deleted: []step.Resource{}, Left: []step.Resource{}}

	var failures []string
	for _, d := range deleters {
		deleted, left, err := d.Delete(ctx, in)
		res.Deleted = append(res.Deleted, deleted...)
		res.Left = append(res.Left, left...)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", d.Name, err))
		}
	}

	if len(res.Left) == 0 && len(failures) == 0 {
		return res, nil
	}

	var b strings.Builder
	fmt.Fprintf(&b, "rollback of execution %s left resources behind", in.Execution)
	for _, r := range res.Left {
		fmt.Fprintf(&b, "; left %s %s", r.Kind, r.ID)
	}
	for _, f := range failures {
		fmt.Fprintf(&b, "; failed %s", f)
	}
	if in.Error != nil {
		fmt.Fprintf(&b, "; original error %s: %s", in.Error.Error, in.Error.Cause)
	}

	return res, &steperr.RollbackIncomplete{Message: b.String()}
}
