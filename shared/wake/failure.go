package wake

import (
	"context"
	"time"

	"github.com/autostop/autostop/shared/steperr"
)

// FailureResult is the RecordFailure step's output.
type FailureResult struct {
	// Reason recorded as the rule's lastError.
	Reason string `json:"reason"`
	// Recorded is false when the rule had left this wake already.
	Recorded bool `json:"recorded"`
}

// MaxReasonLength bounds the lastError shown to clients.
const MaxReasonLength = steperr.MaxReasonLength

// RecordFailure puts the rule back to stopped with the wake's error as its
// last error, so the proxy shows it and the next request wakes again. The
// instances are left as they are.
func RecordFailure(ctx context.Context, d Deps, in Input) (FailureResult, error) {
	at, err := time.Parse(time.RFC3339Nano, in.WakeRequestedAt)
	if err != nil {
		return FailureResult{}, steperr.Invalid("wakeRequestedAt %q is not a time: %v", in.WakeRequestedAt, err)
	}
	res := FailureResult{Reason: Reason(in.Error)}
	res.Recorded, err = d.Rules.FailWake(ctx, in.Host, at, res.Reason)

	return res, err
}

// Reason turns a caught error into a sentence: the function's errorMessage
// when the cause is a Lambda error document, else the cause or the name.
func Reason(e *CaughtError) string {
	if e == nil {
		return "the wake failed"
	}

	return steperr.Reason(e.Error, e.Cause, "the wake failed")
}
