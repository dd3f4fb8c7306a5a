// Command echo is a test Lambda function: it returns its input event and the
// function name it was started as.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, event json.RawMessage) (map[string]any, error) {
		return map[string]any{"event": event, "function": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), "greeting": os.Getenv("GREETING")}, nil
	})
}
