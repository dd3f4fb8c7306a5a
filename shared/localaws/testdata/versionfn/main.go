// Command versionfn is a test Lambda function: it answers the function
// version it runs as, the build it is (set with -ldflags "-X main.build=…")
// and its process ID, to tell which code serves a version. With "sleepMillis"
// it holds the invocation that long; with "listFunctions" it makes an AWS
// call (ListFunctions) first, to see who the proxy records it as.
package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
)

// build names the build; set at link time.
var build = "unset"

func main() {
	lambda.Start(func(ctx context.Context, event json.RawMessage) (map[string]any, error) {
		var in struct {
			SleepMillis   int  `json:"sleepMillis"`
			ListFunctions bool `json:"listFunctions"`
		}
		_ = json.Unmarshal(event, &in)
		if in.ListFunctions {
			cfg, err := config.LoadDefaultConfig(ctx)
			if err != nil {
				return nil, err
			}
			if _, err := awslambda.NewFromConfig(cfg).ListFunctions(ctx, &awslambda.ListFunctionsInput{}); err != nil {
				return nil, err
			}
		}
		select {
		case <-time.After(time.Duration(in.SleepMillis) * time.Millisecond):
		case <-ctx.Done():
		}
		return map[string]any{
			"version": os.Getenv("AWS_LAMBDA_FUNCTION_VERSION"), "build": build, "pid": os.Getpid(),
			"function": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"), "greeting": os.Getenv("GREETING"),
		}, nil
	})
}
