// Command failfn is a test Lambda function that fails with typed errors, as
// the project's step functions do, so Step Functions Retry and Catch can be
// checked against the error names AWS reports.
//
// Every invocation appends one line to the file named by the event's
// "counter" field (if set), so a test can count attempts. The event's
// "fail" field names the error type to return: "Throttled" or
// "InvalidRequest". With "failTimes" > 0 only the first failTimes
// invocations (as counted in the counter file) fail; later ones succeed.
// The aws-lambda-go runtime reports the returned value's type name as the
// error payload's errorType.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
)

// Throttled is a retryable error.
type Throttled struct{ Message string }

func (e *Throttled) Error() string { return e.Message }

// InvalidRequest is a permanent error.
type InvalidRequest struct{ Message string }

func (e *InvalidRequest) Error() string { return e.Message }

type event struct {
	Counter   string `json:"counter"`
	Fail      string `json:"fail"`
	FailTimes int    `json:"failTimes"`
}

func handle(_ context.Context, raw json.RawMessage) (map[string]any, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}

	attempt, err := count(ev.Counter)
	if err != nil {
		return nil, err
	}

	if ev.Fail != "" && (ev.FailTimes == 0 || attempt <= ev.FailTimes) {
		msg := fmt.Sprintf("attempt %d failed on purpose", attempt)
		switch ev.Fail {
		case "Throttled":
			return nil, &Throttled{Message: msg}
		case "InvalidRequest":
			return nil, &InvalidRequest{Message: msg}
		default:
			return nil, fmt.Errorf("unknown error type %q", ev.Fail)
		}
	}

	return map[string]any{"ok": true, "attempt": attempt}, nil
}

// count appends a line to path and returns the number of lines, this
// invocation's included. Without a path it returns 1.
func count(path string) (int, error) {
	if path == "" {
		return 1, nil
	}

	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("open counter: %w", err)
	}
	if _, err := f.WriteString("x\n"); err != nil {
		_ = f.Close()
		return 0, fmt.Errorf("write counter: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("close counter: %w", err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read counter: %w", err)
	}

	return strings.Count(string(data), "\n"), nil
}

func main() {
	lambda.Start(handle)
}
