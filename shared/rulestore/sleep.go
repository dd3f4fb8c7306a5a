package rulestore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autostop/autostop/shared/rule"
)

// SleepReason says why a rule is put to sleep.
type SleepReason string

// The reasons of a sleep.
const (
	// SleepIdle: no requests for the rule's idle time.
	SleepIdle SleepReason = "idle"
	// SleepStoppedOutside: the instances of a running rule were found
	// stopped by someone else; the host rule is removed.
	SleepStoppedOutside SleepReason = "stopped-outside"
	// SleepTerminatedOutside: an instance of a running rule was found
	// terminated (or gone); the rule ends up broken.
	SleepTerminatedOutside SleepReason = "terminated-outside"
	// SleepRequested: an operator asked for it.
	SleepRequested SleepReason = "requested"
)

// BeginSleep moves a running rule to stopping, in one conditional write
// that also requires readyAt to be the one the caller judged (a rule woken
// again since is not put to sleep on old figures). It records when and why
// the sleep was requested and clears the sleep's execution and WakeWanted.
// won is false, with the item as it is now, when the rule had moved on.
func (s *Store) BeginSleep(ctx context.Context, host string, readyAt time.Time, reason SleepReason) (it Item, won bool, err error) {
	host = rule.NormalizeHost(host)
	now := s.now().UTC()
	return s.conditional(ctx, host, "begin sleep of", &dynamodb.UpdateItemInput{
		UpdateExpression: aws.String("SET #state = :stopping, #version = #version + :one, #sleepAt = :now, #reason = :reason " +
			"REMOVE #sleepExec, #wakeWanted"),
		ConditionExpression: aws.String("#state = :running AND #readyAt = :readyAt"),
		ExpressionAttributeNames: map[string]string{
			"#state": "state", "#version": "version", "#sleepAt": "sleepRequestedAt", "#reason": "sleepReason",
			"#sleepExec": "sleepExecution", "#wakeWanted": "wakeWanted", "#readyAt": "readyAt",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":stopping": str(string(Stopping)),
			":running":  str(string(Running)),
			":one":      &types.AttributeValueMemberN{Value: "1"},
			":now":      str(now.Format(TimeFormat)),
			":reason":   str(string(reason)),
			":readyAt":  str(readyAt.UTC().Format(TimeFormat)),
		},
	})
}

// RecordSleepExecution names the execution that runs the sleep. Like every
// write of a sleep's steps it changes nothing unless the rule is still in
// that sleep (stopping since sleepRequestedAt); changed says whether it did.
func (s *Store) RecordSleepExecution(ctx context.Context, host string, sleepRequestedAt time.Time, executionARN string) (changed bool, err error) {
	_, changed, err = s.updateSleep(ctx, host, sleepRequestedAt, wakeUpdate{set: map[string]types.AttributeValue{"sleepExecution": str(executionARN)}})
	return changed, err
}

// ClearHostRule records that the rule's host rule is gone: traffic reaches
// the proxy again.
func (s *Store) ClearHostRule(ctx context.Context, host string, sleepRequestedAt time.Time) (changed bool, err error) {
	_, changed, err = s.updateSleep(ctx, host, sleepRequestedAt, wakeUpdate{remove: []string{"listenerRuleArn"}})
	return changed, err
}

// FinishSleep ends a sleep: the rule is stopped since stoppedAt, its last
// error cleared; broken, when not empty, marks it broken with that reason.
// The item returned says whether a request asked for a wake meanwhile
// (WakeWanted): the caller then wakes the rule.
func (s *Store) FinishSleep(ctx context.Context, host string, sleepRequestedAt, stoppedAt time.Time, broken string) (it Item, changed bool, err error) {
	u := wakeUpdate{
		set:    map[string]types.AttributeValue{"state": str(string(Stopped)), "stoppedAt": str(stoppedAt.UTC().Format(TimeFormat))},
		remove: []string{"lastError"},
	}
	if broken != "" {
		u.set["broken"] = str(broken)
	}

	return s.updateSleep(ctx, host, sleepRequestedAt, u)
}

// FailSleep ends a sleep that did not complete, with reason as the rule's
// last error. A rule whose host rule still exists (its deletion failed)
// goes back to running: the host rule forwards to instances that were not
// stopped, and the watcher tries again. One whose host rule is gone goes to
// stopped, whatever its instances do: traffic reaches the proxy, never
// stopped instances.
func (s *Store) FailSleep(ctx context.Context, host string, sleepRequestedAt time.Time, reason string) (it Item, changed bool, err error) {
	cur, err := s.Get(ctx, host, true)
	if err != nil {
		return Item{}, false, err
	}
	state := Stopped
	if cur.ListenerRuleARN != "" {
		state = Running
	}

	return s.updateSleep(ctx, host, sleepRequestedAt, wakeUpdate{
		set: map[string]types.AttributeValue{"state": str(string(state)), "lastError": str(reason)},
	})
}

// WantWake asks a stopping rule's sleep to wake it again once its
// instances are stopped: a request reached the rule while it was going to
// sleep. set is false, with the item as it is now, when the rule is not
// stopping (any more).
func (s *Store) WantWake(ctx context.Context, host string) (it Item, set bool, err error) {
	host = rule.NormalizeHost(host)
	return s.conditional(ctx, host, "ask for a wake of", &dynamodb.UpdateItemInput{
		UpdateExpression:    aws.String("SET #wakeWanted = :true, #version = #version + :one"),
		ConditionExpression: aws.String("#state = :stopping"),
		ExpressionAttributeNames: map[string]string{
			"#state": "state", "#version": "version", "#wakeWanted": "wakeWanted",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":stopping": str(string(Stopping)),
			":true":     &types.AttributeValueMemberBOOL{Value: true},
			":one":      &types.AttributeValueMemberN{Value: "1"},
		},
	})
}

// conditional applies a conditional update of host's item: won is true
// with the item as written, or false with the item as it is now when the
// condition failed (read consistently). what names the change in errors.
func (s *Store) conditional(ctx context.Context, host, what string, in *dynamodb.UpdateItemInput) (it Item, won bool, err error) {
	in.TableName, in.Key, in.ReturnValues = aws.String(s.table), key(host), types.ReturnValueAllNew
	out, err := s.db.UpdateItem(ctx, in)
	switch {
	case err == nil:
		it, err = decode(out.Attributes)
		return it, err == nil, err
	case isConditionFailed(err):
		it, err = s.Get(ctx, host, true)
		return it, false, err
	default:
		return Item{}, false, fmt.Errorf("%s %s: %w", what, host, err)
	}
}

func (s *Store) updateSleep(ctx context.Context, host string, sleepRequestedAt time.Time, u wakeUpdate) (Item, bool, error) {
	it, changed, err := s.updateIf(ctx, host, Stopping, "sleepRequestedAt", sleepRequestedAt, u)
	if err != nil {
		return Item{}, false, fmt.Errorf("update the sleep of %s: %w", rule.NormalizeHost(host), err)
	}

	return it, changed, nil
}
