// Command albecho is a test Lambda function for an ALB target group: it
// answers 200 with the event it received as a JSON body, in the header
// shape the target group expects (multi-value when the event is).
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, raw json.RawMessage) (events.ALBTargetGroupResponse, error) {
		var ev events.ALBTargetGroupRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return events.ALBTargetGroupResponse{}, err
		}
		resp := events.ALBTargetGroupResponse{StatusCode: 200, Body: string(raw)}
		fn := os.Getenv("AWS_LAMBDA_FUNCTION_NAME")
		if ev.MultiValueHeaders != nil {
			resp.MultiValueHeaders = map[string][]string{"Content-Type": {"application/json"}, "X-Function": {fn}, "X-Echo": {"1", "2"}}
		} else {
			resp.Headers = map[string]string{"Content-Type": "application/json", "X-Function": fn}
		}
		return resp, nil
	})
}
