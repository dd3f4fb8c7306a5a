package rulestore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Scanner is the part of the DynamoDB client List needs (beside the
// Store's DynamoDB).
type Scanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// ListPageSize is how many items one Scan call reads (its Limit).
const ListPageSize = 100

// List returns every rule, reading every page (ListPageSize items each) of
// a strongly consistent scan: the idle watcher judges each rule once a
// minute, and a rule written a moment ago must be seen as it is.
func (s *Store) List(ctx context.Context) ([]Item, error) {
	scanner, ok := s.db.(Scanner)
	if !ok {
		return nil, fmt.Errorf("list rules: the table's client cannot scan")
	}

	var items []Item
	in := &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true), Limit: aws.Int32(ListPageSize)}
	for page := 1; ; page++ {
		out, err := scanner.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list rules (page %d): %w", page, err)
		}
		for _, av := range out.Items {
			it, err := decode(av)
			if err != nil {
				return nil, err
			}
			items = append(items, it)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}
