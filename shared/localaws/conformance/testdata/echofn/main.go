// Command echofn is a test Lambda function: it returns its input event, the
// ECHO_TAG environment variable (which tells apart processes started for
// different versions of a function) and the ARN it was invoked as.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() {
	lambda.Start(func(ctx context.Context, event json.RawMessage) (map[string]any, error) {
		invokedARN := ""
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			invokedARN = lc.InvokedFunctionArn
		}

		return map[string]any{"event": event, "tag": os.Getenv("ECHO_TAG"), "invokedArn": invokedARN}, nil
	})
}
