package sleep

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/rulestore"
)

// FinishResult is the Finish step's output.
type FinishResult struct {
	// Superseded: the rule is no longer in this sleep; nothing was done.
	Superseded bool `json:"superseded"`
	// State the sleep left the rule in (stopped), since StoppedAt.
	State     rulestore.State `json:"state,omitempty"`
	StoppedAt string          `json:"stoppedAt,omitempty"`
	// Broken is why the rule cannot be woken any more, when an instance
	// was terminated outside autostop.
	Broken string `json:"broken,omitempty"`
	// EndedEarlier: an earlier try of this step had recorded the rule
	// stopped already; only the wake was left to do.
	EndedEarlier bool `json:"endedEarlier,omitempty"`
	// What became of a wake a request asked for meanwhile.
	WakeResult
}

// WakeResult says what a sleep's last step did about a wake a request
// asked for while the rule was stopping (rulestore.WantWake).
type WakeResult struct {
	// WakeWanted: a request asked for it.
	WakeWanted bool `json:"wakeWanted"`
	// Woke: this step started the wake, its WakeRule execution named
	// WakeExecution (false: the rule is broken, or something else woke it
	// first).
	Woke            bool   `json:"woke"`
	WakeRequestedAt string `json:"wakeRequestedAt,omitempty"`
	WakeExecution   string `json:"wakeExecution,omitempty"`
	// WakeError: the wake's workflow could not be started; the reason is
	// the rule's last error (it is stopped: the next request tries again).
	WakeError string `json:"wakeError,omitempty"`
}

// Finish records the rule stopped, and broken when an instance was
// terminated (or went missing) outside autostop. When a request asked for
// a wake while it was stopping, it starts that wake now that the instances
// are stopped. A retry after the rule was recorded stopped goes on with
// the wake.
func Finish(ctx context.Context, d Deps, in Input) (FinishResult, error) {
	var res FinishResult
	it, at, ok, err := current(ctx, d, in)
	switch {
	case err != nil:
		return res, err
	case ok:
		var changed bool
		it, changed, err = d.Rules.FinishSleep(ctx, in.Host, at, stoppedAt(in, d.now()), BrokenReason(terminated(in)))
		if err != nil {
			return res, err
		}
		if !changed { // superseded since the read
			res.Superseded = true
			return res, nil
		}
	case endedBy(it, at):
		res.EndedEarlier = true
	default:
		res.Superseded = true
		return res, nil
	}
	res.State, res.Broken = it.State, it.Broken
	if !it.StoppedAt.IsZero() {
		res.StoppedAt = it.StoppedAt.UTC().Format(rulestore.TimeFormat)
	}
	res.WakeResult, err = wakeIfWanted(ctx, d, it)

	return res, err
}

// stoppedAt is when WaitStopped saw every instance stopped, else now.
func stoppedAt(in Input, now time.Time) time.Time {
	if in.Wait != nil {
		if t, err := time.Parse(time.RFC3339Nano, in.Wait.StoppedAt); err == nil {
			return t
		}
	}

	return now
}

// terminated lists the instances StopInstances or WaitStopped found
// terminated or missing.
func terminated(in Input) []string {
	var ids []string
	if in.Stop != nil {
		ids = append(ids, in.Stop.Terminated...)
	}
	if in.Wait != nil {
		ids = append(ids, in.Wait.Terminated...)
	}
	slices.Sort(ids)

	return slices.Compact(ids)
}

// BrokenReason is the rule's broken reason for instances terminated
// outside autostop ("" for none).
func BrokenReason(terminated []string) string {
	switch len(terminated) {
	case 0:
		return ""
	case 1:
		return "instance " + terminated[0] + " was terminated outside autostop; detach and attach the rule again"
	default:
		return "instances " + strings.Join(terminated, ", ") + " were terminated outside autostop; detach and attach the rule again"
	}
}

// wakeIfWanted starts the wake a request asked for while the rule was
// stopping, once it is stopped: proxymanager.BeginWake, as the proxy does
// (of it and a request racing, one starts the wake). A broken rule is never
// woken. An error is returned only when nothing was changed (the rule
// could not be read or written), so that a retry wakes it; a workflow that
// could not be started is in the result (BeginWake put the rule back to
// stopped with the reason).
func wakeIfWanted(ctx context.Context, d Deps, it rulestore.Item) (WakeResult, error) {
	res := WakeResult{WakeWanted: it.WakeWanted}
	if !it.WakeWanted || it.State != rulestore.Stopped || it.Broken != "" {
		return res, nil
	}
	if d.Waker == nil {
		return res, errors.New("a wake is wanted but this function cannot start one: WAKE_STATE_MACHINE_ARN is not configured")
	}
	now, won, err := proxymanager.BeginWake(ctx, d.Rules, d.Waker, it.Host, d.now().Add(-proxymanager.DefaultStaleWakeAfter))
	switch {
	case err != nil && !won:
		return res, fmt.Errorf("wake rule %s, asked for while it was stopping: %w", it.Rule.Name, err)
	case err != nil:
		res.WakeError = err.Error()
	case won:
		res.Woke = true
		res.WakeRequestedAt = now.WakeRequestedAt.UTC().Format(rulestore.TimeFormat)
		res.WakeExecution = proxymanager.WakeExecutionName(now)
	}

	return res, nil
}
