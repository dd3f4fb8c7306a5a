// Package wake holds the steps of the WakeRule workflow
// (statemachine/wake-rule.asl.json), which the proxy starts when the first
// request reaches a stopped rule:
//
//	StartInstances → WaitReady ⟲ → (grace) → SwitchTraffic → rule running
//	any failure → RecordFailure (rule back to stopped, lastError) → Fail
//
// Readiness is the load balancer's own health check of the rule's target
// group: traffic is switched only once every instance target is healthy,
// never on "instance running".
//
// WaitReady watches for up to a minute inside one invocation, checking
// about every second, instead of one Wait + Task + Choice per check in the
// state machine: a wake then notices "healthy" within a second and costs a
// handful of state transitions (a check loop in the state machine would cost
// 3 transitions per check, ~$0.007 for a 3-minute boot at 2 s, against
// ~$0.0004 of Lambda time for the watch).
//
// Every step checks first that the rule is still in the wake it was started
// for (state starting since the input's wakeRequestedAt); a step of a
// superseded wake changes nothing and the execution ends.
package wake

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/hostrule"
	"github.com/autostop/autostop/shared/pause"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// Input is the document every step of the workflow receives: the state
// machine's state, built by its Init state, with each step's result added.
type Input struct {
	// Host of the rule being woken.
	Host string `json:"host"`
	// WakeRequestedAt identifies the wake (rulestore.TimeFormat).
	WakeRequestedAt string `json:"wakeRequestedAt"`
	// Execution is this execution's name (it tags the host rule) and
	// ExecutionARN its ID (recorded on the rule).
	Execution    string `json:"execution"`
	ExecutionARN string `json:"executionArn"`
	// Timing comes from the state machine's substitutions (shared/app).
	Timing Timing `json:"timing"`
	// Results of the steps so far.
	Start  *StartResult  `json:"start,omitempty"`
	Ready  *ReadyResult  `json:"ready,omitempty"`
	Switch *SwitchResult `json:"switch,omitempty"`
	// Error is what the Catch put there, for RecordFailure.
	Error *CaughtError `json:"error,omitempty"`
}

// Timing bounds the wake.
type Timing struct {
	// WatchSeconds one WaitReady invocation watches before handing back to
	// the state machine (under the function's timeout).
	WatchSeconds int `json:"watchSeconds"`
	// PollMillis between two checks inside WaitReady.
	PollMillis int `json:"pollMillis"`
	// TimeoutSeconds a whole wake may take, from the first request, before
	// it fails with NotReady.
	TimeoutSeconds int `json:"timeoutSeconds"`
	// StoppingWaitSeconds between two tries to start instances that are
	// still stopping, at most StoppingMaxAttempts times.
	StoppingWaitSeconds int `json:"stoppingWaitSeconds"`
	StoppingMaxAttempts int `json:"stoppingMaxAttempts"`
}

// CaughtError is a Catch's ResultPath document.
type CaughtError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Rules is the part of the rules table the steps use (rulestore.Store).
type Rules interface {
	Get(ctx context.Context, host string, consistent bool) (rulestore.Item, error)
	RecordWakeExecution(ctx context.Context, host string, wakeRequestedAt time.Time, executionARN string) (bool, error)
	SetPhase(ctx context.Context, host string, wakeRequestedAt time.Time, phase rulestore.Phase) (bool, error)
	FinishWake(ctx context.Context, host string, wakeRequestedAt time.Time, listenerRuleARN string, readyAt time.Time) (bool, error)
	FailWake(ctx context.Context, host string, wakeRequestedAt time.Time, reason string) (bool, error)
}

// EC2 is the part of the EC2 client the steps use.
type EC2 interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	StartInstances(ctx context.Context, in *ec2.StartInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StartInstancesOutput, error)
}

// ELBv2 is the part of the Elastic Load Balancing client the steps use.
type ELBv2 interface {
	hostrule.ELBv2
	DeleteRule(ctx context.Context, in *elbv2.DeleteRuleInput, optFns ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error)
	DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error)
}

// Deps are the steps' clients. The EC2 and ELBv2 clients are made for the
// rule's region (its load balancer's).
type Deps struct {
	Rules Rules
	EC2   func(region string) EC2
	ELBv2 func(region string) ELBv2
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}

	return time.Now()
}

func (d Deps) sleep(ctx context.Context, dur time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, dur)
	}
	return pause.For(ctx, dur)
}

// current reads the rule and says whether it is still in this wake.
func current(ctx context.Context, d Deps, in Input) (rulestore.Item, time.Time, bool, error) {
	at, err := time.Parse(time.RFC3339Nano, in.WakeRequestedAt)
	if err != nil {
		return rulestore.Item{}, time.Time{}, false, steperr.Invalid("wakeRequestedAt %q is not a time: %v", in.WakeRequestedAt, err)
	}
	it, err := d.Rules.Get(ctx, in.Host, true)
	if err != nil {
		return rulestore.Item{}, at, false, fmt.Errorf("read rule %s: %w", in.Host, err)
	}

	return it, at, it.State == rulestore.Starting && it.WakeRequestedAt.Equal(at), nil
}

// region is the rule's region: its load balancer's.
func region(it rulestore.Item) string { return spec.ARNRegion(it.LoadBalancerARN) }
