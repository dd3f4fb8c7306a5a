package rulestore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autostop/autostop/shared/rule"
)

// MarkDetaching moves the rule to detaching, whatever its state, so that
// no request wakes it any more and every step of a wake in flight finds
// itself superseded (they write only while the rule is starting). A rule
// already detaching (a retried detach) is left as it is. It returns the
// rule as it is now.
func (s *Store) MarkDetaching(ctx context.Context, host string) (Item, error) {
	host = rule.NormalizeHost(host)
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(host),
		UpdateExpression:    aws.String("SET #state = :detaching, #version = #version + :one REMOVE #phase"),
		ConditionExpression: aws.String("attribute_exists(#host) AND #state <> :detaching"),
		ExpressionAttributeNames: map[string]string{
			"#host": PartitionKey, "#state": "state", "#version": "version", "#phase": "phase",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":detaching": str(string(Detaching)),
			":one":       &types.AttributeValueMemberN{Value: "1"},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	switch {
	case err == nil:
		return decode(out.Attributes)
	case isConditionFailed(err):
		it, gerr := s.Get(ctx, host, true)
		if errors.Is(gerr, ErrNotFound) {
			return Item{}, gerr
		}
		return it, gerr
	default:
		return Item{}, fmt.Errorf("mark %s detaching: %w", host, err)
	}
}
