package proxymanager

import (
	"context"
	"fmt"
	"time"

	"github.com/autostop/autostop/shared/rulestore"
)

// WakeRules is the part of the rules table a wake's start needs.
type WakeRules interface {
	BeginWake(ctx context.Context, host string, staleBefore time.Time) (rulestore.Item, bool, error)
	FailWake(ctx context.Context, host string, wakeRequestedAt time.Time, reason string) (bool, error)
}

// BeginWake moves a stopped (or stopping, or stale starting) rule to
// starting and, when this caller won that conditional write, starts its
// wake workflow. It returns the rule as it is now and whether this caller
// started the wake. A workflow that cannot be started puts the rule back to
// stopped with the reason (nothing else would move it on), and that error is
// returned with the rule as it is then.
//
// The proxy calls it for a request to a stopped rule; AttachRule for a rule
// whose instances already run, so that it is switched at once.
func BeginWake(ctx context.Context, rules WakeRules, waker Waker, host string, staleBefore time.Time) (rulestore.Item, bool, error) {
	it, won, err := rules.BeginWake(ctx, host, staleBefore)
	if err != nil || !won {
		return it, false, err
	}
	if err := waker.StartWake(ctx, it); err != nil {
		reason := "the wake could not be started: " + err.Error()
		if _, ferr := rules.FailWake(context.WithoutCancel(ctx), it.Host, it.WakeRequestedAt, reason); ferr != nil {
			return it, true, fmt.Errorf("%s; recording it failed too: %w", reason, ferr)
		}
		it.State, it.Phase, it.LastError = rulestore.Stopped, "", reason
		return it, true, fmt.Errorf("wake %s: %w", it.Host, err)
	}

	return it, true, nil
}
