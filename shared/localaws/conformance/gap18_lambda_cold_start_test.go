package conformance

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/autostop/autostop/shared/localaws"
	"github.com/autostop/autostop/shared/localaws/localawstest"
)

// TestGap18LambdaInvokeWaitsForColdStart: an Invoke sent before the
// function's process has polled the runtime API waits for it, as AWS waits
// through a cold start, instead of failing.
func TestGap18LambdaInvokeWaitsForColdStart(t *testing.T) {
	ctx := t.Context()
	b := localawstest.Start(t)
	cfg, err := b.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := lambda.NewFromConfig(cfg)
	bin := localawstest.BuildFunction(t, "../testdata/echo")

	if _, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("gap18-cold"), Role: aws.String(localaws.LambdaRoleARN), Runtime: lambdatypes.RuntimeProvidedal2023,
		Handler: aws.String("bootstrap"), Code: &lambdatypes.FunctionCode{ZipFile: []byte("gap18 code")},
	}); err != nil {
		t.Fatal(err)
	}

	// Start the process a little after the invocation.
	started := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		started <- b.StartFunction(ctx, localaws.FunctionProcess{Name: "gap18-cold", Binary: bin})
	}()

	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gap18-cold"), Payload: []byte(`{"cold":true}`)})
	if err != nil {
		t.Fatalf("Invoke before the runtime polled: %v (want it to wait for the cold start)", err)
	}
	if out.FunctionError != nil {
		t.Fatalf("function error %s: %s", aws.ToString(out.FunctionError), out.Payload)
	}
	if err := <-started; err != nil {
		t.Fatal(err)
	}
}
