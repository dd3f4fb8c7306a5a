package rulestore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autostop/autostop/shared/rule"
)

// BeginWake moves a stopped rule to starting, phase starting, in one
// conditional write: of any number of callers racing, exactly one gets won
// true and starts the wake; the others get won false and the item as it is
// now. It records when the wake was requested and clears the last error and
// WakeWanted. A broken rule is never woken.
//
// A rule that has been starting since before staleBefore counts as stopped
// too, and so does one stopping since before staleBefore: its workflow
// ended without resetting it (it cannot normally: every failure path of
// the workflows does), and a rule must not stay starting or stopping for
// ever. A rule stopping in time is not woken here: its sleep wakes it once
// the instances are stopped (WantWake).
func (s *Store) BeginWake(ctx context.Context, host string, staleBefore time.Time) (it Item, won bool, err error) {
	host = rule.NormalizeHost(host)
	now := s.now().UTC()
	return s.conditional(ctx, host, "begin wake of", &dynamodb.UpdateItemInput{
		UpdateExpression: aws.String("SET #state = :starting, #phase = :phaseStarting, #version = #version + :one, #wakeAt = :now REMOVE #lastError, #wakeExec, #wakeWanted"),
		ConditionExpression: aws.String("attribute_exists(#host) AND attribute_not_exists(#broken) AND (#state = :stopped OR " +
			"(#state = :stopping AND #sleepAt < :stale) OR (#state = :starting AND #wakeAt < :stale))"),
		ExpressionAttributeNames: map[string]string{
			"#host": PartitionKey, "#state": "state", "#phase": "phase", "#version": "version", "#wakeAt": "wakeRequestedAt",
			"#lastError": "lastError", "#wakeExec": "wakeExecution", "#wakeWanted": "wakeWanted", "#broken": "broken",
			"#sleepAt": "sleepRequestedAt",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":starting":      &types.AttributeValueMemberS{Value: string(Starting)},
			":phaseStarting": &types.AttributeValueMemberS{Value: string(PhaseStarting)},
			":stopped":       &types.AttributeValueMemberS{Value: string(Stopped)},
			":stopping":      &types.AttributeValueMemberS{Value: string(Stopping)},
			":one":           &types.AttributeValueMemberN{Value: "1"},
			":now":           &types.AttributeValueMemberS{Value: now.Format(TimeFormat)},
			":stale":         &types.AttributeValueMemberS{Value: staleBefore.UTC().Format(TimeFormat)},
		},
	})
}

// FailWake ends a wake that did not complete: a starting rule goes back to
// stopped with reason as its last error (shown by the proxy; the next
// request wakes it again). The instances are left as they are. Like every
// write of a wake's steps it changes nothing unless the rule is still in
// that wake (starting since wakeRequestedAt), so a late report cannot undo a
// newer wake; changed says whether it did.
func (s *Store) FailWake(ctx context.Context, host string, wakeRequestedAt time.Time, reason string) (changed bool, err error) {
	return s.updateWake(ctx, host, wakeRequestedAt, wakeUpdate{
		set:    map[string]types.AttributeValue{"state": str(string(Stopped)), "lastError": str(reason)},
		remove: []string{"phase"},
	})
}

// SetPhase records how far a wake has come, for the progress page.
func (s *Store) SetPhase(ctx context.Context, host string, wakeRequestedAt time.Time, phase Phase) (bool, error) {
	return s.updateWake(ctx, host, wakeRequestedAt, wakeUpdate{set: map[string]types.AttributeValue{"phase": str(string(phase))}})
}

// RecordWakeExecution names the execution that runs the wake: the rule's
// audit trail leads to its history.
func (s *Store) RecordWakeExecution(ctx context.Context, host string, wakeRequestedAt time.Time, executionARN string) (bool, error) {
	return s.updateWake(ctx, host, wakeRequestedAt, wakeUpdate{set: map[string]types.AttributeValue{"wakeExecution": str(executionARN)}})
}

// FinishWake records a completed switch: the rule is running behind the
// host rule listenerRuleARN since readyAt.
func (s *Store) FinishWake(ctx context.Context, host string, wakeRequestedAt time.Time, listenerRuleARN string, readyAt time.Time) (bool, error) {
	return s.updateWake(ctx, host, wakeRequestedAt, wakeUpdate{
		set: map[string]types.AttributeValue{
			"state": str(string(Running)), "listenerRuleArn": str(listenerRuleARN), "readyAt": str(readyAt.UTC().Format(TimeFormat)),
		},
		remove: []string{"phase", "lastError"},
	})
}

type wakeUpdate struct {
	set    map[string]types.AttributeValue
	remove []string
}

// updateWake applies u, with the version bumped, if the rule is starting
// since wakeRequestedAt.
func (s *Store) updateWake(ctx context.Context, host string, wakeRequestedAt time.Time, u wakeUpdate) (bool, error) {
	_, changed, err := s.updateIf(ctx, host, Starting, "wakeRequestedAt", wakeRequestedAt, u)
	if err != nil {
		return false, fmt.Errorf("update the wake of %s: %w", rule.NormalizeHost(host), err)
	}

	return changed, nil
}

// updateIf applies u, with the version bumped, if the rule is in state
// since at (the item's attribute since holds at): the writes of a wake's or
// a sleep's steps, which must not change a rule that has moved on. It
// returns the item as written when it did.
func (s *Store) updateIf(ctx context.Context, host string, state State, since string, at time.Time, u wakeUpdate) (Item, bool, error) {
	host = rule.NormalizeHost(host)
	names := map[string]string{"#state": "state", "#since": since, "#version": "version"}
	values := map[string]types.AttributeValue{
		":state": str(string(state)),
		":since": str(at.UTC().Format(TimeFormat)),
		":one":   &types.AttributeValueMemberN{Value: "1"},
	}
	sets := []string{"#version = #version + :one"}
	for _, k := range sortedKeys(u.set) {
		n, v := "#s_"+k, ":s_"+k
		names[n], values[v] = k, u.set[k]
		sets = append(sets, n+" = "+v)
	}
	expr := "SET " + strings.Join(sets, ", ")
	if len(u.remove) > 0 {
		rm := make([]string, len(u.remove))
		for i, k := range u.remove {
			rm[i] = "#r_" + k
			names[rm[i]] = k
		}
		expr += " REMOVE " + strings.Join(rm, ", ")
	}

	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(host),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("#state = :state AND #since = :since"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	switch {
	case err == nil:
		it, err := decode(out.Attributes)
		return it, err == nil, err
	case isConditionFailed(err):
		return Item{}, false, nil
	default:
		return Item{}, false, err
	}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func sortedKeys(m map[string]types.AttributeValue) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)

	return out
}
