package rulestore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// ErrHostTaken: another item already holds the host. Create returns it
// wrapped, with the existing item.
var ErrHostTaken = errors.New("the host already has an AutoStopping rule")

// Create writes a new rule item, version 1, only if no item holds its host.
// When one does, it returns that item and an error wrapping ErrHostTaken:
// the caller tells a re-run of its own attach (same AttachedBy) from a
// conflict.
func (s *Store) Create(ctx context.Context, it Item) (Item, error) {
	it.Version = 1
	av, err := encode(it)
	if err != nil {
		return Item{}, err
	}

	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     av,
		ConditionExpression:      aws.String("attribute_not_exists(#host)"),
		ExpressionAttributeNames: map[string]string{"#host": PartitionKey},
	})
	switch {
	case err == nil:
		return it, nil
	case isConditionFailed(err):
		existing, gerr := s.Get(ctx, it.Host, true)
		if gerr != nil {
			return Item{}, fmt.Errorf("create rule %s: %w (reading it: %w)", it.Host, ErrHostTaken, gerr)
		}
		return existing, fmt.Errorf("create rule %s: %w (rule %q, attached by %s)", it.Host, ErrHostTaken, existing.Rule.Name, existing.AttachedBy)
	default:
		return Item{}, fmt.Errorf("create rule %s: %w", it.Host, err)
	}
}
