package idlewatch

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/rulestore"
)

// Rules is the part of the rules table the watcher uses (rulestore.Store).
type Rules interface {
	List(ctx context.Context) ([]rulestore.Item, error)
	BeginSleep(ctx context.Context, host string, readyAt time.Time, reason rulestore.SleepReason) (rulestore.Item, bool, error)
	// BeginWake and FailWake: a wake's start (proxymanager.BeginWake).
	proxymanager.WakeRules
}

// CloudWatch is the part of the CloudWatch client the watcher uses: the
// rules' RequestCount, and the dry runs' WouldStop.
type CloudWatch interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// EC2 is the part of the EC2 client the watcher uses.
type EC2 interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

// ELBv2 is the part of the Elastic Load Balancing client the watcher uses.
type ELBv2 interface {
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// SFN is the part of the Step Functions client the watcher uses (the
// state machines are in the function's own region).
type SFN interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
}

// Deps are the watcher's clients. CloudWatch, EC2 and ELBv2 are made for a
// rule's region (its load balancer's); Step Functions is the function's.
type Deps struct {
	Rules      Rules
	SFN        SFN
	CloudWatch func(region string) CloudWatch
	EC2        func(region string) EC2
	ELBv2      func(region string) ELBv2
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// NewDeps builds the clients from a function's SDK configuration.
func NewDeps(cfg aws.Config, rules Rules) Deps {
	return Deps{
		Rules: rules,
		SFN:   sfn.NewFromConfig(cfg),
		CloudWatch: func(region string) CloudWatch {
			return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.Region = region })
		},
		EC2: func(region string) EC2 {
			return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region })
		},
		ELBv2: func(region string) ELBv2 {
			return elbv2.NewFromConfig(cfg, func(o *elbv2.Options) { o.Region = region })
		},
	}
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}

	return time.Now()
}

// FromEnv builds the function's watcher from its environment: the rules
// table (RULES_TABLE_NAME) and ConfigFromEnv.
func FromEnv(cfg aws.Config, log *slog.Logger) (*Watcher, error) {
	store, err := rulestore.FromEnv(cfg)
	if err != nil {
		return nil, err
	}
	c, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}

	return New(c, NewDeps(cfg, store), log)
}

// New returns a watcher; log may be nil (nothing logged).
func New(cfg Config, deps Deps, log *slog.Logger) (*Watcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("idle watcher configuration: %w", err)
	}
	if deps.Rules == nil || deps.SFN == nil || deps.CloudWatch == nil || deps.EC2 == nil || deps.ELBv2 == nil {
		return nil, fmt.Errorf("idle watcher: every client of Deps is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	return &Watcher{cfg: cfg.withDefaults(), deps: deps, log: log}, nil
}
