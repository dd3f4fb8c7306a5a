package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go/logging"
)

// ClientOptions are the global flags that choose where the CLI talks to.
type ClientOptions struct {
	Region  string // --region; empty: the SDK's default
	Profile string // --profile; empty: AWS_PROFILE or the default profile
	Local   bool   // --local
}

// Endpoint says where the client talks to, for the messages.
type Endpoint struct {
	Region string
	URL    string // custom endpoint (AWS_ENDPOINT_URL or --local); empty: AWS
}

// errNoRegion is a usage error: the SDK found no region.
var errNoRegion = errors.New("no AWS region: pass --region or set AWS_REGION")

// LoadConfig loads the AWS SDK's standard configuration. --local only
// supplies what AWS_ENDPOINT_URL and dummy credentials would: the endpoint
// LocalEndpoint when AWS_ENDPOINT_URL is not set, static test credentials
// when none are set in the environment, and us-east-1 when no region is
// set.
func LoadConfig(ctx context.Context, o ClientOptions) (aws.Config, Endpoint, error) {
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Local {
		if os.Getenv("AWS_ENDPOINT_URL") == "" {
			opts = append(opts, config.WithBaseEndpoint(LocalEndpoint))
		}
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" && o.Profile == "" {
			opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(localKey, localKey, "")))
		}
		if o.Region == "" && os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
			opts = append(opts, config.WithRegion(localRegion))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, Endpoint{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, Endpoint{}, errNoRegion
	}
	// The SDK's own log lines (such as "failed to discard remaining HTTP
	// response body" when a server closes a kept-alive connection) would
	// interleave with the progress; the CLI reports every error itself.
	cfg.Logger = logging.Nop{}

	return cfg, Endpoint{Region: cfg.Region, URL: aws.ToString(cfg.BaseEndpoint)}, nil
}

// NewClient builds a Step Functions client from LoadConfig.
func NewClient(ctx context.Context, o ClientOptions) (StepFunctions, Endpoint, error) {
	cfg, e, err := LoadConfig(ctx, o)
	if err != nil {
		return nil, e, err
	}

	return sfn.NewFromConfig(cfg), e, nil
}

// states builds the Step Functions client from the global flags (or
// c.NewClient); a missing region is a usage error.
func (c *CLI) states(ctx context.Context) (StepFunctions, Endpoint, error) {
	if c.NewClient == nil {
		cfg, e, err := c.awsConfig(ctx)
		if err != nil {
			return nil, e, err
		}
		return sfn.NewFromConfig(cfg), e, nil
	}
	states, e, err := c.NewClient(ctx, c.global.ClientOptions)
	if err != nil {
		return nil, e, configError(err)
	}

	return states, e, nil
}

// awsConfig loads the AWS configuration from the global flags, once per
// run; a missing region is a usage error.
func (c *CLI) awsConfig(ctx context.Context) (aws.Config, Endpoint, error) {
	if c.loaded != nil {
		return c.loaded.cfg, c.loaded.endpoint, nil
	}
	cfg, e, err := LoadConfig(ctx, c.global.ClientOptions)
	if err != nil {
		return aws.Config{}, e, configError(err)
	}
	c.loaded = &loadedConfig{cfg: cfg, endpoint: e}

	return cfg, e, nil
}

// configError is the command error for a configuration that did not load.
func configError(err error) error {
	if errors.Is(err, errNoRegion) {
		return usageErrorf("%v", err)
	}

	return failed(err)
}
