// Package eventstart turns the events on the bus "autostop" into workflow
// executions: the logic of the start-provisioning function, the target of
// the EventBridge rule. It routes by detail-type:
//
//   - "AutoStopping Rule Created" (detail RuleCreated) starts AttachRule with
//     the detail as input. When the detail carries a load balancer spec,
//     AttachRule provisions the load balancer itself first, as a nested
//     ProvisionLoadBalancer execution (find-or-create), so one event both
//     provisions a load balancer and attaches a rule to it.
//   - "AutoStopping Rule Deleted" (detail RuleDeleted) starts DetachRule with
//     the detail as input.
//
// A classic EventBridge rule whose target is a state machine cannot name
// the execution, so a redelivered event would start a second one. The rule
// targets this starter instead: it checks the event and starts an execution
// named after the event id ("evt-<id>"). Step Functions refuses a second
// execution of that name (for 90 days after the first closes), so a
// redelivery starts nothing: the starter looks the execution up first and
// reports it with Started false, making no mutating call.
//
// Deduplication is by event, never by rule or load balancer: two different
// events for the same rule start two executions, and the workflows make the
// second one find what the first created (an identical rule attached again
// succeeds and changes nothing; a detached rule detached again finds nothing
// to do).
//
// The function keeps its first name, start-provisioning, from when it only
// started ProvisionLoadBalancer: renaming it would touch the deployed
// stack's function, role and log group for no gain in behaviour.
package eventstart

import (
	"context"
	"errors"
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
	// DetailTypeRuleCreated is the detail-type of a created AutoStopping
	// rule: it starts AttachRule.
	DetailTypeRuleCreated = "AutoStopping Rule Created"
	// DetailTypeRuleDeleted is the detail-type of a deleted AutoStopping
	// rule: it starts DetachRule.
	DetailTypeRuleDeleted = "AutoStopping Rule Deleted"
	// EventPattern is the pattern of the EventBridge rule whose target is
	// the start-provisioning function.
	EventPattern = `{"source":["autostop"],"detail-type":["AutoStopping Rule Created","AutoStopping Rule Deleted"]}`
	// SchemaFile is the JSON Schema (draft 2020-12) of the "AutoStopping
	// Rule Created" event's detail, relative to the repository root; its
	// loadBalancer.spec refers to the LoadBalancerSpec schema beside it.
	SchemaFile = "statemachine/schema/autostopping-rule-created.schema.json"
	// DeletedSchemaFile is the JSON Schema of the "AutoStopping Rule
	// Deleted" event's detail.
	DeletedSchemaFile = "statemachine/schema/autostopping-rule-deleted.schema.json"
)

// The environment variables holding the state machines' ARNs (both
// required).
const (
	EnvAttachStateMachineARN = "ATTACH_RULE_STATE_MACHINE_ARN"
	EnvDetachStateMachineARN = "DETACH_RULE_STATE_MACHINE_ARN"
)

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
	// AttachStateMachineARN of AttachRule (env
	// ATTACH_RULE_STATE_MACHINE_ARN, required).
	AttachStateMachineARN string
	// DetachStateMachineARN of DetachRule (env
	// DETACH_RULE_STATE_MACHINE_ARN, required), in the same region.
	DetachStateMachineARN string
}

// ConfigFromEnv reads Config from the environment and checks it.
func ConfigFromEnv() (Config, error) {
	cfg := Config{
		AttachStateMachineARN: os.Getenv(EnvAttachStateMachineARN),
		DetachStateMachineARN: os.Getenv(EnvDetachStateMachineARN),
	}

	return cfg, cfg.check()
}

func (c Config) check() error {
	var p []string
	for _, v := range []struct{ env, arn string }{
		{EnvAttachStateMachineARN, c.AttachStateMachineARN},
		{EnvDetachStateMachineARN, c.DetachStateMachineARN},
	} {
		if !stateMachineARNRE.MatchString(v.arn) {
			p = append(p, fmt.Sprintf("%s=%q is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)", v.env, v.arn))
		}
	}
	if len(p) == 0 && regionOf(c.AttachStateMachineARN) != regionOf(c.DetachStateMachineARN) {
		p = append(p, fmt.Sprintf("%s and %s are in different regions", EnvAttachStateMachineARN, EnvDetachStateMachineARN))
	}
	if len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}

	return nil
}

// Region is the state machines' region (where the client must call).
func (c Config) Region() string { return regionOf(c.AttachStateMachineARN) }

func regionOf(arn string) string {
	if f := strings.Split(arn, ":"); len(f) > 3 {
		return f[3]
	}

	return ""
}

// NewClient returns a Step Functions client for the state machine's region.
func NewClient(awsCfg aws.Config, cfg Config) *sfn.Client {
	return sfn.NewFromConfig(awsCfg, func(o *sfn.Options) { o.Region = cfg.Region() })
}

// Result is the starter's output: the function's response, and what its
// log line reports.
type Result struct {
	// EventID is the id of the event handled.
	EventID string `json:"eventId"`
	// DetailType of the event (empty when the event was rejected before it
	// was read).
	DetailType string `json:"detailType,omitempty"`
	// Rule is the AutoStopping rule's name (for a deleted rule: the name the
	// event gives, if any).
	Rule string `json:"rule,omitempty"`
	// Host is the rule's host (for a created rule: only when the event
	// gives it; the default is known once the load balancer's domain is).
	Host string `json:"host,omitempty"`
	// LoadBalancer is the load balancer's name (created rules only).
	LoadBalancer string `json:"loadBalancer,omitempty"`
	// StateMachineARN is the workflow the event starts: AttachRule or
	// DetachRule.
	StateMachineARN string `json:"stateMachineArn,omitempty"`
	// ExecutionName is "evt-<event id>" (see ExecutionName).
	ExecutionName string `json:"executionName,omitempty"`
	// ExecutionARN of the execution this event started, or started earlier
	// (redelivery).
	ExecutionARN string `json:"executionArn,omitempty"`
	// Status of an execution started earlier (RUNNING, SUCCEEDED, FAILED,
	// …); empty when this call started it.
	Status string `json:"status,omitempty"`
	// Started is true when this call started the execution, false when it
	// existed already (a redelivered event).
	Started bool `json:"started"`
}
