// Package awsenv builds the AWS SDK configuration of a Lambda function from
// the environment the Lambda service gives it: AWS_REGION, the execution
// role's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, and
// the SDK's standard endpoint override AWS_ENDPOINT_URL.
//
// It reads the same variables config.LoadDefaultConfig reads for these, but
// without linking the shared-config, SSO, STS and IMDS code a function never
// uses: that keeps each step's bootstrap under 10 MB.
package awsenv

import (
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// DefaultRequestMinCompressSizeBytes is the SDK's default threshold for
// compressing a request body.
const DefaultRequestMinCompressSizeBytes = 10240

// Config returns the function's SDK configuration. It fails when the region
// or the credentials are missing, as they never are inside Lambda.
func Config() (aws.Config, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("aws config: AWS_REGION is not set")
	}

	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, errors.New("aws config: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}

	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))),
		// config.LoadDefaultConfig's default: only request bodies of 10
		// KiB or more are gzipped (CloudWatch's PutMetricData). The zero
		// value would compress every one, however small.
		RequestMinCompressSizeBytes: DefaultRequestMinCompressSizeBytes,
	}
	if endpoint := os.Getenv("AWS_ENDPOINT_URL"); endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}

	return cfg, nil
}

// Setup is how a function main starts: a JSON logger on stdout (the Lambda
// log format) and the SDK configuration. Without a configuration there is
// nothing a step can do, so it logs the reason and exits.
func Setup() (aws.Config, *slog.Logger) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))

	cfg, err := Config()
	if err != nil {
		log.Error("load AWS config", "error", err)
		os.Exit(1)
	}

	return cfg, log
}
