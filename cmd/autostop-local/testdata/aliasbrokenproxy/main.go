// Command aliasbrokenproxy stands in for a proxy build whose fault shows
// only once it serves: invoked as a version (UpdateProxyCode's test
// invocation) it answers like the proxy does for an unknown host (404);
// invoked through an alias (as the load balancer's target group invokes
// the proxy) it answers 502. TestOperatorCLI rolls it out to see the
// alias moved back after the verification through the target fails.
package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() {
	lambda.Start(func(ctx context.Context, _ events.ALBTargetGroupRequest) (events.ALBTargetGroupResponse, error) {
		status, body := 404, `{"message":"no AutoStopping rule for this host"}`
		if lc, ok := lambdacontext.FromContext(ctx); ok && throughAlias(lc.InvokedFunctionArn) {
			status, body = 502, `{"message":"broken once served"}`
		}
		return events.ALBTargetGroupResponse{
			StatusCode: status, StatusDescription: "", Body: body,
			MultiValueHeaders: map[string][]string{"content-type": {"application/json"}},
		}, nil
	})
}

// throughAlias says whether arn (function:name[:qualifier]) names an alias.
func throughAlias(arn string) bool {
	parts := strings.Split(arn, ":")
	if len(parts) != 8 {
		return false
	}
	_, err := strconv.Atoi(parts[7]) // a version number
	return parts[7] != "$LATEST" && err != nil
}
