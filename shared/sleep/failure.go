package sleep

import (
	"context"
	"fmt"
	"time"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/steperr"
)

// FailureResult is the RecordFailure step's output.
type FailureResult struct {
	// Reason recorded as the rule's lastError.
	Reason string `json:"reason"`
	// Recorded is false when the rule had left this sleep already (or an
	// earlier try of this step had recorded it).
	Recorded bool `json:"recorded"`
	// State the rule was put back to: running when its host rule still
	// exists (its deletion failed: traffic still goes to the instances),
	// stopped otherwise (traffic reaches the proxy, whatever the instances
	// do).
	State rulestore.State `json:"state,omitempty"`
	// What became of a wake a request asked for meanwhile (rule stopped
	// only).
	WakeResult
}

// MaxReasonLength bounds the lastError shown to clients.
const MaxReasonLength = steperr.MaxReasonLength

// RecordFailure ends the failed sleep with its error as the rule's last
// error (rulestore.FailSleep): back to running while the host rule still
// exists, stopped otherwise, never a host rule forwarding to instances the
// sleep may have stopped. A rule that ends stopped is woken when a request
// asked for it meanwhile, as Finish does.
func RecordFailure(ctx context.Context, d Deps, in Input) (FailureResult, error) {
	at, err := requestedAt(in)
	if err != nil {
		return FailureResult{}, err
	}
	res := FailureResult{Reason: Reason(in.Error)}
	if err := clearDeletedHostRule(ctx, d, in.Host, at); err != nil {
		return res, err
	}
	it, changed, err := d.Rules.FailSleep(ctx, in.Host, at, res.Reason)
	if err != nil {
		return res, err
	}
	res.Recorded = changed
	if !changed {
		// Left the sleep: superseded, or ended by an earlier try of this
		// step or by Finish, whose wake is then still to be started.
		it, err = d.Rules.Get(ctx, in.Host, true)
		if err != nil {
			return res, err
		}
		if !endedBy(it, at) {
			return res, nil
		}
	}
	res.State = it.State
	res.WakeResult, err = wakeIfWanted(ctx, d, it)

	return res, err
}

// clearDeletedHostRule records the rule's host rule gone when it is: the
// failure came after RemoveHostRule had deleted it but before it could say
// so. FailSleep decides running or stopped from the item, and must never
// put a rule back to running without its host rule (the proxy would send
// its clients back to itself).
func clearDeletedHostRule(ctx context.Context, d Deps, host string, at time.Time) error {
	it, err := d.Rules.Get(ctx, host, true)
	if err != nil {
		return err
	}
	if it.ListenerRuleARN == "" || it.State != rulestore.Stopping || !it.SleepRequestedAt.Equal(at) {
		return nil
	}
	_, err = d.ELBv2(region(it)).DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: []string{it.ListenerRuleARN}})
	switch {
	case steperr.HasCode(err, "RuleNotFound"):
		if _, err := d.Rules.ClearHostRule(ctx, host, at); err != nil {
			return fmt.Errorf("record host rule %s of rule %s gone: %w", it.ListenerRuleARN, it.Rule.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("look up host rule %s of rule %s: %w", it.ListenerRuleARN, it.Rule.Name, err)
	default:
		return nil
	}
}

// Reason turns a caught error into a sentence: the function's errorMessage
// when the cause is a Lambda error document, else the cause, prefixed with
// the error's name.
func Reason(e *CaughtError) string {
	const failed = "the sleep failed"
	if e == nil {
		return failed
	}

	return steperr.Reason(e.Error, e.Cause, failed)
}
