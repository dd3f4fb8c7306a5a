// Command echo is a test Lambda function: it returns its input event, the
// function name it was started as and its process ID, after sleeping the
// event's "sleepMillis" (to hold an invocation, as a held request does).
package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, event json.RawMessage) (map[string]any, error) {
		var in struct {
			SleepMillis int `json:"sleepMillis"`
		}
		_ = json.Unmarshal(event, &in)
		select {
		case <-time.After(time.Duration(in.SleepMillis) * time.Millisecond):
		case <-ctx.Done():
		}
		return map[string]any{
			"event": event, "function": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), "greeting": os.Getenv("GREETING"), "pid": os.Getpid(),
		}, nil
	})
}
