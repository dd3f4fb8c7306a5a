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

// BeginWake moves a stopped (or stopping) rule to starting, phase starting,
// in one conditional write: of any number of callers racing, exactly one
// gets won true and starts the wake; the others get won false and the item
// as it is now. It records when the wake was requested and clears the last
// error.
//
// A rule that has been starting since before staleBefore counts as stopped
// too: its wake's workflow ended without resetting it (it cannot normally:
// every failure path of the workflow does), and a rule must not stay
// starting for ever.
func (s *Store) BeginWake(ctx context.Context, host string, staleBefore time.Time) (it Item, won bool, err error) {
	host = rule.NormalizeHost(host)
	now := s.now().UTC()
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(host),
		UpdateExpression:    aws.String("SET #state = :starting, #phase = :phaseStarting, #version = #version + :one, #wakeAt = :now REMOVE #lastError, #wakeExec"),
		ConditionExpression: aws.String("attribute_exists(#host) AND (#state = :stopped OR #state = :stopping OR (#state = :starting AND #wakeAt < :stale))"),
		ExpressionAttributeNames: map[string]string{
			"#host": PartitionKey, "#state": "state", "#phase": "phase", "#version": "version", "#wakeAt": "wakeRequestedAt",
			"#lastError": "lastError", "#wakeExec": "wakeExecution",
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
		ReturnValues: types.ReturnValueAllNew,
	})
	switch {
	case err == nil:
		it, err = decode(out.Attributes)
		return it, err == nil, err
	case isConditionFailed(err):
		it, err = s.Get(ctx, host, true)
		return it, false, err
	default:
		return Item{}, false, fmt.Errorf("begin wake of %s: %w", host, err)
	}
}

// FailWake ends a wake that did not complete: a starting rule goes back to
// stopped with reason as its last error (shown by the proxy; the next
// request wakes it again). It changes nothing unless the rule is starting
// since wakeRequestedAt, so a late failure report cannot undo a newer wake;
// changed says whether it did.
func (s *Store) FailWake(ctx context.Context, host string, wakeRequestedAt time.Time, reason string) (changed bool, err error) {
	host = rule.NormalizeHost(host)
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(host),
		UpdateExpression:    aws.String("SET #state = :stopped, #lastError = :reason, #version = #version + :one REMOVE #phase"),
		ConditionExpression: aws.String("#state = :starting AND #wakeAt = :wakeAt"),
		ExpressionAttributeNames: map[string]string{
			"#state": "state", "#lastError": "lastError", "#version": "version", "#phase": "phase", "#wakeAt": "wakeRequestedAt",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":stopped":  &types.AttributeValueMemberS{Value: string(Stopped)},
			":starting": &types.AttributeValueMemberS{Value: string(Starting)},
			":reason":   &types.AttributeValueMemberS{Value: reason},
			":one":      &types.AttributeValueMemberN{Value: "1"},
			":wakeAt":   &types.AttributeValueMemberS{Value: wakeRequestedAt.UTC().Format(TimeFormat)},
		},
	})
	switch {
	case err == nil:
		return true, nil
	case isConditionFailed(err):
		return false, nil
	default:
		return false, fmt.Errorf("record the failed wake of %s: %w", host, err)
	}
}
