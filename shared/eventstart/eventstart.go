// Package eventstart turns "AutoStopping Rule Created" events into
// ProvisionLoadBalancer executions: the logic of the start-provisioning
// function, the target of the EventBridge rule on the bus "autostop".
//
// A classic EventBridge rule whose target is a state machine cannot name
// the execution, so a redelivered event would start a second provisioning.
// The rule targets this starter instead: it checks the event, and when the
// detail carries a load balancer spec it starts an execution named after the
// event id ("evt-<id>"). Step Functions refuses a second execution of that
// name (for 90 days after the first closes), so a redelivery starts nothing:
// the starter reports the existing execution with Started false.
//
// Deduplication is by event, never by load balancer: two different events
// for the same load balancer start two executions, and the workflow's
// ownership rules make the second adopt what the first created.
//
// An event that names an existing load balancer only is skipped for now
// (attaching rules to a load balancer is the AttachRule workflow's job).
package eventstart

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// The events this package handles.
const (
	// EventBusName is the bus the rule listens on.
	EventBusName = "autostop"
	// Source is the events' source.
	Source = "autostop"
	// DetailTypeRuleCreated is the detail-type of a created AutoStopping rule.
	DetailTypeRuleCreated = "AutoStopping Rule Created"
	// EventPattern is the pattern of the EventBridge rule whose target is
	// the start-provisioning function.
	EventPattern = `{"source":["autostop"],"detail-type":["AutoStopping Rule Created"]}`
	// SchemaFile is the JSON Schema (draft 2020-12) of the event's detail,
	// relative to the repository root; its loadBalancer.spec refers to the
	// LoadBalancerSpec schema beside it.
	SchemaFile = "statemachine/schema/autostopping-rule-created.schema.json"
)

// EnvStateMachineARN names the environment variable holding the
// ProvisionLoadBalancer state machine's ARN.
const EnvStateMachineARN = "PROVISION_STATE_MACHINE_ARN"

// StateMachineARNPattern: a Standard state machine's ARN.
const StateMachineARNPattern = `^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}$`

var stateMachineARNRE = regexp.MustCompile(StateMachineARNPattern)

// SFN is the part of the Step Functions client the starter uses.
type SFN interface {
	StartExecution(ctx context.Context, in *sfn.StartExecutionInput, optFns ...func(*sfn.Options)) (*sfn.StartExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// Config is the function's configuration, read from the environment once
// (see ConfigFromEnv).
type Config struct {
	// StateMachineARN of ProvisionLoadBalancer (env
	// PROVISION_STATE_MACHINE_ARN, required).
	StateMachineARN string
}

// ConfigFromEnv reads Config from the environment and checks it.
func ConfigFromEnv() (Config, error) {
	cfg := Config{StateMachineARN: os.Getenv(EnvStateMachineARN)}

	return cfg, cfg.check()
}

func (c Config) check() error {
	if !stateMachineARNRE.MatchString(c.StateMachineARN) {
		return fmt.Errorf("%s=%q is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)", EnvStateMachineARN, c.StateMachineARN)
	}

	return nil
}

// Region is the state machine's region (where the client must call).
func (c Config) Region() string { return strings.Split(c.StateMachineARN, ":")[3] }

// NewClient returns a Step Functions client for the state machine's region.
func NewClient(awsCfg aws.Config, cfg Config) *sfn.Client {
	return sfn.NewFromConfig(awsCfg, func(o *sfn.Options) { o.Region = cfg.Region() })
}

// Result is the starter's output: the function's response, and what its
// log line reports.
type Result struct {
	// EventID is the id of the event handled.
	EventID string `json:"eventId"`
	// Rule is the AutoStopping rule's name.
	Rule string `json:"rule"`
	// LoadBalancer is the load balancer's name (from the spec or the
	// reference).
	LoadBalancer string `json:"loadBalancer"`
	// ExecutionName is "evt-<event id>" (see ExecutionName); empty when
	// skipped.
	ExecutionName string `json:"executionName,omitempty"`
	// ExecutionARN of the ProvisionLoadBalancer execution this event
	// started, or started earlier (redelivery); empty when skipped.
	ExecutionARN string `json:"executionArn,omitempty"`
	// Status of an execution started earlier (RUNNING, SUCCEEDED, FAILED,
	// …); empty when this call started it.
	Status string `json:"status,omitempty"`
	// Started is true when this call started the execution, false when it
	// existed already (a redelivered event) or the event was skipped.
	Started bool `json:"started"`
	// Skipped is true when there was nothing to provision: the event names
	// an existing load balancer. Reason says why.
	Skipped bool   `json:"skipped,omitempty"`
	Reason  string `json:"reason,omitempty"`
}
