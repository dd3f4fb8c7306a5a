// Package cli is the autostop command line: `autostop lb create -f spec.json`
// starts the ProvisionLoadBalancer state machine, shows each step live from
// the execution history and prints what was provisioned. cmd/autostop is a
// thin main around Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go/logging"
)

// Exit codes.
const (
	ExitOK          = 0   // the execution succeeded
	ExitFailed      = 1   // the execution failed, timed out or was aborted; an AWS call failed; watching timed out
	ExitUsage       = 2   // bad flags, unreadable or invalid spec file
	ExitInterrupted = 130 // Ctrl-C: stopped watching, the execution keeps running
)

// The local backend `make up` starts (autostop-local up).
const (
	LocalEndpoint = "http://127.0.0.1:4566"
	localRegion   = "us-east-1"
	localKey      = "test"
)

const defaultPollInterval = 250 * time.Millisecond

// CLI runs commands. The zero value with Stdout and Stderr set is the real
// command; tests replace the Step Functions client and the clock.
type CLI struct {
	Stdout, Stderr io.Writer
	// NewClient builds the Step Functions client. Default: from the AWS
	// SDK's standard configuration (environment, shared config, SSO,
	// instance role), which honours AWS_ENDPOINT_URL.
	NewClient func(ctx context.Context, c ClientOptions) (StepFunctions, Endpoint, error)
	// PollInterval between GetExecutionHistory calls. Default 250 ms.
	PollInterval time.Duration
	// Now and Random make execution names. Default: the clock, crypto/rand.
	Now    func() time.Time
	Random io.Reader
}

// ClientOptions are the flags that choose where the CLI talks to.
type ClientOptions struct {
	Region string // --region; empty: the SDK's default
	Local  bool   // --local
}

// Endpoint says where the client talks to, for the messages.
type Endpoint struct {
	Region string
	URL    string // custom endpoint (AWS_ENDPOINT_URL or --local); empty: AWS
}

// Run runs the autostop command line with args (without the program name)
// and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return (&CLI{Stdout: stdout, Stderr: stderr}).Run(ctx, args)
}

// Run runs the command line args and returns the exit code.
func (c *CLI) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, usage)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.Stdout, usage)
		return ExitOK
	case "lb":
		return c.lb(ctx, args[1:])
	default:
		return c.usageError("autostop", "unknown command %q", args[0])
	}
}

func (c *CLI) lb(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.Stderr, lbUsage)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(c.Stdout, lbUsage)
		return ExitOK
	case "create":
		return c.lbCreate(ctx, args[1:])
	default:
		return c.usageError("autostop lb", "unknown command \"lb %s\"", args[0])
	}
}

// usageError reports a usage error and where the help is.
func (c *CLI) usageError(command, format string, a ...any) int {
	fmt.Fprintf(c.Stderr, "autostop: "+format+"\n", a...)
	fmt.Fprintf(c.Stderr, "Run '%s --help' for usage.\n", command)

	return ExitUsage
}

// fail reports an error that is not the execution's and returns ExitFailed.
func (c *CLI) fail(err error) int {
	fmt.Fprintf(c.Stderr, "autostop: %v\n", err)

	return ExitFailed
}

func (c *CLI) client(ctx context.Context, o ClientOptions) (StepFunctions, Endpoint, error) {
	if c.NewClient != nil {
		return c.NewClient(ctx, o)
	}

	return NewClient(ctx, o)
}

// errNoRegion is a usage error: the SDK found no region.
var errNoRegion = errors.New("no AWS region: pass --region or set AWS_REGION")

// NewClient builds a Step Functions client from the AWS SDK's standard
// configuration. --local only supplies what AWS_ENDPOINT_URL and dummy
// credentials would: the endpoint LocalEndpoint when AWS_ENDPOINT_URL is
// not set, static test credentials when none are set in the environment,
// and us-east-1 when no region is set.
func NewClient(ctx context.Context, o ClientOptions) (StepFunctions, Endpoint, error) {
	var opts []func(*config.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Local {
		if os.Getenv("AWS_ENDPOINT_URL") == "" {
			opts = append(opts, config.WithBaseEndpoint(LocalEndpoint))
		}
		if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
			opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(localKey, localKey, "")))
		}
		if o.Region == "" && os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
			opts = append(opts, config.WithRegion(localRegion))
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, Endpoint{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, Endpoint{}, errNoRegion
	}
	// The SDK's own log lines (such as "failed to discard remaining HTTP
	// response body" when a server closes a kept-alive connection) would
	// interleave with the progress; the CLI reports every error itself.
	cfg.Logger = logging.Nop{}

	return sfn.NewFromConfig(cfg), Endpoint{Region: cfg.Region, URL: aws.ToString(cfg.BaseEndpoint)}, nil
}
