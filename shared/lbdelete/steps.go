package lbdelete

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/autostop/autostop/shared/step"
	"github.com/autostop/autostop/shared/steperr"
)

// Deleter deletes one kind of the load balancer's resources: what carries
// its tag, whatever execution created it.
type Deleter func(ctx context.Context, in Input) (deleted, left []step.Resource, err error)

// Step runs one deletion step: it calls del, adds what it deleted to what
// earlier passes of the same step deleted (prev), and
//   - returns State "waiting" when AWS still holds something
//     (steperr.StillInUse) and passes are left: the state machine waits
//     and runs the step again;
//   - fails with DeletionIncomplete when something is left (a resource it
//     may not delete as it is, or still held after the last pass), naming
//     it and what the whole load balancer has left;
//   - fails with del's error otherwise (retried by the state machine when
//     transient).
func Step(ctx context.Context, in Input, prev *Result, name string, del Deleter) (Result, error) {
	if in.Found == nil {
		return Result{}, steperr.Invalid("%s: the input has no FindLoadBalancer result", name)
	}
	res := Result{Deleted: []step.Resource{}, State: StateDone, Attempts: 1}
	if prev != nil {
		res.Deleted = append(res.Deleted, prev.Deleted...)
		res.Attempts = prev.Attempts + 1
	}

	deleted, left, err := del(ctx, in)
	res.Deleted = append(res.Deleted, deleted...)
	inUse, rest := steperr.SplitInUse(err)
	if rest != nil {
		return res, fmt.Errorf("%s of load balancer %s: %w", name, in.Request.Name, rest)
	}
	waiting := map[string]bool{}
	for _, w := range inUse {
		waiting[w.Kind+"/"+w.ID] = true
		res.Waiting = append(res.Waiting, step.Resource{Kind: w.Kind, ID: w.ID, Action: step.Created})
	}
	// What AWS still holds is also in left (the deleters report it both
	// ways): it waits, it is not left for good.
	left = slices.DeleteFunc(left, func(r step.Resource) bool { return waiting[r.Kind+"/"+r.ID] })
	if len(left) > 0 {
		return res, &steperr.DeletionIncomplete{Message: fmt.Sprintf("%s of load balancer %s: left %s (not autostop's to delete as they are)",
			name, in.Request.Name, describe(left))}
	}
	if len(res.Waiting) > 0 {
		if res.Attempts >= in.Timing.MaxAttempts {
			return res, &steperr.DeletionIncomplete{Message: fmt.Sprintf("%s of load balancer %s: AWS still holds %s after %d tries; run the deletion again later",
				name, in.Request.Name, describe(res.Waiting), res.Attempts)}
		}
		res.State = StateWaiting
	}

	return res, nil
}

// AnyExecution is the provisioning deleters' execution argument meaning
// "whatever execution created it": the whole load balancer.
const AnyExecution = ""

// Handler is a deletion step's Lambda handler: Step over del, reading the
// step's previous pass from prev, logged and with mapped errors.
func Handler(log *slog.Logger, name string, prev func(Results) *Result, del Deleter) func(context.Context, Input) (Result, error) {
	return steperr.Logged(log, name, func(in Input) []any { return []any{"execution", in.Execution, "loadBalancer", in.Request.Name} },
		func(ctx context.Context, in Input) (Result, error) {
			return Step(ctx, in, prev(in.Results), name, del)
		})
}
