// Package pause waits inside a step without outliving its context: the
// short, bounded waits a step makes between two calls to the same API (a
// resource AWS has just created and does not show yet). Long waits belong
// to the state machine, never to a Lambda.
package pause

import (
	"context"
	"time"
)

// For waits d, or until ctx ends (then it returns ctx's error). A d of zero
// or less returns at once with ctx's error, if any.
func For(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
