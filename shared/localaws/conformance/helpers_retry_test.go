package conformance

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// errorCode is the API error code of err, its text when it has none, ""
// for nil.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	if err != nil {
		return err.Error()
	}

	return ""
}

// retryUntilClears calls call until it succeeds, requiring that it first
// fails with code at least once, only with code, and clears within 15 s:
// what realistic timing holds back for a few seconds.
func retryUntilClears(t *testing.T, what, code string, call func() error) {
	t.Helper()
	start := time.Now()
	failures := 0
	for {
		err := call()
		if err == nil {
			break
		}
		if got := errorCode(err); got != code {
			t.Fatalf("%s: got %v, want %s until it clears", what, err, code)
		}
		failures++
		if time.Since(start) > 15*time.Second {
			t.Fatalf("%s: still %s after %v", what, code, time.Since(start))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if failures == 0 {
		t.Errorf("%s: succeeded at once, want %s first", what, code)
	}
}
