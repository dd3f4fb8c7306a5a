// Package sleep holds the steps of the SleepRule workflow
// (statemachine/sleep-rule.asl.json), which the idle watcher starts after
// it moved a running rule to stopping (rulestore.BeginSleep):
//
//	RemoveHostRule → StopInstances (⟲ while one is pending) → WaitStopped ⟲ → Finish → rule stopped
//	any failure → RecordFailure (rule running or stopped, lastError) → Fail
//
// The host rule goes first: the load balancer answers 503 for a host whose
// rule forwards to stopped instances, so traffic must reach the proxy
// before any instance stops. For the same reason a failed sleep never
// leaves a host rule forwarding to instances it may have stopped: the rule
// goes back to running only while its host rule still exists (its deletion
// failed, nothing was stopped), and to stopped otherwise.
//
// StopInstances stops the rule's running instances only: never a pending
// one (EC2 refuses, and the state machine waits and tries again), never an
// instance of another rule. An instance terminated outside autostop ends
// the sleep with the rule stopped and broken: nothing wakes it until it is
// attached again.
//
// A request that reaches the rule while it is stopping asks for a wake
// (rulestore.WantWake) instead of racing the stop; Finish (or
// RecordFailure, when the rule ends stopped) starts that wake once the
// instances are stopped.
//
// Every step checks first that the rule is still in the sleep it was
// started for (state stopping since the input's sleepRequestedAt); a step
// of a superseded sleep changes nothing and the execution ends.
package sleep

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autostop/autostop/shared/pause"
	"github.com/autostop/autostop/shared/proxymanager"
	"github.com/autostop/autostop/shared/rulestore"
	"github.com/autostop/autostop/shared/spec"
	"github.com/autostop/autostop/shared/steperr"
)

// Input is the document every step of the workflow receives: the state
// machine's state, built by its Init state, with each step's result added.
type Input struct {
	// Host of the rule being put to sleep.
	Host string `json:"host"`
	// SleepRequestedAt identifies the sleep (rulestore.TimeFormat).
	SleepRequestedAt string `json:"sleepRequestedAt"`
	// Reason the idle watcher gave (idle, stopped-outside,
	// terminated-outside, requested).
	Reason rulestore.SleepReason `json:"reason"`
	// Execution is this execution's name and ExecutionARN its ID (recorded
	// on the rule).
	Execution    string `json:"execution"`
	ExecutionARN string `json:"executionArn"`
	// Timing comes from the state machine's substitutions (shared/app).
	Timing Timing `json:"timing"`
	// Results of the steps so far.
	HostRule *HostRuleResult `json:"hostRule,omitempty"`
	Stop     *StopResult     `json:"stop,omitempty"`
	Wait     *WaitResult     `json:"wait,omitempty"`
	Finish   *FinishResult   `json:"finish,omitempty"`
	// Error is what the Catch put there, for RecordFailure.
	Error *CaughtError `json:"error,omitempty"`
}

// Timing bounds the sleep.
type Timing struct {
	// WatchSeconds one WaitStopped invocation watches before handing back
	// to the state machine (under the function's timeout).
	WatchSeconds int `json:"watchSeconds"`
	// PollMillis between two checks inside WaitStopped.
	PollMillis int `json:"pollMillis"`
	// TimeoutSeconds a whole sleep may take, from sleepRequestedAt, before
	// it fails with NotStopped.
	TimeoutSeconds int `json:"timeoutSeconds"`
	// PendingWaitSeconds between two tries to stop instances while one is
	// still pending, at most PendingMaxAttempts times.
	PendingWaitSeconds int `json:"pendingWaitSeconds"`
	PendingMaxAttempts int `json:"pendingMaxAttempts"`
}

// CaughtError is a Catch's ResultPath document.
type CaughtError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Rules is the part of the rules table the steps use (rulestore.Store).
// The wake a request asked for while the rule was stopping is started
// through proxymanager.BeginWake, hence its WakeRules.
type Rules interface {
	proxymanager.WakeRules
	Get(ctx context.Context, host string, consistent bool) (rulestore.Item, error)
	RecordSleepExecution(ctx context.Context, host string, sleepRequestedAt time.Time, executionARN string) (bool, error)
	ClearHostRule(ctx context.Context, host string, sleepRequestedAt time.Time) (bool, error)
	FinishSleep(ctx context.Context, host string, sleepRequestedAt, stoppedAt time.Time, broken string) (rulestore.Item, bool, error)
	FailSleep(ctx context.Context, host string, sleepRequestedAt time.Time, reason string) (rulestore.Item, bool, error)
}

// EC2 is the part of the EC2 client the steps use.
type EC2 interface {
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	StopInstances(ctx context.Context, in *ec2.StopInstancesInput, optFns ...func(*ec2.Options)) (*ec2.StopInstancesOutput, error)
}

// ELBv2 is the part of the Elastic Load Balancing client the steps use.
type ELBv2 interface {
	DeleteRule(ctx context.Context, in *elbv2.DeleteRuleInput, optFns ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error)
	DescribeRules(ctx context.Context, in *elbv2.DescribeRulesInput, optFns ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error)
}

// Deps are the steps' clients. The EC2 and ELBv2 clients are made for the
// rule's region (its load balancer's).
type Deps struct {
	Rules Rules
	EC2   func(region string) EC2
	ELBv2 func(region string) ELBv2
	// Waker starts the WakeRule workflow: Finish and RecordFailure only.
	Waker proxymanager.Waker
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

// requestedAt parses the input's sleepRequestedAt.
func requestedAt(in Input) (time.Time, error) {
	at, err := time.Parse(time.RFC3339Nano, in.SleepRequestedAt)
	if err != nil {
		return time.Time{}, steperr.Invalid("sleepRequestedAt %q is not a time: %v", in.SleepRequestedAt, err)
	}

	return at, nil
}

// current reads the rule and says whether it is still in this sleep.
func current(ctx context.Context, d Deps, in Input) (rulestore.Item, time.Time, bool, error) {
	at, err := requestedAt(in)
	if err != nil {
		return rulestore.Item{}, time.Time{}, false, err
	}
	it, err := d.Rules.Get(ctx, in.Host, true)
	if err != nil {
		return rulestore.Item{}, at, false, fmt.Errorf("read rule %s: %w", in.Host, err)
	}

	return it, at, inSleep(it, at), nil
}

// inSleep reports whether the rule is stopping since at.
func inSleep(it rulestore.Item, at time.Time) bool {
	return it.State == rulestore.Stopping && it.SleepRequestedAt.Equal(at)
}

// endedBy reports whether the sleep at ended the rule's last sleep and
// nothing has moved the rule on since: it is stopped since that sleep
// (Finish or RecordFailure wrote it, and a retry of theirs reads it).
func endedBy(it rulestore.Item, at time.Time) bool {
	return it.State == rulestore.Stopped && it.SleepRequestedAt.Equal(at)
}

// region is the rule's region: its load balancer's.
func region(it rulestore.Item) string { return spec.ARNRegion(it.LoadBalancerARN) }
