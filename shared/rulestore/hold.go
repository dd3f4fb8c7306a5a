package rulestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/autostop/autostop/shared/rule"
)

// Lease is one held request's slot: "<expiry in Unix milliseconds>/<random
// ID>". The expiry is part of the value so that a lease can be told expired
// from the item alone, and the set of leases needs no nested document paths.
type Lease string

// NewLease returns a lease expiring at expires.
func NewLease(expires time.Time) Lease {
	var b [8]byte
	_, _ = rand.Read(b[:])

	return Lease(strconv.FormatInt(expires.UnixMilli(), 10) + "/" + hex.EncodeToString(b[:]))
}

// Expires is when the lease ends (the zero time for a malformed lease, which
// therefore counts as expired).
func (l Lease) Expires() time.Time {
	ms, _, _ := strings.Cut(string(l), "/")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}

	return time.UnixMilli(n)
}

// AcquireHold takes one of the rule's max held-request slots for lease, in
// one conditional write: the cap holds across every concurrent proxy
// invocation. It returns false when max requests are held already.
//
// A slot is a lease with an expiry, not a counter, so an invocation that
// crashes before ReleaseHold cannot leak it for ever: when the cap is
// reached, leases past their expiry are removed and the write is tried
// once more.
func (s *Store) AcquireHold(ctx context.Context, host string, lease Lease, max int) (bool, error) {
	host = rule.NormalizeHost(host)
	ok, err := s.tryHold(ctx, host, lease, max)
	if err != nil || ok {
		return ok, err
	}

	it, err := s.Get(ctx, host, true)
	if err != nil {
		return false, fmt.Errorf("hold a request for %s: %w", host, err)
	}
	if expired := expiredLeases(it.Holds, s.now()); len(expired) > 0 {
		if err := s.updateLeases(ctx, host, "DELETE", expired); err != nil {
			return false, err
		}
		return s.tryHold(ctx, host, lease, max)
	}

	return false, nil
}

func (s *Store) tryHold(ctx context.Context, host string, lease Lease, max int) (bool, error) {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      key(host),
		UpdateExpression:         aws.String("ADD #holds :lease"),
		ConditionExpression:      aws.String("attribute_exists(#host) AND (attribute_not_exists(#holds) OR size(#holds) < :max)"),
		ExpressionAttributeNames: map[string]string{"#host": PartitionKey, "#holds": "holds"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":lease": &types.AttributeValueMemberSS{Value: []string{string(lease)}},
			":max":   &types.AttributeValueMemberN{Value: strconv.Itoa(max)},
		},
	})
	switch {
	case err == nil:
		return true, nil
	case isConditionFailed(err):
		return false, nil
	default:
		return false, fmt.Errorf("hold a request for %s: %w", host, err)
	}
}

// ReleaseHold gives a held request's slot back. Releasing a lease that is
// gone (expired and swept, or the rule deleted) is not an error.
func (s *Store) ReleaseHold(ctx context.Context, host string, lease Lease) error {
	return s.updateLeases(ctx, rule.NormalizeHost(host), "DELETE", []Lease{lease})
}

// updateLeases adds or deletes leases of an existing item; a missing item
// is not an error (nothing to release, and nothing is created).
func (s *Store) updateLeases(ctx context.Context, host, action string, leases []Lease) error {
	values := make([]string, len(leases))
	for i, l := range leases {
		values[i] = string(l)
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       key(host),
		UpdateExpression:          aws.String(action + " #holds :leases"),
		ConditionExpression:       aws.String("attribute_exists(#host)"),
		ExpressionAttributeNames:  map[string]string{"#host": PartitionKey, "#holds": "holds"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":leases": &types.AttributeValueMemberSS{Value: values}},
	})
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("%s %d held requests of %s: %w", strings.ToLower(action), len(leases), host, err)
	}

	return nil
}

// expiredLeases lists the leases past their expiry, sorted.
func expiredLeases(holds []Lease, now time.Time) []Lease {
	var out []Lease
	for _, l := range holds {
		if !l.Expires().After(now) {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })

	return out
}
