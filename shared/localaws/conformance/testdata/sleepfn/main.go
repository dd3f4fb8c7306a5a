// Command sleepfn is a test Lambda function that is slow on purpose: it
// sleeps for the event's "sleepSeconds" (fractions allowed) and then
// answers {"slept": sleepSeconds}, so Step Functions and Lambda timeouts
// can be checked against a function that takes a known time. It ignores its
// context's deadline, as a function busy in a call does.
//
// Every invocation first appends one line to the file named by the event's
// "counter" field (if set), so a test can count attempts, timed-out ones
// included.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	SleepSeconds float64 `json:"sleepSeconds"`
	Counter      string  `json:"counter"`
}

func handle(_ context.Context, raw json.RawMessage) (map[string]any, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}

	if ev.Counter != "" {
		f, err := os.OpenFile(ev.Counter, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("open counter: %w", err)
		}
		_, werr := f.WriteString("x\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("write counter: %w", werr)
		}
	}

	time.Sleep(time.Duration(ev.SleepSeconds * float64(time.Second)))

	return map[string]any{"slept": ev.SleepSeconds}, nil
}

func main() {
	lambda.Start(handle)
}
