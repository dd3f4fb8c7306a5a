package eventstart

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/autostop/autostop/shared/steperr"
)

// Execution names.
const (
	// ExecutionNamePrefix starts the name of an execution started from an event.
	ExecutionNamePrefix = "evt-"
	// MaxExecutionNameLength is Step Functions' limit.
	MaxExecutionNameLength = 80

	hashSuffixLength        = 16 // hex digits of the event id's SHA-256
	codeExecutionExists     = "ExecutionAlreadyExists"
	codeExecutionNotExists  = "ExecutionDoesNotExist"
	stateMachineARNResource = ":stateMachine:"
	executionARNResource    = ":execution:"
)

// Start handles one event of the bus (see the package comment): it parses
// and checks the event, then starts the workflow of its detail-type —
// AttachRule for "AutoStopping Rule Created", DetachRule for "AutoStopping
// Rule Deleted" — named ExecutionName(event id), with the detail as input
// (re-encoded from the parsed struct, so the same event always gives the
// same input).
//
// A redelivered event starts nothing: Start first looks the execution up
// (DescribeExecution), so a redelivery makes no mutating call, and treats
// ExecutionAlreadyExists from StartExecution (the first delivery started it
// in between) the same way. Either way the result names the existing
// execution with Started false. (AWS also answers StartExecution with the
// running execution, without an error, when name and input are equal; the
// lookup first is what tells that case from a new start.)
//
// Errors: InvalidRequest for an event that is not a well-formed event of
// either type (unknown fields, a rule or spec that fails its checks);
// anything else from Step Functions wrapped with context (steperr.Map turns
// throttling into Throttled at the handler boundary).
func Start(ctx context.Context, client SFN, cfg Config, ev events.EventBridgeEvent) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{EventID: ev.ID}, err
	}

	e, err := ParseEvent(ev)
	if err != nil {
		return Result{EventID: ev.ID}, err
	}
	res := Result{EventID: ev.ID, DetailType: e.DetailType}

	var detail any
	switch {
	case e.Created != nil:
		res.Rule, res.Host, res.LoadBalancer = e.Created.Rule.Name, e.Created.Rule.Host, e.Created.LoadBalancer.LoadBalancerName()
		res.StateMachineARN, detail = cfg.AttachStateMachineARN, e.Created
	default:
		res.Rule, res.Host = e.Deleted.Name, e.Deleted.Host
		res.StateMachineARN, detail = cfg.DetachStateMachineARN, e.Deleted
	}
	input, err := json.Marshal(detail)
	if err != nil {
		return res, fmt.Errorf("encode the detail of event %s: %w", ev.ID, err)
	}
	res.ExecutionName = ExecutionName(ev.ID)
	arn := ExecutionARN(res.StateMachineARN, res.ExecutionName)

	found, err := describe(ctx, client, arn, &res)
	if err != nil || found {
		return res, err
	}

	out, err := client.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: aws.String(res.StateMachineARN),
		Name:            aws.String(res.ExecutionName),
		Input:           aws.String(string(input)),
	})
	if steperr.HasCode(err, codeExecutionExists) {
		// Started in between by a concurrent delivery of the same event, or
		// with another input: either way it is this event's execution.
		found, derr := describe(ctx, client, arn, &res)
		if derr != nil {
			return res, derr
		}
		if !found {
			return res, fmt.Errorf("start execution %s: %w, but it cannot be described", res.ExecutionName, err)
		}
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("start execution %s of %s: %w", res.ExecutionName, res.StateMachineARN, err)
	}

	res.ExecutionARN = aws.ToString(out.ExecutionArn)
	res.Started = true

	return res, nil
}

// describe looks the execution up; found is false when it does not exist.
func describe(ctx context.Context, client SFN, arn string, res *Result) (found bool, err error) {
	out, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
	if steperr.HasCode(err, codeExecutionNotExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe execution %s: %w", arn, err)
	}

	res.ExecutionARN = aws.ToString(out.ExecutionArn)
	if res.ExecutionARN == "" {
		res.ExecutionARN = arn
	}
	res.Status = string(out.Status)
	res.Started = false

	return true, nil
}

// ExecutionName derives the execution's name from the event id: "evt-<id>".
// Characters Step Functions does not take are replaced by "-"; when the id
// had to be changed or shortened to fit 80 characters, the name ends with
// "-<16 hex digits of the id's SHA-256>" so that different ids never share
// a name. EventBridge ids are UUIDs, which are kept as they are.
func ExecutionName(eventID string) string {
	var b strings.Builder
	for _, r := range eventID {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	clean := b.String()
	name := ExecutionNamePrefix + clean
	if clean == eventID && len(name) <= MaxExecutionNameLength {
		return name
	}

	sum := sha256.Sum256([]byte(eventID))
	suffix := "-" + hex.EncodeToString(sum[:])[:hashSuffixLength]
	if keep := MaxExecutionNameLength - len(suffix); len(name) > keep {
		name = name[:keep]
	}

	return name + suffix
}

// ExecutionARN is the ARN of the execution name of the state machine
// (arn:aws:states:<region>:<account>:execution:<state machine>:<name>).
func ExecutionARN(stateMachineARN, name string) string {
	return strings.Replace(stateMachineARN, stateMachineARNResource, executionARNResource, 1) + ":" + name
}
