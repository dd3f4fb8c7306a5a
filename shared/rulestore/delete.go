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

// Delete removes the host's item, but only the one attachedBy created: an
// item that another AttachRule execution wrote meanwhile (the host detached
// and attached again) is left alone, and Delete returns it with an error
// wrapping ErrHostTaken. No item at all is not an error: deleted is false.
//
// The DetachRule workflow passes the AttachedBy of the item it found; the
// AttachRule rollback passes its own execution name, so it never deletes
// an item it did not write.
func (s *Store) Delete(ctx context.Context, host, attachedBy string) (deleted bool, err error) {
	host = rule.NormalizeHost(host)
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(host),
		ConditionExpression:      aws.String("attribute_not_exists(#host) OR #attachedBy = :by"),
		ExpressionAttributeNames: map[string]string{"#host": PartitionKey, "#attachedBy": "attachedBy"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":by": &types.AttributeValueMemberS{Value: attachedBy},
		},
		ReturnValues: types.ReturnValueAllOld,
	})
	switch {
	case err == nil:
		return len(out.Attributes) > 0, nil
	case isConditionFailed(err):
		existing, gerr := s.Get(ctx, host, true)
		if errors.Is(gerr, ErrNotFound) {
			return false, nil // deleted by someone else in between
		}
		if gerr != nil {
			return false, fmt.Errorf("delete rule %s attached by %s: %w (reading it: %w)", host, attachedBy, ErrHostTaken, gerr)
		}
		return false, fmt.Errorf("delete rule %s attached by %s: %w (rule %q, attached by %s)", host, attachedBy, ErrHostTaken, existing.Rule.Name, existing.AttachedBy)
	default:
		return false, fmt.Errorf("delete rule %s: %w", host, err)
	}
}
