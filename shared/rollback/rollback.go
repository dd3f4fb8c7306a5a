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

// Run is one rollback pass: it calls every deleter in order — DNS
// records, listeners, load balancer and security group, target group and
// permission, certificate — and keeps going after a failure, so one stuck
// resource does not strand the others.
//
// What AWS still holds (steperr.StillInUse: a security group the deleted
// ALB's network interfaces use for minutes, a certificate a listener just
// released) is listed in Waiting with State "waiting", so the state machine
// waits and runs the rollback again (the next pass receives this result as
// in.Rollback and keeps its Deleted list), up to
// in.Timing.RollbackMaxAttempts passes. Waiting never sleeps in the Lambda.
// When nothing waits but something is left, or the last pass still waits,
// it returns the result with a RollbackIncomplete error naming the
// leftovers and the original error.
//
// An empty in.Execution is refused with InvalidRequest before any deleter
// runs: to the deleters it means "everything autostop created for the load
// balancer, whatever execution created it" (the DeleteLoadBalancer
// workflow), which a rollback must never delete.
func Run(ctx context.Context, in step.Input, deleters []Deleter) (step.RollbackResult, error) {
	if err := requireExecution(in); err != nil {
		return step.RollbackResult{Deleted: []step.Resource{}, Left: []step.Resource{}, State: step.RollbackDone}, err
	}
	res := step.RollbackResult{Deleted: []step.Resource{}, Left: []step.Resource{}, Attempts: 1, State: step.RollbackDone}
	if prev := in.Rollback; prev != nil {
		res.Deleted = append(res.Deleted, prev.Deleted...)
		res.Attempts = prev.Attempts + 1
	}

	var (
		failures      []string
		failedForGood bool                // a failure other than StillInUse
		waiting       = map[string]bool{} // kind/id of what AWS still holds
	)
	for _, d := range deleters {
		deleted, left, err := d.Delete(ctx, in)
		res.Deleted = append(res.Deleted, deleted...)
		inUse, rest := steperr.SplitInUse(err)
		for _, w := range inUse {
			waiting[w.Kind+"/"+w.ID] = true
			res.Waiting = append(res.Waiting, step.Resource{Kind: w.Kind, ID: w.ID, Action: step.Created})
			failures = append(failures, fmt.Sprintf("%s: %v", d.Name, w))
		}
		for _, l := range left {
			if !waiting[l.Kind+"/"+l.ID] {
				res.Left = append(res.Left, l)
			}
		}
		if rest != nil {
			failedForGood = true
			failures = append(failures, fmt.Sprintf("%s: %v", d.Name, rest))
		}
	}

	switch {
	case len(res.Waiting) == 0 && len(res.Left) == 0 && len(failures) == 0:
		return res, nil
	case len(res.Waiting) > 0 && len(res.Left) == 0 && !failedForGood && res.Attempts < in.Timing.RollbackMaxAttempts:
		res.State = step.RollbackWaiting
		return res, nil
	}

	// Out of passes, or something failed for good: what still waits is left.
	res.Left = append(res.Left, res.Waiting...)
	res.Waiting = nil
	var b strings.Builder
	fmt.Fprintf(&b, "rollback of execution %s left resources behind", in.Execution)
	if res.Attempts > 1 {
		fmt.Fprintf(&b, " after %d passes", res.Attempts)
	}
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

// requireExecution refuses a rollback without an execution: the deleters
// would take it for the whole load balancer (see Run).
func requireExecution(in step.Input) error {
	if in.Execution == "" {
		return steperr.Invalid("rollback of load balancer %q: no execution given; a rollback deletes only what its own execution created, "+
			"and an empty execution would mean everything of the load balancer", in.Spec.Name)
	}

	return nil
}
